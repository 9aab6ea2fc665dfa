# The clmtv image: the API, the CLI (migrations, `clmtv loadtest prepare`) and Locust, from the
# hash-pinned lock. docker-compose.yml builds it once and runs every service from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first (their layer survives source edits); every wheel is hash-checked.
COPY requirements.lock pyproject.toml ./
RUN pip install --require-hashes -r requirements.lock

# The source, installed in place: agreements/ and the adapters' data files are read from here.
COPY . .
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 clmtv \
    && mkdir -p /data /keys && chown clmtv /data /keys
USER clmtv

EXPOSE 8000 8089 5557
CMD ["clmtv", "serve", "--host", "0.0.0.0", "--port", "8000"]
