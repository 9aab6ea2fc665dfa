"""The read router's choices (ADR 0058) with the two WAL positions played by the test: marks per
reader, waiting within the bound, folding the oldest marks into a floor, a standby that does not
answer, a read that fails on it half-way; and CLMTV_DATABASE_READ_URL ignored, with its reason,
where it cannot be used. The real standby: tests/e2e/test_standby_reads.py."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ledger.composition import build_services
from ledger.config import Settings
from ledger.domain.errors import DomainError, ErrorCode
from ledger.limits import STANDBY_RETRY_S
from ledger.services import read_routing
from ledger.services.read_routing import ReadGraph, ReadRouter, principal_key, worker_key

pytestmark = pytest.mark.anyio


class FakeDb:
    async def dispose(self) -> None:
        pass


def _graph(name: str) -> Any:
    db = FakeDb()
    db.name = name  # type: ignore[attr-defined]
    return ReadGraph(db, *(None,) * 5)  # type: ignore[arg-type]


class Positions:
    """The primary's write position and the standby's replay position, as the test sets them;
    `replays` counts how often the router asked the standby."""

    def __init__(self) -> None:
        self.written = 0
        self.replayed: list[int] = [0]  # successive answers; the last one repeats
        self.replays = 0
        self.standby_error: BaseException | None = None

    async def write(self, _db: object) -> int:
        return self.written

    async def replay(self, _db: object) -> int:
        self.replays += 1
        if self.standby_error is not None:
            raise self.standby_error
        return self.replayed.pop(0) if len(self.replayed) > 1 else self.replayed[0]


@pytest.fixture
def positions(monkeypatch: pytest.MonkeyPatch) -> Positions:
    found = Positions()
    monkeypatch.setattr(read_routing, "written_position", found.write)
    monkeypatch.setattr(read_routing, "replayed_position", found.replay)
    return found


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _router(wait_s: float = 0.0, marks_max: int = 100, clock: Clock | None = None
            ) -> ReadRouter:
    return ReadRouter(_graph("primary"), _graph("standby"), wait_s, marks_max=marks_max,
                      clock=clock or Clock())


async def test_without_a_standby_every_read_is_the_primarys_and_writes_ask_nothing(
        positions: Positions) -> None:
    router = ReadRouter(_graph("primary"), None, 0.2)
    assert not router.enabled
    assert await router.note_write([principal_key("a")]) is None
    chosen = await router.route([principal_key("a")])
    assert (chosen.source, chosen.reason) == ("primary", "no_standby")
    assert positions.replays == 0


async def test_a_reader_waits_for_its_own_and_its_workers_writes_only(
        positions: Positions) -> None:
    router = _router()
    positions.written, positions.replayed = 100, [50]
    assert await router.note_write([principal_key("channel"), worker_key("wkr_1")]) == 100
    for keys in ([principal_key("channel")], [principal_key("worker"), worker_key("wkr_1")]):
        chosen = await router.route(keys)
        assert (chosen.source, chosen.reason) == ("primary", "lagging"), keys
    other = await router.route([principal_key("auditor"), worker_key("wkr_2")])
    assert (other.source, other.reason) == ("standby", "no_write")
    assert positions.replays == 2  # a reader with nothing to wait for asks no position


async def test_a_read_waits_within_the_bound_for_the_standby_to_replay(
        positions: Positions) -> None:
    router = _router(wait_s=5.0)
    positions.written, positions.replayed = 100, [50, 80, 100]
    await router.note_write([worker_key("wkr_1")])
    chosen = await router.route([worker_key("wkr_1")])
    assert (chosen.source, chosen.reason) == ("standby", "waited")
    assert positions.replays == 3
    # Replayed past every mark: they are dropped, and the next read asks nothing.
    again = await router.route([worker_key("wkr_1")])
    assert (again.source, again.reason) == ("standby", "no_write")
    assert positions.replays == 3


async def test_a_mark_already_replayed_sends_the_read_to_the_standby(
        positions: Positions) -> None:
    router = _router()
    positions.written, positions.replayed = 100, [120]
    await router.note_write([principal_key("fund")])
    chosen = await router.route([principal_key("fund")])
    assert (chosen.source, chosen.reason) == ("standby", "replayed")


async def test_marks_beyond_the_bound_fold_into_a_floor_every_read_must_reach(
        positions: Positions) -> None:
    router = _router(marks_max=2)
    for position, key in ((10, "worker:a"), (20, "worker:b"), (30, "worker:c")):
        positions.written = position
        await router.note_write([key])
    assert router.required(["worker:a"]) == 10  # folded, not forgotten
    assert router.required(["principal:nobody"]) == 10
    assert router.required(["worker:c"]) == 30


async def test_a_standby_that_does_not_answer_is_left_alone_for_a_while(
        positions: Positions) -> None:
    clock = Clock()
    router = _router(clock=clock)
    positions.written = 100
    await router.note_write([worker_key("wkr_1")])
    positions.standby_error = ConnectionRefusedError("refused")
    first = await router.route([worker_key("wkr_1")])
    assert (first.source, first.reason) == ("primary", "down")
    calls = positions.replays
    later = await router.route([principal_key("auditor")])
    assert (later.source, later.reason) == ("primary", "down")
    assert positions.replays == calls  # not asked again within the retry period
    clock.now += STANDBY_RETRY_S
    positions.standby_error, positions.replayed = None, [100]
    back = await router.route([worker_key("wkr_1")])
    assert (back.source, back.reason) == ("standby", "replayed")


async def test_a_read_that_fails_on_the_standby_runs_again_on_the_primary(
        positions: Positions, caplog: pytest.LogCaptureFixture) -> None:
    router = _router()
    served: list[str] = []

    async def run(graph: ReadGraph) -> str:
        name: str = graph.db.name  # type: ignore[attr-defined]
        served.append(name)
        if name == "standby":
            raise ConnectionResetError("the standby went away")
        return "statement"

    with caplog.at_level(logging.WARNING, logger="clmtv.reads"):
        assert await router.read([principal_key("worker")], run) == ("statement", "primary")
    assert served == ["standby", "primary"]
    assert "the standby did not answer (ConnectionResetError)" in caplog.text
    assert "went away" not in caplog.text  # the class only, never the driver's message


async def test_a_reads_own_refusal_on_the_standby_is_not_retried(positions: Positions) -> None:
    router = _router()
    calls = 0

    async def run(graph: ReadGraph) -> str:
        nonlocal calls
        calls += 1
        raise DomainError(ErrorCode.NOT_FOUND, "no worker wkr_x", field="worker_id")

    with pytest.raises(DomainError) as refused:
        await router.read([principal_key("worker")], run)
    assert (refused.value.code, refused.value.field, calls) == (ErrorCode.NOT_FOUND,
                                                                "worker_id", 1)


@pytest.mark.parametrize(("primary", "standby", "reason"), [
    ("sqlite+aiosqlite:///x.db", "postgresql://u@h:5432/db", "the primary (CLMTV_DATABASE_URL) "
     "is not PostgreSQL"),
    ("postgresql://u@h:5432/db", "sqlite+aiosqlite:///x.db", "it is not a PostgreSQL URL"),
    ("postgresql://u@h:5432/db", "mysql://u@h/db", "it is not a PostgreSQL URL"),
])
def test_a_read_url_that_cannot_be_used_is_ignored_and_says_why(
        primary: str, standby: str, reason: str) -> None:
    problem = Settings(database_url=primary, database_read_url=standby).read_url_problem()
    assert problem is not None
    assert problem.startswith(f"CLMTV_DATABASE_READ_URL is ignored: {reason}")
    assert problem.endswith("every read goes to the primary")


def test_a_usable_or_absent_read_url_has_no_problem() -> None:
    assert Settings(database_url="postgresql://u@h/db").read_url_problem() is None
    assert Settings(database_url="postgresql://u@h/db",
                    database_read_url="postgresql://u@standby/db").read_url_problem() is None


async def test_beside_sqlite_the_read_url_is_ignored_with_a_warning(
        tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
                        database_read_url="postgresql://u@127.0.0.1:1/db", dev_mode=True,
                        hub_key_file=str(tmp_path / "hub.jwk"))
    with caplog.at_level(logging.WARNING, logger="clmtv"):
        services = build_services(settings)
    try:
        assert not services.reads.enabled
        assert "CLMTV_DATABASE_READ_URL is ignored: the primary" in caplog.text
    finally:
        await services.close()
        await services.db.dispose()


async def test_all_writes_waits_for_the_primarys_position_whoever_wrote(
        positions: Positions) -> None:
    """CLMTV_DATABASE_READ_AFTER=all-writes: a write made by another process (no mark here)
    is still waited for."""
    router = ReadRouter(_graph("primary"), _graph("standby"), 0.0, all_writes=True,
                        clock=Clock())
    positions.written, positions.replayed = 100, [50]
    assert await router.note_write([principal_key("channel")]) is None  # no mark needed
    chosen = await router.route([principal_key("auditor")])
    assert (chosen.source, chosen.reason) == ("primary", "lagging")
    positions.replayed = [100]
    chosen = await router.route([principal_key("auditor")])
    assert (chosen.source, chosen.reason) == ("standby", "replayed")


async def test_all_writes_with_the_standby_down_reads_the_primary_and_a_primary_down_fails(
        positions: Positions, monkeypatch: pytest.MonkeyPatch) -> None:
    router = ReadRouter(_graph("primary"), _graph("standby"), 0.0, all_writes=True,
                        clock=Clock())
    positions.written, positions.standby_error = 100, ConnectionRefusedError("refused")
    chosen = await router.route([principal_key("auditor")])
    assert (chosen.source, chosen.reason) == ("primary", "down")

    async def primary_gone(_db: object) -> int:
        raise ConnectionRefusedError("primary refused")

    monkeypatch.setattr(read_routing, "written_position", primary_gone)
    router = ReadRouter(_graph("primary"), _graph("standby"), 0.0, all_writes=True,
                        clock=Clock())
    positions.standby_error = None
    with pytest.raises(ConnectionRefusedError):
        await router.route([principal_key("auditor")])


async def test_a_replay_query_that_fails_for_its_own_reason_is_not_taken_for_a_down_standby(
        positions: Positions) -> None:
    """Only a failure that says the standby cannot serve (`standby_unavailable`) sends reads
    to the primary; any other error of the position query is raised, not hidden as `down`."""
    router = _router()
    positions.written = 100
    await router.note_write([worker_key("wkr_1")])
    positions.standby_error = RuntimeError("the position query is wrong")
    with pytest.raises(RuntimeError, match="position query"):
        await router.route([worker_key("wkr_1")])
    positions.standby_error, positions.replayed = None, [100]
    chosen = await router.route([worker_key("wkr_1")])
    assert (chosen.source, chosen.reason) == ("standby", "replayed")  # not marked down
