"""A ledger in this process, for programs built on top of it (the simulator's replay).

This module is the simulator's declared interface to the ledger (docs/architecture.md): a fresh,
migrated ledger on a database URL, its service graph with the group committer running, the HTTP
API served in-process through an httpx client, and a hub operator's token; plus the request types
and the settlement runner that a replay of exits needs. Nothing else of `ledger.services`,
`ledger.db` or `ledger.api` is imported by the simulator (an import-linter contract).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from ledger.api.app import create_app
from ledger.app.demo_settlement import DEMO_RATES
from ledger.app.settle_run import OPERATOR, publish_fund_keys, run_window
from ledger.composition import Services, running_services
from ledger.config import Settings
from ledger.db.engine import open_database
from ledger.domain.principals import PrincipalKind
from ledger.services.portability import FlowRequest, Reason
from ledger.services.signing import HubSigner
from ledger.services.workers import NewWorker
from ledger.settlement.keys import HUB, SigningKey

__all__ = [
    "OPERATOR",
    "REFERENCE_RATES",
    "FlowRequest",
    "LocalLedger",
    "NewWorker",
    "Reason",
    "Services",
    "local_ledger",
    "publish_fund_keys",
    "run_window",
]

# Reference FX rates a replay sets before it moves money between currencies (the demo's).
REFERENCE_RATES = DEMO_RATES


@dataclass(frozen=True, slots=True)
class LocalLedger:
    services: Services
    http: httpx.AsyncClient  # the API, in this process
    transport: httpx.AsyncBaseTransport  # for a client of the caller's own
    operator_token: str


@asynccontextmanager
async def local_ledger(database_url: str, client_name: str = "local-operator",
                       timeout_s: float = 600,
                       before: Callable[[Services], Awaitable[None]] | None = None,
                       ) -> AsyncIterator[LocalLedger]:
    """Migrate the database at `database_url`, sign with a new hub key, and yield the ledger
    with a hub operator's bearer token; everything is stopped and closed on exit. `before` runs
    on the services ahead of any write of ours (a caller's refusal, e.g. a replay into a ledger
    that already holds data, leaves no operator client behind)."""
    db = open_database(database_url, 4)
    settings = Settings(database_url=database_url)
    try:
        async with running_services(settings, db=db,
                                    signer=HubSigner(SigningKey.generate(HUB))) as services:
            if before is not None:
                await before(services)
            token = await services.clients.register(client_name, PrincipalKind.HUB_OPERATOR,
                                                    None)
            app = create_app(settings, services)
            app.state.services = services
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ledger.local",
                                         timeout=timeout_s) as http:
                yield LocalLedger(services, http, transport, token)
    finally:
        await db.dispose()
