"""The FastAPI application: routes, error handling, limits and OpenAPI metadata. The service graph
comes from the composition root (`ledger.composition`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_standalone_docs import StandaloneDocs  # type: ignore[import-untyped]  # no py.typed
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api import contract, errors
from ledger.api.examples import serve_live_examples
from ledger.api.observability import RequestObserver
from ledger.api.read_routing import ReadYourWrites
from ledger.api.routes import (
    channels,
    contributions,
    documents,
    employers,
    imports,
    inbox,
    journal,
    keys,
    ledger,
    meta,
    portability,
    stats,
    windows,
    workers,
)
from ledger.api.uploads import BODY_LIMIT_KEY, UploadGate
from ledger.composition import Services, build_services
from ledger.config import ConfigurationError, Settings
from ledger.db.durability import durability_problems
from ledger.demo_data import DEMO_TOKENS
from ledger.domain.errors import DomainError, ErrorCode
from ledger.limits import DAY_FILE_MAX_BYTES, DECLARATION_FILE_MAX_BYTES, REQUEST_BODY_MAX_BYTES
from ledger.web import pages, statement_page, stats_page, verify_page

DESCRIPTION = f"""
Cross-border social-security contribution ledger for migrant workers of the Mekong region.

Money is `{{"amount_minor": "<digits>", "currency": "THB"}}` in integer minor units. Errors are
RFC 9457 `application/problem+json` with a stable `code`.

**Authentication**: `Authorization: Bearer <token>`. The demo (`clmtv demo`) seeds these tokens:
hub operator `{DEMO_TOKENS["operator"]}`, Thai fund `{DEMO_TOKENS["th-sso"]}`, worker
`{DEMO_TOKENS["worker"]}`, auditor `{DEMO_TOKENS["auditor"]}`, payment channel (Mekong Wallet)
`{DEMO_TOKENS["channel"]}`. Click *Authorize* and paste one.
"""


def _body_limit(path: str) -> int:
    """Declaration files and channel day files are uploads of their own size classes;
    everything else is JSON."""
    parts = path.split("/")
    if len(parts) == 5 and parts[1:3] == ["v1", "funds"] and parts[4] == "declarations":
        return DECLARATION_FILE_MAX_BYTES
    if len(parts) == 6 and parts[1:3] == ["v1", "channels"] and parts[4] == "days":
        return DAY_FILE_MAX_BYTES
    return REQUEST_BODY_MAX_BYTES


class BodyLimit:
    """Refuses bodies over the limit of their path with 413 `body_too_large`, declared or
    streamed (pure ASGI: no per-request task, unlike BaseHTTPMiddleware, which matters on the
    hot path).

    A declared Content-Length is refused before the app runs. A streamed body (chunked, no
    length) is counted as the app reads it: past the limit, `receive` raises and every later
    message the app sends is dropped, because the app may not let the error through (FastAPI's
    body and multipart parsing turn any exception into 400 "There was an error parsing the
    body"); the 413 is sent here instead. The endpoint never ran, so nothing was booked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = scope.get(BODY_LIMIT_KEY) or _body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, f"the body is {int(declared)} bytes; "
                               f"this path takes at most {limit}")
            return
        seen = 0
        overflow = False
        started = False

        async def counted() -> Message:
            nonlocal seen, overflow
            if overflow:
                raise DomainError(ErrorCode.BODY_TOO_LARGE, f"body exceeds {limit} bytes")
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                overflow = True
                raise DomainError(ErrorCode.BODY_TOO_LARGE, f"body exceeds {limit} bytes")
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if overflow and not started:
                return  # the app's answer to a body it could not read: replaced below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except DomainError:
            if not overflow or started:
                raise
        if overflow and not started:
            await self._refuse(scope, receive, send,
                               f"the body, sent without a length, exceeds the {limit} bytes "
                               "this path takes")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        response = errors.problem(DomainError(ErrorCode.BODY_TOO_LARGE, detail), scope["path"])
        await response(scope, receive, send)


# Public documents a cache may keep: the keys and the API's description. Every other answer may
# carry an identity number, a balance or a token and must not be stored by a browser or proxy.
CACHEABLE_PATHS = frozenset({"/.well-known/jwks.json", "/v1/keys", "/openapi.json", "/v1/funds",
                             "/v1/health"})
_SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"),
                     (b"referrer-policy", b"no-referrer")]
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Adds `X-Content-Type-Options: nosniff` and `Referrer-Policy` to every answer and
    `Cache-Control: no-store` to every answer that is not a public document (pure ASGI, like
    BodyLimit: no task per request on the hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        cacheable = path in CACHEABLE_PATHS or path.startswith(("/v1/funds/", "/docs", "/redoc",
                                                                "/web/static/"))
        extra = _SECURITY_HEADERS if cacheable else [*_SECURITY_HEADERS, _NO_STORE]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The app on `services`, or on a graph built from `settings` at startup: then the settings
    must be fit to serve (real keys, an existing hub key, no unknown CLMTV_ variable) or this
    raises ConfigurationError before anything listens."""
    if services is None:
        settings.require_servable()
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = services or build_services(settings)
        if services is None:  # a server: it must not acknowledge what a crash would lose
            problems = await durability_problems(svc.db)
            if problems:
                await svc.db.dispose()
                raise ConfigurationError(problems)
        app.state.services = svc
        svc.committer.start()
        # The journal's two logs are sealed beside the posting path, never on it (ADR 0050, 0059).
        sealers = ([asyncio.create_task(log.run_sealer(settings.journal_seal_interval_s))
                    for log in (svc.journal, svc.period_journal)]
                   if settings.journal_seal_interval_s > 0 else [])
        try:
            yield
        finally:
            for sealer in sealers:
                sealer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sealer
            await svc.committer.stop()
            if services is None:
                await svc.close()
                await svc.db.dispose()

    # validatorUrl: Swagger UI would otherwise ask validator.swagger.io about the schema.
    app = FastAPI(title="clmtv ledger", version="1.0.0", description=DESCRIPTION,
                  lifespan=lifespan, swagger_ui_parameters={"validatorUrl": None})
    # /docs and /redoc load Swagger UI and ReDoc from the installed package, not from a CDN:
    # fund networks are often closed (ADR 0041).
    StandaloneDocs(app)
    errors.install(app)
    contract.install(app)

    app.add_middleware(BodyLimit)
    # Outside BodyLimit: an upload is authenticated before its length is even looked at.
    app.add_middleware(UploadGate)
    app.add_middleware(SecurityHeaders)
    # Inside the observer (it reads the request's context): write marks and the read's source.
    app.add_middleware(ReadYourWrites)
    app.add_middleware(RequestObserver)  # outermost of ours: it times and counts all of it
    for router in (meta.router, workers.router, contributions.router, employers.router,
                   ledger.router,
                   keys.router, imports.router,
                   portability.router, inbox.router, windows.router, channels.router,
                   journal.router, documents.router, stats.router):
        app.include_router(router)
    serve_live_examples(app)  # the inbox's example, signed when the document is read
    # The pages people read (ledger.web): rendered on the server from the same services.
    pages.install(app, (statement_page.router, verify_page.router, stats_page.router))
    return app
