"""Declaration imports through the bulk path, on the test store (SQLite or PostgreSQL).

Files are built with the Thai codec and amounts from the adapter's rules (or hand values where a
test needs a wrong one); each test uses its own HMAC key, so its member numbers never meet
another test's registrations in the shared database.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso import format as sso
from ledger.config import DEV_PII_ENCRYPTION_KEY
from ledger.db.engine import Database
from ledger.db.stores import ledger_transactions
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.domain.pii import PiiVault
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.imports import ImportService
from tests.adapters.conformance.support import SAMPLES
from tests.api.helpers import thai_id
from tests.db.helpers import make_worker
from tests.event_loop import with_tick_gaps

pytestmark = pytest.mark.anyio

SSO = Principal("sso-import", PrincipalKind.FUND, "TH-SSO")
JAN_2026 = Month(2026, 1)


def thai_file(month: Month, rows: list[tuple[str, int]], *, employee: dict[int, int] | None = None,
              header_wages_delta: int = 0) -> bytes:
    """An SSO 1-10 file; each row (national id, wage in satang), contributions from the rules
    unless `employee` overrides a row's (by index)."""
    adapter = get_adapter("TH-SSO")
    declared = []
    for i, (member, wage) in enumerate(rows):
        quotes = adapter.declaration(adapter.context_from_fields({}), month,
                                     Money(wage, Currency.THB))
        own = sum(q.share(Payer.EMPLOYEE).amount_minor for q in quotes)
        declared.append(DeclaredRow(line=i + 2, member_number=member, month=month,
                                    wage_minor=wage,
                                    employee_minor=(employee or {}).get(i, own),
                                    first_name=f"Worker{i}", last_name="Test"))
    total_employee = sum(r.employee_minor or 0 for r in declared)
    header = DeclaredHeader(
        employer_account="1234567890", branch="000000", month=month, currency=Currency.THB,
        employee_count=len(declared),
        total_wages_minor=sum(r.wage_minor for r in declared) + header_wages_delta,
        total_employee_minor=total_employee, total_employer_minor=total_employee,
        rate_basis_points=500, employer_name="Test Co")
    return sso.render(header, declared)


class World:
    """A per-test vault and import service, with helpers to register and inspect."""

    def __init__(self, db: Database, uid: str) -> None:
        self.db = db
        self.uid = uid
        self.vault = PiiVault(f"imports-{uid}", DEV_PII_ENCRYPTION_KEY)
        self.service = ImportService(db, self.vault)

    def member(self, n: int) -> str:
        return thai_id(f"{self.uid}{n:04x}")

    async def register(self, n: int, fund: str = "TH-SSO", number: str | None = None) -> str:
        number = number or self.member(n)
        return await make_worker(self.db, f"{self.uid}{n:04d}", fund,
                                 self.vault.lookup_hash(fund, number))

    async def run(self, data: bytes, **kw: Any) -> Any:
        return await self.service.import_file(SSO, "TH-SSO", io.BytesIO(data), **kw)

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def worker_state(self) -> dict[str, Any]:
        """Everything booked for this test's workers: contributions, periods, transfers and
        member balances."""
        like = f"wkr_{self.uid}%"
        return {
            "contributions": await self.rows(
                "SELECT id, wage_base_minor, shares FROM contributions WHERE worker_id LIKE :w "
                "ORDER BY id", w=like),
            "periods": await self.rows(
                "SELECT worker_id, scheme, month, state FROM insurance_periods "
                "WHERE worker_id LIKE :w ORDER BY 1, 2, 3", w=like),
            # Recorded by the triggers of migration 0016 in the import's own transaction: one
            # change per period created, none for a file imported again (ADR 0059).
            "period_changes": await self.rows(
                "SELECT worker_id, scheme, month, state FROM insurance_period_events "
                "WHERE worker_id LIKE :w ORDER BY 1, 2, 3, 4", w=like),
            "transfers": await self.rows(
                "SELECT t.id, t.amount_minor FROM transfers t JOIN accounts a "
                "ON a.id = t.credit_account_id WHERE a.worker_id LIKE :w ORDER BY t.id", w=like),
            "balances": await self.rows(
                "SELECT key, credits_posted, debits_posted FROM accounts WHERE worker_id LIKE :w "
                "ORDER BY key", w=like),
        }


@pytest.fixture
def world(db: Database, uid: str) -> World:
    return World(db, uid)


