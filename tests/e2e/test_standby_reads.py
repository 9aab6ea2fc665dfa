"""Reads from a real streaming-replication hot standby (issue 18 item 2, ADR 0058).

Two PostgreSQL clusters of the test's own on free ports: a primary, and a standby made from it
with `pg_basebackup -R` and started as a hot standby. The app runs with CLMTV_DATABASE_URL on the
primary and CLMTV_DATABASE_READ_URL on the standby, and every step checks which database served
a read (`X-Clmtv-Read-From`, and `clmtv_reads_total`). The app runs with
CLMTV_DATABASE_READ_AFTER=own-writes (each reader waits for its own and its worker's writes);
step 2 checks all-writes (the default) too.

1. the hub posts a contribution; the worker's statement right after shows it (read-your-writes
   across principals: the write marked the worker), and a reader with nothing to wait for is
   served by the standby, which holds the same balance once it has replayed;
2. replay paused on the standby (`pg_wal_replay_pause()`): a second contribution is still in
   the worker's next statement (the standby cannot reach the write's position within the bound:
   the primary serves it), while a read that waits for nothing goes to the standby and shows the
   ledger as it was before the pause; resumed, the standby shows the second contribution too;
3. the standby stopped (`pg_ctl stop -m immediate`): reads still answer, from the primary, the
   worker page too, and the operator's readiness says the standby does not answer.

PostgreSQL only (`dev.py test --pg`): it starts its own two clusters, so it runs once, in that
pass; skipped where PostgreSQL's server binaries (initdb, pg_basebackup) are not installed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from ledger import metrics
from ledger.api.app import create_app
from ledger.composition import Services, build_services
from ledger.config import Settings
from ledger.db.migrate import upgrade
from ledger.domain.principals import PrincipalKind
from ledger.services.read_routing import ReadRouter, principal_key
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey
from tests.api.helpers import member_number, thai_contribution
from tools.crashtest.cluster import PgCluster, StandbyCluster, pg_bindir

_BIN = pg_bindir()
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.postgres_only,
    pytest.mark.skipif(_BIN is None or not (_BIN / "pg_basebackup").exists(),
                       reason="PostgreSQL's server binaries (initdb, pg_basebackup) are not "
                       "installed"),
]
WAIT_S = 0.2  # the bound a read waits for the standby (the setting's default)
# The contribution thai_contribution() books: the employee's, employer's and state's shares.
CONTRIBUTION_MINOR = 45000 + 45000 + 15050


@pytest.fixture
def clusters() -> Iterator[tuple[PgCluster, StandbyCluster]]:
    primary = PgCluster({"wal_level": "replica", "max_wal_senders": "4"})
    standby = StandbyCluster(primary)
    try:
        primary.init()
        primary.start()
        standby.init()
        standby.start()
        yield primary, standby
    finally:
        standby.remove()
        primary.remove()


@dataclass
class Hub:
    http: httpx.AsyncClient
    services: Services
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
async def hub(clusters: tuple[PgCluster, StandbyCluster], tmp_path: Path) -> AsyncIterator[Hub]:
    primary, standby = clusters
    settings = Settings(database_url=primary.url, database_read_url=standby.url,
                        database_read_wait_s=WAIT_S, database_read_after="own-writes",
                        rate_limit_per_s=0, dev_mode=True,
                        hub_key_file=str(tmp_path / "hub.jwk"), journal_seal_interval_s=0)
    services = build_services(settings, signer=HubSigner(SigningKey.generate(HUB)))
    await upgrade(services.db)
    services.committer.start()
    try:
        tokens = {who: await services.clients.register(who, kind, scope) for who, kind, scope in (
            ("operator", PrincipalKind.HUB_OPERATOR, None),
            ("auditor", PrincipalKind.AUDITOR, None))}
        app = create_app(settings, services)
        app.state.services = services
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as http:
            yield Hub(http, services, tokens)
    finally:
        await services.committer.stop()
        await services.close()
        await services.db.dispose()


def _reads(source: str, reason: str) -> float:
    value = metrics.REGISTRY.get_sample_value("clmtv_reads_total",
                                              {"source": source, "reason": reason})
    return value or 0.0


async def _contribute(hub: Hub, worker: str, month: str) -> None:
    answer = await hub.http.post("/v1/contributions", json=thai_contribution(worker, month=month),
                                 headers={**hub.auth("operator"),
                                          "Idempotency-Key": f"standby-{month}"})
    assert answer.status_code == 201, answer.text


async def _statement(hub: Hub, worker: str) -> tuple[str, list[str]]:
    """Who served the worker's statement, and the months of its contributions."""
    answer = await hub.http.get(f"/v1/workers/{worker}/statement", headers=hub.auth("worker"))
    assert answer.status_code == 200, answer.text
    months = sorted(c["month"] for fund in answer.json()["funds"]
                    for c in fund["contributions"])
    return answer.headers["X-Clmtv-Read-From"], months


