"""The FastAPI application: wiring of services, error handling, limits and OpenAPI metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.adapters.registry import adapters
from ledger.api import errors
from ledger.api.deps import Services
from ledger.api.routes import (
    contributions,
    imports,
    inbox,
    keys,
    ledger,
    meta,
    portability,
    windows,
    workers,
)
from ledger.config import Settings
from ledger.db.engine import Database, open_database
from ledger.demo_data import DEMO_TOKENS
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.pii import PiiVault
from ledger.limits import DECLARATION_FILE_MAX_BYTES, REQUEST_BODY_MAX_BYTES
from ledger.services.clients import ClientService
from ledger.services.contributions import ContributionService
from ledger.services.group_commit import GroupCommitter
from ledger.services.imports import ImportService
from ledger.services.inbox import InboxService
from ledger.services.keys import KeyService
from ledger.services.message_handlers import (
    portability_bulk_handlers,
    portability_handlers,
    settlement_handlers,
)
from ledger.services.portability import PortabilityService
from ledger.services.posting import PostingEngine
from ledger.services.settlement import SettlementService
from ledger.services.signing import HubSigner
from ledger.services.statements import StatementService
from ledger.services.transfers import TransferService
from ledger.services.workers import WorkerService
from ledger.settlement.agreement import bundled_agreement

DESCRIPTION = f"""
Cross-border social-security contribution ledger for migrant workers of the Mekong region.

Money is `{{"amount_minor": "<digits>", "currency": "THB"}}` in integer minor units. Errors are
RFC 9457 `application/problem+json` with a stable `code`.

**Authentication**: `Authorization: Bearer <token>`. The demo (`clmtv demo`) seeds these tokens:
hub operator `{DEMO_TOKENS["operator"]}`, Thai fund `{DEMO_TOKENS["th-sso"]}`, worker
`{DEMO_TOKENS["worker"]}`, auditor `{DEMO_TOKENS["auditor"]}`. Click *Authorize* and paste one.
"""


def _body_limit(path: str) -> int:
    """Declaration files are uploads of their own size class; everything else is JSON."""
    parts = path.split("/")
    if len(parts) == 5 and parts[1:3] == ["v1", "funds"] and parts[4] == "declarations":
        return DECLARATION_FILE_MAX_BYTES
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
        limit = _body_limit(scope["path"])
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


# The agreement the hub runs (a settings key once more than one is in force).
PILOT_AGREEMENT = "clmtv-2019-pilot"


def build_services(
    settings: Settings, db: Database | None = None, signer: HubSigner | None = None
) -> Services:
    # Every adapter folder loads now: a fund a folder declares (e.g. MY-SOCSO) is known to the
    # API from the first request, not from the first import that happens to load its rules.
    adapters()
    db = db or open_database(settings.database_url, settings.db_pool_size)
    vault = PiiVault(settings.pii_hmac_key, settings.pii_encryption_key)
    committer = GroupCommitter(PostingEngine(db), settings.group_commit_max)
    worker_service = WorkerService(db, vault)
    signer = signer or HubSigner.from_file(Path(settings.hub_key_file))
    keys = KeyService(db)
    agreement = bundled_agreement(PILOT_AGREEMENT)
    portability = PortabilityService(db, committer, agreement)
    settlement = SettlementService(db, committer, signer, agreement.member_funds)
    return Services(
        db=db,
        committer=committer,
        clients=ClientService(db),
        workers=worker_service,
        contributions=ContributionService(committer, worker_service),
        transfers=TransferService(db, committer),
        statements=StatementService(db, worker_service),
        signer=signer,
        keys=keys,
        portability=portability,
        inbox=InboxService(db, keys, signer, {**portability_handlers(portability),
                                              **settlement_handlers(settlement)},
                           bulk_handlers=portability_bulk_handlers(portability)),
        settlement=settlement,
        imports=ImportService(db, vault),
    )


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = services or build_services(settings)
        app.state.services = svc
        svc.committer.start()
        try:
            yield
        finally:
            await svc.committer.stop()
            if services is None:
                await svc.db.dispose()

    app = FastAPI(title="clmtv ledger", version="1.0.0", description=DESCRIPTION,
                  lifespan=lifespan)
    errors.install(app)

    app.add_middleware(BodyLimit)
    for router in (meta.router, workers.router, contributions.router, ledger.router,
                   keys.router, imports.router,
                   portability.router, inbox.router, windows.router):
        app.include_router(router)
    return app
