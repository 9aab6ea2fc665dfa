"""Readiness reflects the database and its migrations: 503 while the schema is behind the code
(or the database does not answer), 200 once `clmtv db upgrade` has run (issue 17 item 6)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from ledger.api.app import create_app
from ledger.composition import build_services
from ledger.config import Settings
from ledger.db.engine import open_database
from ledger.db.migrate import head_revision, upgrade
from ledger.domain.principals import PrincipalKind
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey

pytestmark = pytest.mark.anyio


async def test_ready_is_503_while_migrations_are_behind(tmp_path: Path) -> None:
    # A database of its own (SQLite on either suite): the test rewinds its schema version.
    url = f"sqlite+aiosqlite:///{tmp_path}/ready.db"
    db = open_database(url, 2)
    await upgrade(db)
    services = build_services(Settings(database_url=url), db=db,
                              signer=HubSigner(SigningKey.generate(HUB)))
    services.committer.start()
    token = await services.clients.register("ready-auditor", PrincipalKind.AUDITOR, None)
    app = create_app(Settings(database_url=url), services)
    app.state.services = services

    async def set_version(version: str) -> None:
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as http:
            assert (await http.get("/v1/ready")).json() == {"status": "ready"}
            await set_version("0009")  # as if 0010 and 0011 were not applied
            behind = await http.get("/v1/ready")
            assert behind.status_code == 503
            assert behind.json() == {"status": "unavailable",
                                     "reason": "the database is not migrated"}
            staff = await http.get("/v1/ready", headers={"Authorization": f"Bearer {token}"})
            assert staff.status_code == 503
            assert "run `clmtv db upgrade`" in staff.json()["reason"]
            await set_version(head_revision())
            assert (await http.get("/v1/ready")).status_code == 200
            await db.dispose()
            (tmp_path / "ready.db").unlink()  # the file gone: an empty database, no schema
            gone = await http.get("/v1/ready")
            assert gone.status_code == 503
    finally:
        await services.committer.stop()
        await db.dispose()