async def test_a_thai_file_books_old_age_per_worker_and_pools_the_short_term_branches(
    world: World,
) -> None:
    workers = [await world.register(n) for n in range(3)]
    # 20,000 THB is above the 2026 ceiling of 17,500: 5% of 17,500 = 875 a side.
    data = thai_file(JAN_2026, [(world.member(0), 2_000_000), (world.member(1), 1_200_000),
                                (world.member(2), 165_000)])
    report = await world.run(data)
    assert report.status == "posted", report.errors
    assert (report.rows_total, report.rows_accepted, report.rows_rejected) == (3, 3, 0)
    assert report.contributions_booked == 3
    state = await world.worker_state()
    # Old age: employee 3% and employer 3% of the clamped wage, government 1%; all per worker.
    # Each side's 5% (and the state's 2.75%) is rounded to whole baht and old age takes the
    # rounding: the state's 481.25 -> 481 - 262.50 - 43.75 = 174.75 for the first worker; at the
    # floor 82.50 -> 83 - 24.75 - 8.25 = 50.00 a side and 45 - 24.75 - 4.13 = 16.12 for the state.
    assert [c[0] for c in state["contributions"]] == sorted(
        f"ctb:{w}:TH-SSO:s33-old-age:2026-01" for w in workers)
    first = next(c for c in state["contributions"] if workers[0] in c[0])
    assert first[1] == 1_750_000
    assert first[2] == '{"employee":"52500","employer":"52500","government":"17475"}'
    assert {(p[1], p[3]) for p in state["periods"]} == {("s33-old-age", "active")}
    assert state["period_changes"] == state["periods"]  # each period's creation, recorded
    # One member account per worker and scheme, one transfer per row (ADR 0026): from the
    # declarations account, which the file's payers fill with one transfer each.
    assert [t[0].rsplit("/", 1)[1] for t in state["transfers"]] == ["declared"] * 3
    member0 = [(k, c) for k, c, _ in state["balances"] if workers[0] in k]
    assert member0 == [(f"member/{workers[0]}/TH-SSO/s33-old-age/THB", 122_475)]
    legs = dict(await world.rows(
        "SELECT t.id, t.amount_minor FROM transfers t WHERE t.id LIKE :i",
        i=f"{report.import_id}/%"))
    old_age = {"employee": 52_500 + 36_000 + 5_000, "employer": 52_500 + 36_000 + 5_000,
               "government": 17_475 + 12_000 + 1_612}
    assert {k.rsplit("/", 1)[1]: v for k, v in legs.items()
            if k.count("/") == 1} == old_age
    declarations = await world.rows(
        "SELECT credits_posted - debits_posted FROM accounts WHERE key = :k",
        k="fund/TH-SSO/declarations/THB")
    assert declarations == [(0,)]
    # Sickness 1.5% a side + 1.5% state, unemployment 0.5 / 0.5 / 0.25: per file, pooled.
    sick = {p: int(a) for p, a in report.pooled_minor["s33-sickness"].items()}
    assert sick == {"employee": 26_250 + 18_000 + 2_475, "employer": 26_250 + 18_000 + 2_475,
                    "government": 26_250 + 18_000 + 2_475}
    assert int(report.pooled_minor["s33-unemployment"]["government"]) == 4_375 + 3_000 + 413


async def test_the_same_file_twice_is_its_original_report_and_changes_nothing(
    world: World,
) -> None:
    for n in range(2):
        await world.register(n)
    data = thai_file(JAN_2026, [(world.member(0), 1_500_000), (world.member(1), 1_000_000)])
    first = await world.run(data)
    before = await world.worker_state()
    pool = await world.rows("SELECT credits_posted FROM accounts WHERE key = :k",
                            k="fund/TH-SSO/pool/s33-sickness/THB")
    again = await world.run(data)
    assert again.replayed and again.status == first.status == "posted"
    assert again.import_id == first.import_id
    assert await world.worker_state() == before
    assert await world.rows("SELECT credits_posted FROM accounts WHERE key = :k",
                            k="fund/TH-SSO/pool/s33-sickness/THB") == pool