async def _thb_credits(hub: Hub) -> tuple[str, int]:
    """The auditor's ledger totals (a reader with no write to wait for): who served them, and
    the THB posted credits they show."""
    answer = await hub.http.get("/v1/ledger/totals", headers=hub.auth("auditor"))
    assert answer.status_code == 200, answer.text
    thb = [c for c in answer.json()["currencies"] if c["currency"] == "THB"]
    return answer.headers["X-Clmtv-Read-From"], int(thb[0]["credits_posted"]) if thb else 0


async def _readiness(hub: Hub) -> dict[str, Any]:
    """What the operator's readiness answer says of the standby (the hub stays ready)."""
    answer = await hub.http.get("/v1/ready", headers=hub.auth("operator"))
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["standby"]
    return found


async def _caught_up(standby: StandbyCluster, primary: PgCluster) -> None:
    """Until the standby has replayed all the primary has written (at most 30 s)."""
    main = await asyncpg.connect(primary.url.replace("+asyncpg", ""))
    copy = await asyncpg.connect(standby.url.replace("+asyncpg", ""))
    try:
        target = await main.fetchval("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + 30
        while await copy.fetchval("SELECT pg_last_wal_replay_lsn() < $1", target):
            assert time.monotonic() < deadline, "the standby did not catch up in 30 s"
            await asyncio.sleep(0.02)
    finally:
        await main.close()
        await copy.close()


async def _on_standby(standby: StandbyCluster, statement: str) -> None:
    conn = await asyncpg.connect(standby.url.replace("+asyncpg", ""))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def test_reads_come_from_the_standby_see_the_readers_writes_and_survive_it(
        hub: Hub, clusters: tuple[PgCluster, StandbyCluster]) -> None:
    primary, standby = clusters
    worker = "wkr_standby01"
    made = await hub.http.post("/v1/workers", headers=hub.auth("operator"), json={
        "id": worker, "nationality": "KH",
        "memberships": [{"fund": "TH-SSO", "member_number": member_number("TH-SSO", "5b0")}]})
    assert made.status_code == 201, made.text
    hub.tokens["worker"] = await hub.services.clients.register("worker", PrincipalKind.WORKER,
                                                               worker)

    # 1. A statement read right after a write shows it.
    await _contribute(hub, worker, "2025-06")
    source, months = await _statement(hub, worker)
    assert months == ["2025-06"], (source, months)
    print(f"\nstatement after the first contribution: served by the {source}, months {months}")
    await _caught_up(standby, primary)
    source, credits = await _thb_credits(hub)
    assert (source, credits) == ("standby", CONTRIBUTION_MINOR)
    source, months = await _statement(hub, worker)
    assert (source, months) == ("standby", ["2025-06"])

    # 2. Replay paused: the worker's read after a write goes around the standby; a read that
    # waits for nothing is the standby's, and shows the ledger as it was.
    await _on_standby(standby, "SELECT pg_wal_replay_pause()")
    lagging = _reads("primary", "lagging")
    await _contribute(hub, worker, "2025-07")
    started = time.monotonic()
    source, months = await _statement(hub, worker)
    took_s = time.monotonic() - started
    assert (source, months) == ("primary", ["2025-06", "2025-07"])
    assert _reads("primary", "lagging") == lagging + 1
    assert took_s >= WAIT_S  # it waited for the standby first
    print(f"replay paused: statement served by the {source} after {took_s:.3f} s, {months}")
    assert await _thb_credits(hub) == ("standby", CONTRIBUTION_MINOR)  # without the second
    standby_state = await _readiness(hub)
    assert standby_state["answers"] and standby_state["behind_bytes"] > 0, standby_state
    # CLMTV_DATABASE_READ_AFTER=all-writes (the default): the same reader waits for every
    # write the primary holds, whoever made it, so it too goes around the paused standby.
    reads = hub.services.reads
    every_write = ReadRouter(reads.primary, reads.standby, WAIT_S, all_writes=True)
    chosen = await every_write.route([principal_key("auditor")])
    assert (chosen.source, chosen.reason) == ("primary", "lagging")
    await _on_standby(standby, "SELECT pg_wal_replay_resume()")
    await _caught_up(standby, primary)
    assert await _thb_credits(hub) == ("standby", 2 * CONTRIBUTION_MINOR)
    assert await _statement(hub, worker) == ("standby", ["2025-06", "2025-07"])
    chosen = await every_write.route([principal_key("auditor")])
    assert (chosen.source, chosen.reason) == ("standby", "replayed")

    # 3. The standby stops: reads still answer, from the primary.
    standby.stop_immediate()
    failed, down = _reads("primary", "failed"), _reads("primary", "down")
    assert await _thb_credits(hub) == ("primary", 2 * CONTRIBUTION_MINOR)
    await _contribute(hub, worker, "2025-08")
    assert await _statement(hub, worker) == ("primary", ["2025-06", "2025-07", "2025-08"])
    page = await hub.http.get(f"/web/workers/{worker}/statement", headers=hub.auth("worker"))
    assert page.status_code == 200 and page.headers["X-Clmtv-Read-From"] == "primary"
    assert _reads("primary", "failed") == failed + 1  # the first read found it gone
    assert _reads("primary", "down") == down + 2  # the next ones did not try it
    assert (await _readiness(hub))["answers"] is False  # and the hub is still ready
