"""Retention of idempotency keys and inbox message ids (issue 16 item 6, ADR 0054): they go only
when older than the retention AND a settlement window opened after them has finished; a retry
after they went posts nothing twice. On a database of the test's own (the horizon depends on
every window in it), on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger.cli import main
from ledger.db.tables import contributions, idempotency_keys, inbox_messages
from ledger.domain.errors import DomainError
from ledger.services import replay_records
from ledger.services.replay_records import DAY_US, windows_horizon
from ledger.settlement.messages import MessageType
from tests.api.conftest import Api, api_on
from tests.api.helpers import ledger_snapshot, new_worker, thai_contribution
from tests.e2e.messaging import Sender
from tests.e2e.story_support import OPERATOR, RATES
from tests.e2e.test_inbox import requested_flow
from tests.fresh_db import fresh_database

pytestmark = pytest.mark.anyio


def _now_us() -> int:
    return int(time.time() * 1_000_000)


async def _window(api: Api, *, abort: bool) -> str:
    opened = await api.http.post("/v1/windows", headers=api.auth("operator"),
                                 json={"currency": "USD"})
    assert opened.status_code == 200, opened.text
    window_id = str(opened.json()["id"])
    if abort:
        moved = await api.http.post(f"/v1/windows/{window_id}/transitions",
                                    headers=api.auth("operator"),
                                    json={"to": "aborted", "reason": "retention test"})
        assert moved.status_code == 200, moved.text
    return window_id


async def _count(api: Api, table: object, *where: object) -> int:
    async with api.services.db.engine.connect() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int((await conn.execute(query.where(*where))).scalar_one())


async def test_records_outlive_their_window_and_a_retry_after_them_posts_nothing(
    tmp_path: Path, uid: str
) -> None:
    async with fresh_database(tmp_path) as db:
        async for api in api_on(db, uid):
            svc = api.services
            for base, quote, rate in RATES:
                await svc.portability.set_rate(OPERATOR, base, quote, rate, "test rate")
            nothing = await replay_records.prune(db, _now_us() + 40 * DAY_US)
            assert nothing.horizon.before_us == 0  # no window at all: nothing may go

            first_window = await _window(api, abort=False)
            worker = await new_worker(api, uid)
            body = thai_contribution(worker)
            keyed = {**api.auth("th"), "Idempotency-Key": f"retention-{uid}"}
            posted = await api.http.post("/v1/contributions", headers=keyed, json=body)
            assert posted.status_code == 201, posted.text
            flow_id = await requested_flow(svc, f"{uid}f")
            sender = await Sender(svc, "TH-SSO").publish()
            approve = await sender.sign(MessageType.TRANSFER_REQUEST,
                                        {"action": "approve", "flow_id": flow_id})
            assert (await svc.inbox.receive(approve)).outcome == "processed"
            stored = await ledger_snapshot(api)

            # Young records stay whatever the windows; old ones stay while the window open
            # when they came is unfinished, and still after it finished (it opened before
            # them): a window opened after them must finish first.
            assert (await replay_records.prune(db, _now_us())).idempotency_keys == 0
            later = _now_us() + 40 * DAY_US
            held = await replay_records.prune(db, later)
            assert (held.idempotency_keys, held.inbox_messages) == (0, 0)
            assert held.horizon.held_by == first_window
            await api.http.post(f"/v1/windows/{first_window}/transitions",
                                headers=api.auth("operator"),
                                json={"to": "aborted", "reason": "retention test"})
            held = await replay_records.prune(db, later)
            assert (held.idempotency_keys, held.inbox_messages) == (0, 0)
            second_window = await _window(api, abort=True)
            dry = await replay_records.prune(db, later, dry_run=True)
            assert (dry.idempotency_keys, dry.inbox_messages) == (1, 1)
            pruned = await replay_records.prune(db, later, batch=1)
            assert (pruned.idempotency_keys, pruned.inbox_messages) == (1, 1)
            assert pruned.horizon.held_by == second_window
            assert await _count(api, idempotency_keys) == 0
            assert await _count(api, inbox_messages) == 0

            # The same request under the same key, its key gone: "exists", nothing booked.
            again = await api.http.post("/v1/contributions", headers=keyed, json=body)
            assert again.status_code == 200, again.text
            assert again.json()["status"] == "exists"
            assert await _count(api, contributions, contributions.c.worker_id == worker) == 1
            # The same message, its id gone: its sequence number is spent...
            with pytest.raises(DomainError) as refused:
                await svc.inbox.receive(approve)
            assert refused.value.details["reason"] == "stale_seq"
            # ...and, as old as a record must be to go, it has expired anyway.
            svc.inbox.clock = lambda: time.time() + 40 * 86_400
            with pytest.raises(DomainError) as refused:
                await svc.inbox.receive(approve)
            assert refused.value.details["reason"] == "message_expired"
            assert await ledger_snapshot(api) == stored
            assert await _count(api, inbox_messages) == 0


def test_the_windows_horizon_per_currency() -> None:
    assert windows_horizon([]).before_us == 0
    # The first window unfinished: nothing; finished ones up to the first unfinished count.
    assert windows_horizon([("U1", "USD", "open", 10)]) == replay_records.Horizon(0, "U1")
    rows = [("U1", "USD", "settled", 10), ("U2", "USD", "aborted", 20),
            ("U3", "USD", "settling", 30), ("U4", "USD", "aborted", 40)]
    assert windows_horizon(rows) == replay_records.Horizon(20, "U2")
    # Every currency with windows must agree: the earliest wins.
    rows.append(("T1", "THB", "settled", 15))
    assert windows_horizon(rows) == replay_records.Horizon(15, "T1")
    rows.append(("T2", "THB", "open", 16))
    assert windows_horizon(rows) == replay_records.Horizon(15, "T1")


async def test_a_retention_shorter_than_a_message_life_is_refused(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db:
        with pytest.raises(DomainError) as refused:
            await replay_records.prune(db, _now_us(), keep_days=30)
        assert refused.value.field == "keep_days"


def test_the_command_says_what_it_deleted_and_refuses_a_short_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ledger.config import get_settings

    monkeypatch.setenv("CLMTV_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    get_settings.cache_clear()
    try:
        assert main(["db", "prune-replays", "--keep-days", "7"]) == 2
        assert "keep at least 31 days" in capsys.readouterr().err
        assert main(["db", "prune-replays", "--dry-run"]) == 0
        assert "no settlement window has finished" in capsys.readouterr().out
        assert main(["db", "prune-replays", "--json"]) == 0
        assert '"idempotency_keys": 0' in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