async def test_rows_already_booked_by_another_file_are_recognised_not_booked_twice(
    world: World,
) -> None:
    for n in range(3):
        await world.register(n)
    await world.run(thai_file(JAN_2026, [(world.member(0), 1_500_000),
                                         (world.member(1), 1_000_000)]))
    before = await world.worker_state()
    # A second file for the month repeats both rows and adds one worker.
    report = await world.run(thai_file(JAN_2026, [(world.member(0), 1_500_000),
                                                  (world.member(1), 1_000_000),
                                                  (world.member(2), 900_000)]))
    assert report.status == "posted"
    assert (report.rows_accepted, report.rows_already_booked) == (3, 2)
    assert report.contributions_booked == 1
    # Only the new worker's short-term shares are pooled: 1.5% of 9,000 THB = 135.00.
    assert report.pooled_minor["s33-sickness"]["employee"] == "13500"
    after = await world.worker_state()
    assert len(after["contributions"]) == len(before["contributions"]) + 1


async def test_a_changed_amount_for_a_month_already_declared_is_a_conflict(world: World) -> None:
    await world.register(0)
    await world.run(thai_file(JAN_2026, [(world.member(0), 1_500_000)]))
    before = await world.worker_state()
    report = await world.run(thai_file(JAN_2026, [(world.member(0), 1_400_000)]))
    assert report.status == "rejected"
    assert [(e["line"], e["field"]) for e in report.errors] == [(2, "wage")]
    assert "already recorded with other amounts" in report.errors[0]["reason"]
    assert await world.worker_state() == before


async def test_one_bad_row_posts_nothing_unless_partial_acceptance_is_asked(
    world: World,
) -> None:
    for n in range(2):
        await world.register(n)
    good = world.member(0)
    bad = good[:12] + str((int(good[12]) + 1) % 10)  # wrong check digit
    data = thai_file(JAN_2026, [(good, 1_000_000), (bad, 1_000_000)])
    report = await world.run(data)
    assert report.status == "rejected" and report.rows_rejected == 1
    assert report.errors == [{"line": 3, "field": "member_number",
                              "reason": report.errors[0]["reason"]}]
    assert "check digit" in report.errors[0]["reason"]
    assert (await world.worker_state())["contributions"] == []
    partial = await world.run(data, partial=True)
    assert partial.status == "partial"
    assert (partial.rows_accepted, partial.rows_rejected, partial.contributions_booked) == (1, 1, 1)


async def test_unknown_members_duplicates_and_wrong_amounts_are_row_errors(world: World) -> None:
    await world.register(0)
    await world.register(1)
    data = thai_file(JAN_2026, [(world.member(0), 1_000_000), (world.member(9), 1_000_000),
                                (world.member(1), 1_000_000), (world.member(0), 1_000_000)],
                     employee={2: 49_000})
    report = await world.run(data)
    assert report.status == "rejected"
    by_line = {e["line"]: e for e in report.errors}
    assert by_line[3]["field"] == "member_number" and "no worker is registered" in \
        by_line[3]["reason"]
    assert by_line[4]["field"] == "employee_contribution"
    assert "declared 490.00 THB, the TH-SSO rules give 500.00 THB" in by_line[4]["reason"]
    assert by_line[5]["field"] == "member_number" and "line 2" in by_line[5]["reason"]
    assert (await world.worker_state())["contributions"] == []


async def test_header_totals_that_do_not_add_up_reject_the_file_even_with_partial(
    world: World,
) -> None:
    await world.register(0)
    data = thai_file(JAN_2026, [(world.member(0), 1_000_000)], header_wages_delta=100)
    report = await world.run(data, partial=True)
    assert report.status == "rejected" and not report.header_reconciled
    assert report.errors[0]["line"] == 0 and report.errors[0]["field"] == "total_wages"
    assert (await world.worker_state())["contributions"] == []


async def test_months_before_the_schemes_existed_are_rejected(world: World) -> None:
    await world.register(0)
    # s33 sickness starts 1991-03 in the registry: January 1990 has no scheme at all.
    data = thai_file(Month(2026, 1), [(world.member(0), 1_000_000)])
    old = data.replace(b"0169", b"0133", 1)  # wage period MMYY in Buddhist era: 01/2533 = 1990
    report = await world.run(old)
    assert report.status == "rejected"
    assert report.errors[0]["field"] == "month" and "before any TH-SSO scheme" in \
        report.errors[0]["reason"]


async def test_a_utf8_file_is_called_out_not_decoded_to_mojibake(world: World) -> None:
    await world.register(0)
    data = thai_file(JAN_2026, [(world.member(0), 1_000_000)])
    utf8 = data.decode("tis_620").replace("Test Co", "บริษัท").encode("utf-8")
    report = await world.run(utf8)
    assert report.status == "rejected" and report.errors
    assert any("UTF-8" in e["reason"] or "TIS-620" in e["reason"] for e in report.errors)


