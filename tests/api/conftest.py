"""An app wired to the test database, an HTTP client, and one token per kind of principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from ledger.api.app import create_app
from ledger.composition import Services, build_services
from ledger.config import Settings
from ledger.db.engine import Database
from ledger.domain.principals import PrincipalKind
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey

# The employer number of the `employer` token: the test SSO 1-10 files' employer
# (tests/db/test_imports.py `thai_file`).
TEST_EMPLOYER = "1234567890"


@dataclass
class Api:
    http: httpx.AsyncClient
    services: Services
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
async def api(db: Database, uid: str) -> AsyncIterator[Api]:
    async for wired in api_on(db, uid):
        yield wired


async def api_on(db: Database, uid: str) -> AsyncIterator[Api]:
    """The app on `db`, one token per kind of principal; stopped when the caller is done.
    Rate limits are off: a test may call faster than a client would (test_rate_limits.py
    turns them on)."""
    services = build_services(Settings(database_url=db.url, rate_limit_per_s=0), db=db,
                              signer=HubSigner(SigningKey.generate(HUB)))
    services.committer.start()
    tokens = {}
    for who, kind, scope in (
        ("operator", PrincipalKind.HUB_OPERATOR, None),
        ("auditor", PrincipalKind.AUDITOR, None),
        ("th", PrincipalKind.FUND, "TH-SSO"),
        ("jp", PrincipalKind.FUND, "JP-JPS"),
        ("employer", PrincipalKind.EMPLOYER, "TH-SSO"),
    ):
        tokens[who] = await services.clients.register(
            f"{who}-{uid}", kind, scope,
            employer=TEST_EMPLOYER if kind is PrincipalKind.EMPLOYER else None)
    app = create_app(Settings(database_url=db.url), services)
    app.state.services = services
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Api(http, services, tokens)
    await services.committer.stop()
