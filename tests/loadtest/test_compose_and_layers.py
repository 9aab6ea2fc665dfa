"""docker-compose.yml is valid for Docker Compose (checked by `docker-compose config`: no Docker
engine needed), and `loadtests/` talks to the ledger over HTTP only (imports nothing of it)."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    COMPOSE is None, reason="the docker-compose binary is not installed "
    "(Debian: apt-get install docker-compose); the compose file is not checked")


def _config(*args: str) -> dict:  # type: ignore[type-arg]
    assert COMPOSE is not None
    done = subprocess.run([COMPOSE, "--project-directory", str(ROOT), "-f",
                           str(ROOT / "docker-compose.yml"), *args, "config"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded: dict = yaml.safe_load(done.stdout)  # type: ignore[type-arg]
    return loaded


@needs_compose
def test_the_default_profile_is_the_database_migrations_and_the_api() -> None:
    services = _config()["services"]
    # `config` lists every service; `up` without a profile starts those that have none.
    assert {n for n, s in services.items() if not s.get("profiles")} == {
        "postgres", "migrate", "api"}
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["api"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"
    assert "127.0.0.1:8000:8000" in str(services["api"]["ports"][0])  # loopback by default


@needs_compose
def test_the_loadtest_profile_adds_preparation_and_locust() -> None:
    services = _config("--profile", "loadtest")["services"]
    assert {"prepare", "locust-master", "locust-worker"} <= set(services)
    master, worker = services["locust-master"], services["locust-worker"]
    assert "--master" in master["command"] and "--worker" in worker["command"]
    assert master["environment"]["CLMTV_LT_ALLOW_HOSTS"] == "api"
    assert master["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
    for name in ("prepare", "locust-master", "locust-worker"):
        assert services[name]["profiles"] == ["loadtest"]
    assert services["api"]["build"]["context"] == str(ROOT)
    assert (ROOT / "Dockerfile").exists()


@needs_compose
def test_the_monitoring_profile_scrapes_the_apis_metrics_with_a_token() -> None:
    services = _config("--profile", "monitoring")["services"]
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert prometheus["depends_on"]["api"]["condition"] == "service_healthy"
    assert "127.0.0.1:9090:9090" in str(prometheus["ports"][0])  # loopback by default
    # Short syntax ("SOURCE:TARGET:ro") or long ({"target": ...}), by docker-compose version.
    targets = {m["target"] if isinstance(m, dict) else m.split(":")[1]
               for m in prometheus["volumes"]}
    assert {"/etc/prometheus/prometheus.yml", "/etc/prometheus/clmtv-token"} <= targets
    scrape = yaml.safe_load((ROOT / "monitoring" / "prometheus.yml").read_text())
    (job,) = scrape["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == [
        "api:8000"]
    assert job["authorization"]["credentials_file"] == "/etc/prometheus/clmtv-token"
    # Several API processes: their counters meet in one directory (ledger/cli/serving.py).
    assert services["api"]["environment"]["CLMTV_METRICS_DIR"]


@needs_compose
def test_a_broken_compose_file_is_refused(tmp_path: Path) -> None:
    """The check above can fail: a dependency on a service that does not exist."""
    assert COMPOSE is not None
    broken = (ROOT / "docker-compose.yml").read_text().replace(
        "condition: service_healthy", "condition: service_healthy\n      nowhere:\n"
        "        condition: service_started", 1)
    (tmp_path / "docker-compose.yml").write_text(broken)
    done = subprocess.run([COMPOSE, "-f", str(tmp_path / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode != 0


def test_loadtests_import_nothing_of_the_ledger() -> None:
    forbidden = {"ledger", "simulator", "bench", "tests"}
    found = []
    for path in sorted((ROOT / "loadtests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in forbidden]
    assert found == []