async def test_a_month_posted_through_the_api_is_recognised_by_its_business_key(
    world: World,
) -> None:
    worker = await world.register(0)
    await _post_january_through_the_engine(world, worker)
    before = await world.worker_state()
    report = await world.run(thai_file(JAN_2026, [(world.member(0), 1_000_000)]))
    assert report.status == "posted" and report.contributions_booked == 0
    assert await world.worker_state() == before
    # ...but a different amount for that month is a conflict, naming the contribution.
    report = await world.run(thai_file(JAN_2026, [(world.member(0), 1_100_000)]))
    assert report.status == "rejected"
    assert f"ctb:{worker}:TH-SSO:s33-old-age:2026-01" in report.errors[0]["reason"]


async def test_a_short_term_branch_posted_per_worker_is_refused_not_pooled_twice(
    world: World,
) -> None:
    """Sickness for one worker's January came through the API (per worker); the file pools
    sickness per file, so booking the row would count that month twice. Both booking paths
    (PostgreSQL tries one statement first) refuse the row, naming the contribution."""
    workers = [await world.register(n) for n in range(3)]
    await _post_january_through_the_engine(world, workers[1], "s33-sickness")
    before = await world.worker_state()
    report = await world.run(thai_file(JAN_2026, [(world.member(n), 1_000_000)
                                                  for n in range(3)]))
    assert report.status == "rejected" and report.contributions_booked == 0
    assert [(e["line"], e["field"]) for e in report.errors] == [(3, "member_number")]
    assert f"ctb:{workers[1]}:TH-SSO:s33-sickness:2026-01" in report.errors[0]["reason"]
    assert await world.worker_state() == before


def test_thai_file_helper_round_trips() -> None:
    data = thai_file(JAN_2026, [(thai_id("ab"), 1_000_000)])
    items = list(sso.parse(iter(data.splitlines(keepends=True))))
    assert isinstance(items[0], DeclaredHeader) and isinstance(items[1], DeclaredRow)
    assert replace(items[1], extra={}).employee_minor == 50_000


