"""What an operator sees of the running service: request ids, JSON logs, request metrics.

Owns three things every request passes through:

- `RequestObserver` (pure ASGI, like BodyLimit: no task per request) gives each request an id
  (the caller's `X-Request-ID` when it is a short plain token, else a new one), sends it back in
  `X-Request-ID`, counts the request and its latency by route *template* in the Prometheus
  metrics (`ledger/metrics.py`), and writes one access-log record;
- the request's context (`current`): its id and, once the token is checked, the principal's
  *name* (a client's name, never a token and never an identity number), which every log record
  written during the request carries;
- `JsonFormatter`, one JSON object per line: time, level, logger, message, request id,
  principal and the record's own fields. Paths are logged as their template
  (`/v1/workers/{worker_id}`), never with their values, and bodies never.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger import metrics

ACCESS_LOG = logging.getLogger("clmtv.access")
REQUEST_ID_HEADER = b"x-request-id"
_CALLER_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")  # anything else is replaced, not logged
UNMATCHED = "unmatched"  # the route label of a path no route matched (404s of any path)


@dataclass(slots=True)
class RequestContext:
    request_id: str
    principal: str | None = None
    # Read routing (ADR 0058): the database that served this request's read, and the workers
    # a write named in its body (those in its path are read from the route's parameters).
    read_from: str | None = None
    wrote_for: list[str] = field(default_factory=list)


_current: ContextVar[RequestContext | None] = ContextVar("clmtv_request", default=None)


def current() -> RequestContext | None:
    return _current.get()


def note_principal(name: str) -> None:
    """Called once the token is checked (ledger/api/deps.py): the logs name who asked."""
    context = _current.get()
    if context is not None:
        context.principal = name  # a mutable holder: visible to the middleware whatever task


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, str], Any] = {}  # no label lookup per request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"")
        request_id = given.decode() if _CALLER_ID.match(given) else uuid.uuid4().hex
        context = RequestContext(request_id)
        token = _current.set(context)
        status = 500  # what the server sends if the app fails before answering

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self._count(scope["method"], route, status, elapsed)
            if ACCESS_LOG.isEnabledFor(logging.INFO):
                ACCESS_LOG.info("%s %s %d", scope["method"], route, status, extra={
                    "method": scope["method"], "route": route, "status": status,
                    "duration_ms": round(elapsed * 1000, 3)})
            _current.reset(token)

    def _count(self, method: str, route: str, status: int, elapsed: float) -> None:
        key = (method, route, str(status))
        children = self._children.get(key)
        if children is None:
            children = (metrics.HTTP_REQUESTS.labels(*key),
                        metrics.HTTP_LATENCY.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)


# Fields a record may carry beyond the message (set with `extra=`); nothing else is copied, so
# an argument that happens to hold an identity number cannot slip into the line.
_EXTRA_FIELDS = ("method", "route", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: easy to ship and to query."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        context = _current.get()
        if context is not None:
            out["request_id"] = context.request_id
            if context.principal is not None:
                out["principal"] = context.principal
        for name in _EXTRA_FIELDS:
            if name in record.__dict__:
                out[name] = record.__dict__[name]
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def log_config(level: str, json_lines: bool, access_log: bool) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server (uvicorn's `log_config`): our formatter on
    uvicorn's loggers and ours. uvicorn's own access log is off: ours carries the route
    template, the request id and the principal."""
    formatter = ({"()": JsonFormatter} if json_lines
                 else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"})
    handler = {"class": "logging.StreamHandler", "formatter": "main",
               "stream": "ext://sys.stderr"}
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "uvicorn": {"handlers": ["main"], "level": upper, "propagate": False},
            "uvicorn.error": {"handlers": ["main"], "level": upper, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "clmtv.access": {"handlers": ["main"], "propagate": False,
                             "level": "INFO" if access_log else "WARNING"},
        },
        "root": {"handlers": ["main"], "level": upper},
    }