async def test_checking_a_file_does_not_block_the_event_loop(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parsing and checking run in a worker thread: other requests keep being served. Each
    chunk's check is made to burn 0.6 s of CPU; on the event loop a tick would wait that long."""
    import time

    import ledger.services.import_chunks as import_chunks
    from ledger.adapters.declarations import DeclarationChecker

    real_check = DeclarationChecker.check

    def slow_check(self: DeclarationChecker, rows: Any) -> Any:
        until = time.perf_counter() + 0.6
        while time.perf_counter() < until:
            pass
        return real_check(self, rows)

    monkeypatch.setattr(import_chunks, "CHUNK_ROWS", 100)
    monkeypatch.setattr(DeclarationChecker, "check", slow_check)
    await world.register(0)
    data = thai_file(JAN_2026, [(world.member(0), 1_000_000)] + [
        (thai_id(f"{world.uid}{i:05x}"), 1_000_000) for i in range(1, 300)])
    report, gaps = await with_tick_gaps(world.run(data))
    assert report.rows_total == 300 and report.status == "rejected"  # 299 unknown members
    assert len(gaps) > 50 and max(gaps) < 0.3, max(gaps)


# -- chunk by chunk: each chunk is booked as soon as it is checked, in the one transaction ------

async def _pool_balance(world: World) -> list[Any]:
    return await world.rows("SELECT credits_posted FROM accounts WHERE key = :k",
                            k="fund/TH-SSO/pool/s33-sickness/THB")


async def test_chunks_are_booked_while_the_next_ones_are_still_being_read(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ledger.services.import_chunks as import_chunks
    from ledger.adapters.declarations import DeclarationChecker
    from ledger.db.import_store import ImportTx

    booked: list[int] = []
    seen_when_checked: list[int] = []
    real_book, real_check = ImportTx.book_chunk, DeclarationChecker.check
    real_at_once = ImportTx.book_chunk_at_once

    async def book_chunk(self: ImportTx, *args: Any) -> Any:
        booked.append(1)
        return await real_book(self, *args)

    async def book_chunk_at_once(self: ImportTx, *args: Any) -> Any:
        result = await real_at_once(self, *args)
        if result is not None:
            booked.append(1)
        return result

    def check(self: DeclarationChecker, rows: Any) -> Any:
        seen_when_checked.append(len(booked))
        return real_check(self, rows)

    monkeypatch.setattr(import_chunks, "CHUNK_ROWS", 2)
    monkeypatch.setattr(ImportTx, "book_chunk", book_chunk)
    monkeypatch.setattr(ImportTx, "book_chunk_at_once", book_chunk_at_once)
    monkeypatch.setattr(DeclarationChecker, "check", check)
    for n in range(6):
        await world.register(n)
    report = await world.run(thai_file(JAN_2026, [(world.member(n), 1_000_000 + n)
                                                  for n in range(6)]))
    assert report.status == "posted" and report.contributions_booked == 6
    assert len(booked) == 3
    # The third chunk is checked only after the first was booked (the thread reads one ahead).
    assert seen_when_checked[2] >= 1


async def test_a_bad_row_in_the_last_chunk_books_nothing_of_the_chunks_before(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ledger.services.import_chunks as import_chunks

    monkeypatch.setattr(import_chunks, "CHUNK_ROWS", 2)
    for n in range(5):
        await world.register(n)
    pool = await _pool_balance(world)
    # Line 6 (the last chunk) declares a member nobody registered.
    data = thai_file(JAN_2026, [(world.member(n), 1_000_000) for n in range(4)]
                     + [(world.member(9), 1_000_000)])
    report = await world.run(data)
    assert report.status == "rejected" and report.rows_rejected == 1
    assert [e["line"] for e in report.errors] == [6]
    state = await world.worker_state()
    assert state["contributions"] == state["transfers"] == state["periods"] == []
    assert state["period_changes"] == []
    assert state["balances"] == []
    assert await _pool_balance(world) == pool
    assert await world.rows("SELECT count(*) FROM declared_months WHERE import_id = :i",
                            i=report.import_id) == [(0,)]
    partial = await world.run(data, partial=True)
    assert partial.status == "partial" and partial.contributions_booked == 4
    assert len((await world.worker_state())["contributions"]) == 4


async def test_a_header_that_does_not_add_up_books_nothing_of_the_chunks_booked(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The header is reconciled after the last chunk: the chunks booked by then are undone,
    even with partial acceptance, and the report lists the file's errors only (the ledger's
    checks do not count for a file refused whole)."""
    import ledger.services.import_chunks as import_chunks

    monkeypatch.setattr(import_chunks, "CHUNK_ROWS", 2)
    for n in range(4):
        await world.register(n)
    pool = await _pool_balance(world)
    data = thai_file(JAN_2026, [(world.member(n), 1_000_000) for n in range(4)]
                     + [(world.member(9), 1_000_000)], header_wages_delta=100)
    report = await world.run(data, partial=True)
    assert report.status == "rejected" and not report.header_reconciled
    assert [(e["line"], e["field"]) for e in report.errors] == [(0, "total_wages")]
    assert report.rows_rejected == 0 and report.rows_already_booked == 0
    assert (await world.worker_state())["contributions"] == []
    assert await _pool_balance(world) == pool


async def test_a_row_repeated_in_a_later_chunk_is_a_duplicate_not_a_conflict(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Line 5 repeats line 2's worker and month with another wage. By the time line 5 is
    checked, line 2's chunk is booked: its contribution is this import's own, not one the
    ledger held, so line 5 is a duplicate only — as if the file had been checked whole."""
    import ledger.services.import_chunks as import_chunks

    monkeypatch.setattr(import_chunks, "CHUNK_ROWS", 2)
    workers = [await world.register(n) for n in range(3)]
    rows = [(world.member(0), 1_000_000), (world.member(1), 1_000_000),
            (world.member(2), 1_000_000), (world.member(0), 1_200_000)]
    report = await world.run(thai_file(JAN_2026, rows))
    assert report.status == "rejected"
    assert report.errors == [{"line": 5, "field": "member_number",
                              "reason": "the same worker and month are declared on line 2"}]
    partial = await world.run(thai_file(JAN_2026, rows), partial=True)
    assert (partial.status, partial.rows_accepted, partial.contributions_booked) == (
        "partial", 3, 3)
    assert [e["line"] for e in partial.errors] == [5]
    state = await world.worker_state()
    first = next(c for c in state["contributions"] if workers[0] in c[0])
    assert first[1] == 1_000_000  # line 2's wage, not line 5's


async def test_a_repeat_of_a_month_posted_by_api_still_names_the_conflict_across_chunks(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other side of the rule above: a contribution the ledger held before the import
    (posted through the API, same amounts as line 2) is still a conflict for line 5, which
    declares other amounts, even though line 2 was booked in an earlier chunk."""
    import ledger.services.import_chunks as import_chunks
    monkeypatch.setattr(import_chunks, "CHUNK_ROWS", 2)
    worker = await world.register(0)
    for n in (1, 2):
        await world.register(n)
    await _post_january_through_the_engine(world, worker)
    rows = [(world.member(0), 1_000_000), (world.member(1), 1_000_000),
            (world.member(2), 1_000_000), (world.member(0), 1_200_000)]
    report = await world.run(thai_file(JAN_2026, rows), partial=True)
    assert report.status == "partial" and report.contributions_booked == 2
    line5 = [e for e in report.errors if e["line"] == 5]
    assert [e["field"] for e in line5] == ["member_number", "wage"]
    assert f"ctb:{worker}:TH-SSO:s33-old-age:2026-01" in line5[1]["reason"]


def test_repeats_across_chunks_name_the_first_line_of_the_file() -> None:
    from ledger.services.import_chunks import SeenMonths

    seen = SeenMonths()
    key = {name: name.encode().ljust(36, b".") for name in "abcd"}
    assert seen.add([key["a"], key["b"], key["a"]], [2, 3, 4]) == [(4, 2)]
    assert seen.add([key["b"], key["c"], key["c"]], [5, 6, 7]) == [(5, 3), (7, 6)]
    assert seen.add([key["a"], key["b"]], [8, 9]) == [(8, 2), (9, 3)]  # nothing new kept
    assert seen.add([key["c"], key["d"], key["a"]], [10, 11, 12]) == [(10, 6), (12, 2)]
    assert seen.add([], []) == []


async def _post_january_through_the_engine(world: World, worker: str,
                                           scheme: str = "s33-old-age") -> None:
    """January 2026 at a 10,000 THB wage for `worker`, posted as the API posts it."""
    from ledger.domain.contributions import ContributionInput, plan_transfers, validate_contribution
    from ledger.services.group_commit import GroupCommitter
    from ledger.services.posting import Job, PostingEngine, Unit

    adapter = get_adapter("TH-SSO")
    quote = adapter.contribution(adapter.context_from_fields({}), scheme, JAN_2026,
                                 Money(1_000_000, Currency.THB))
    contribution = validate_contribution(ContributionInput(
        worker_id=worker, fund="TH-SSO", scheme=scheme, month="2026-01",
        wage_base=quote.wage_base, shares=[(p.value, m) for p, m in quote.shares]))
    committer = GroupCommitter(PostingEngine(world.db, ledger_transactions(world.db)))
    committer.start()
    try:
        await committer.submit(Job([Unit(plan_transfers(contribution), contribution)]))
    finally:
        await committer.stop()


def _booking_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record how each chunk is booked: "at once" (one statement), "rolled back" (that
    statement found a row that is not plain) or "careful" (a statement per check)."""
    from ledger.db.import_store import ImportTx

    paths: list[str] = []
    real_book, real_at_once = ImportTx.book_chunk, ImportTx.book_chunk_at_once

    async def book_chunk(self: ImportTx, *args: Any) -> Any:
        paths.append("careful")
        return await real_book(self, *args)

    async def book_chunk_at_once(self: ImportTx, *args: Any) -> Any:
        result = await real_at_once(self, *args)
        paths.append("at once" if result is not None else "rolled back")
        return result

    monkeypatch.setattr(ImportTx, "book_chunk", book_chunk)
    monkeypatch.setattr(ImportTx, "book_chunk_at_once", book_chunk_at_once)
    return paths


async def test_plain_chunks_are_booked_in_one_statement_and_the_others_checked_first(
    world: World, db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL books a chunk of registered, new rows in one statement; a chunk with one row
    that is not plain (here: declared by an earlier file) is rolled back to its savepoint and
    booked by the careful path, with the same result as on SQLite. After such a chunk the next
    one is checked first; one statement is tried again after a chunk the checks find plain."""
    import ledger.services.import_chunks as import_chunks

    paths = _booking_paths(monkeypatch)
    monkeypatch.setattr(import_chunks, "CHUNK_ROWS", 2)
    for n in range(8):
        await world.register(n)
    await world.run(thai_file(JAN_2026, [(world.member(2), 1_000_000)]))
    before = await world.worker_state()
    paths.clear()
    report = await world.run(thai_file(JAN_2026, [(world.member(n), 1_000_000)
                                                  for n in range(8)]))
    assert report.status == "posted"
    assert (report.contributions_booked, report.rows_already_booked) == (7, 1)
    if db.is_postgres:
        assert paths == ["at once", "rolled back", "careful", "careful", "at once"]
    else:
        assert paths == ["careful"] * 4
    after = await world.worker_state()
    assert len(after["contributions"]) == len(before["contributions"]) + 7
    assert len(after["transfers"]) == len(before["transfers"]) + 7
    balances = {k: c for k, c, _ in after["balances"]}
    assert set(balances.values()) == {70_000}  # 3% + 3% + 1% of 10,000.00 THB, once each


async def test_one_statement_raises_member_accounts_that_exist_and_opens_the_others(
    world: World, db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A chunk mixing workers who already have a member account (booked for an earlier month)
    with workers declared for the first time is plain: on PostgreSQL one statement raises the
    existing accounts and opens the missing ones, each credited with its own row only."""
    import ledger.services.import_chunks as import_chunks

    paths = _booking_paths(monkeypatch)
    monkeypatch.setattr(import_chunks, "CHUNK_ROWS", 4)
    workers = [await world.register(n) for n in range(4)]
    await world.run(thai_file(JAN_2026, [(world.member(n), 1_000_000) for n in (0, 1)]))
    paths.clear()
    report = await world.run(thai_file(Month(2026, 2), [(world.member(n), 1_000_000 + 100 * n)
                                                        for n in range(4)]))
    assert report.status == "posted" and report.contributions_booked == 4
    assert paths == (["at once"] if db.is_postgres else ["careful"])
    credited = await world.rows(
        "SELECT a.worker_id, a.credits_posted, count(t.id), sum(t.amount_minor) FROM accounts a "
        "JOIN transfers t ON t.credit_account_id = a.id WHERE a.worker_id LIKE :w "
        "GROUP BY a.id, a.worker_id, a.credits_posted ORDER BY a.worker_id", w=f"wkr_{world.uid}%")
    # One account each; January's and February's rows on the first two, February's only on
    # the others, and every balance the sum of its transfers.
    assert [(w, n) for w, _, n, _ in credited] == [(w, 2 - (k > 1)) for k, w in enumerate(workers)]
    assert all(balance == total for _, balance, _, total in credited)
    # 7% of 10,000 THB; for 10,002 each side's 5% rounds to whole baht (500.10 -> 500) and old
    # age takes the rest: 2 × (500 - 150.03 - 50.01) + (275 - 150.03 - 25.01) = 699.88.
    assert credited[0][1] == 2 * 70_000 and credited[2][1] == 69_988


@pytest.mark.postgres_only
async def test_a_member_registered_after_the_look_ahead_is_found_by_the_careful_path(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL looks a chunk's workers up on a second connection, outside the import's
    transaction and ahead of booking it. A member number registered after that lookup is
    not in it: the one statement rolls back and the careful path, which looks up again
    inside the transaction, books the row. The lookup ran on another backend."""
    from ledger.db.import_store import ImportTx, MemberLookup

    paths: list[str] = []
    backends: dict[str, set[int]] = {"lookup": set(), "import": set()}
    real_workers, real_at_once = MemberLookup.workers, ImportTx.book_chunk_at_once

    async def pid(conn: Any) -> int:
        raw = (await conn.get_raw_connection()).driver_connection
        return int(await raw.fetchval("SELECT pg_backend_pid()"))

    async def workers(self: MemberLookup, fund: str, rows: Any) -> bytes:
        found = await real_workers(self, fund, rows)
        backends["lookup"].add(await pid(self.conn))
        await world.register(1)  # registered between the lookup and the booking
        return found

    async def book_chunk_at_once(self: ImportTx, *args: Any) -> Any:
        backends["import"].add(await pid(self.conn))
        result = await real_at_once(self, *args)
        paths.append("at once" if result is not None else "rolled back")
        return result

    monkeypatch.setattr(MemberLookup, "workers", workers)
    monkeypatch.setattr(ImportTx, "book_chunk_at_once", book_chunk_at_once)
    await world.register(0)
    report = await world.run(thai_file(JAN_2026, [(world.member(n), 1_000_000)
                                                  for n in (0, 1)]))
    assert report.status == "posted" and report.contributions_booked == 2, report.errors
    assert paths == ["rolled back"]
    assert len(backends["lookup"]) == len(backends["import"]) == 1
    assert backends["lookup"] != backends["import"]


def copy_text_of(records: list[tuple[Any, ...]]) -> bytes:
    """Records in PostgreSQL's COPY text format, the plain way (the reference the import's own
    encoders are held to): tab-separated, a line each, text fields escaped."""
    escapes = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
    return "".join(["\t".join([v.translate(escapes) if isinstance(v, str) else str(v)
                                for v in r]) + "\n" for r in records]).encode()


def test_copy_text_escapes_what_postgres_would_read_as_a_separator() -> None:
    from ledger.services.import_chunks import _items_text

    assert copy_text_of([(2, "a\tb\\c\nd", -5)]) == b"2\ta\\tb\\\\c\\nd\t-5\n"
    assert copy_text_of([]) == b""
    columns = [[2], [100], [1], [2], [3], [0]]
    assert _items_text("a\tb\\c", False, columns) == "2\ta\\tb\\\\c\t0\t100\t\t1\t2\t3\t0\n"
    assert _items_text("s", True, columns) == (
        '2\ts\t1\t100\t{"employee":"1","employer":"2","government":"3"}\t1\t2\t3\t0\n')


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=[f"{f}-{p.name}" for f, p in SAMPLES])
def test_both_stores_stage_the_same_records_of_every_sample(fund: str, sample: Path) -> None:
    """PostgreSQL stages COPY text written straight from the checked columns, SQLite the
    records as tuples: the text must be exactly `copy_text_of` of the tuples (long-term items,
    then short-term), and the pooled sums those of the short-term tuples."""
    from ledger.adapters.declarations import DeclarationChecker
    from ledger.adapters.registry import codec
    from ledger.services.import_chunks import ChunkReader

    vault = PiiVault("staging-encodings", DEV_PII_ENCRYPTION_KEY)

    def first_chunk(copy_text: bool) -> Any:
        parsed = codec(fund).parse(iter(sample.read_bytes().splitlines(keepends=True)))
        header = next(parsed)
        assert isinstance(header, DeclaredHeader)
        adapter = get_adapter(fund)
        return ChunkReader(adapter, DeclarationChecker(adapter, header), parsed, vault,
                            copy_text=copy_text).next_chunk()

    as_text, as_tuples = first_chunk(True), first_chunk(False)
    long_term = [i for i in as_tuples.items if i[2]]
    short_term = [i for i in as_tuples.items if not i[2]]
    assert as_tuples.items and as_text.rows == as_tuples.rows
    assert as_text.copy_text == (copy_text_of(as_tuples.rows), copy_text_of(long_term),
                                 copy_text_of(short_term))
    pooled: dict[str, list[int]] = {}
    for item in short_term:
        pooled[item[1]] = [a + b for a, b in zip(pooled.get(item[1], [0] * 4), item[5:],
                                                  strict=True)]
    assert as_text.pooled == pooled


@pytest.mark.postgres_only
async def test_short_term_items_staged_after_a_fallback_are_in_the_planners_statistics(
    db: Database,
) -> None:
    """The one-statement path stages long-term items only; when it falls back, the short-term
    items are added and the chunk tables analysed again. With statistics that say no item is
    short-term, the careful path's pooled sums were planned as a nested loop over the chunk
    (minutes for a chunk of 20,000 rows at a million-row file's second chunk)."""
    from sqlalchemy import text as sql

    from ledger.db.import_store import import_transaction

    rows = [(line, "ab" * 32, 202601, "2026-01") for line in range(2, 202)]
    long_term = [(line, "s33-old-age", 1, 1_000_000, "{}", 30_000, 30_000, 10_000, 0)
                 for line in range(2, 202)]
    short_term = [(line, scheme, 0, 1_000_000, "", 1, 1, 1, 0) for line in range(2, 202)
                  for scheme in ("s33-sickness", "s33-unemployment")]
    copy_text = (copy_text_of(rows), copy_text_of(long_term), copy_text_of(short_term))

    async def short_term_fraction(store: Any) -> float:
        found = (await store.conn.execute(sql(
            "SELECT most_common_vals::text::int[], most_common_freqs FROM pg_stats "
            "WHERE tablename = 'chunk_items' AND attname = 'long_term'"))).one()
        return float(dict(zip(found[0], found[1], strict=True)).get(0, 0.0))

    async with import_transaction(db) as (store, tx):
        await store.create_staging()
        await store.stage(rows, [], copy_text, short_term=False)
        assert await short_term_fraction(store) == 0.0
        await store.stage_short_term(copy_text)
        assert await short_term_fraction(store) == pytest.approx(2 / 3)
        await tx.rollback()
