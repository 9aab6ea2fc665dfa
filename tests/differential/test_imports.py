"""The one-statement booking of a plain chunk (PostgreSQL, ADR 0027) against the careful path,
on random declaration files.

Each example registers some of six workers, posts some of their months through the engine as
the API does (the same amounts as a file will declare, other amounts, under another
contribution id so that the period is held, or a short-term branch per worker), and imports one
to three Thai SSO files in chunks of one to four rows: rows for unregistered members, the same
worker twice, a wrong employee share, a header whose totals do not add up, with or without
partial acceptance, and files declaring a month again. The same example runs three times on a
fresh database: on PostgreSQL with the one statement (`ImportService(one_statement=True)`, the
default), on PostgreSQL without it, and on SQLite (which has only the careful path). Every
report and every row of the three databases must be the same; and a file the careful path
finds plain (every row new and booked) must have been booked by the one statement in every
chunk.

PostgreSQL only: on SQLite there is no second path to compare. `HYPOTHESIS_PROFILE=soak` runs
many more examples (docs/testing.md).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import ledger.services.import_chunks as import_chunks
from ledger.adapters.registry import get_adapter
from ledger.config import DEV_PII_ENCRYPTION_KEY, DEV_PII_HMAC_KEY
from ledger.db.engine import Database
from ledger.db.import_store import ImportTx
from ledger.db.stores import ledger_transactions
from ledger.domain.contributions import ContributionInput, plan_transfers, validate_contribution
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.domain.pii import PiiVault
from ledger.services.group_commit import GroupCommitter
from ledger.services.imports import ImportService
from ledger.services.posting import Job, PostingEngine, Unit
from tests.api.helpers import thai_id
from tests.db.helpers import make_worker
from tests.db.test_imports import SSO, thai_file
from tests.differential.support import (
    FreshDatabases,
    differential_settings,
    first_difference,
    fresh,
    ledger_state,
    scratch_databases,
)

pytestmark = [pytest.mark.anyio, pytest.mark.postgres_only]
__all__ = ["fresh", "scratch_databases"]

MEMBERS = 6
MONTHS = (Month(2026, 1), Month(2026, 2))
# Booked through the engine before the files, for a row's worker and month: the row's own
# amounts (recognised, not booked again), other amounts (a conflict), the same scheme under
# another contribution id (the period is held), a short-term branch per worker (refused).
PRIOR_KINDS = ("same", "other", "held", "short_term")


@dataclass(frozen=True)
class Row:
    member: int
    wage: int
    wrong_share: bool  # the employee share declared off by 1.00 THB: a row error


@dataclass(frozen=True)
class File:
    month: int
    rows: tuple[Row, ...]
    header_off: bool  # the header's total wages off by 1.00 THB: the whole file refused
    partial: bool


@dataclass(frozen=True)
class Prior:
    file: int
    row: int
    kind: str


@dataclass(frozen=True)
class Scenario:
    registered: frozenset[int]
    priors: tuple[Prior, ...]
    files: tuple[File, ...]
    chunk_rows: int


def _rows() -> st.SearchStrategy[tuple[Row, ...]]:
    row = st.builds(Row, st.integers(0, MEMBERS - 1), st.integers(100_000, 3_000_000),
                    st.sampled_from((False,) * 9 + (True,)))
    return st.lists(row, min_size=1, max_size=8).map(tuple)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    # Mostly registered workers, rows mostly right: plain chunks are the common case.
    unregistered = draw(st.sets(st.integers(0, MEMBERS - 1), max_size=2)
                        if draw(st.integers(0, 2)) == 0 else st.just(set()))
    files = draw(st.lists(st.builds(
        File, st.integers(0, len(MONTHS) - 1), _rows(), st.sampled_from((False,) * 7 + (True,)),
        st.booleans()), min_size=1, max_size=3))
    prior = st.builds(Prior, st.integers(0, len(files) - 1), st.integers(0, 7),
                      st.sampled_from(PRIOR_KINDS))
    priors = draw(st.lists(prior, max_size=2) if draw(st.integers(0, 2)) == 0 else st.just([]))
    return Scenario(frozenset(range(MEMBERS)) - unregistered,
                    tuple(p for p in priors if p.row < len(files[p.file].rows)),
                    tuple(files), draw(st.integers(1, 4)))


def _member(n: int) -> str:
    return thai_id(f"d1ff{n:04x}")


def _worker(n: int) -> str:
    return f"wkr_d1ff{n:04x}"


def _data(file: File) -> bytes:
    adapter = get_adapter("TH-SSO")
    wrong = {}
    for i, row in enumerate(file.rows):
        if row.wrong_share:
            quotes = adapter.declaration(adapter.context_from_fields({}), MONTHS[file.month],
                                         Money(row.wage, Currency.THB))
            wrong[i] = sum(q.share(Payer.EMPLOYEE).amount_minor for q in quotes) + 100
    return thai_file(MONTHS[file.month], [(_member(r.member), r.wage) for r in file.rows],
                     employee=wrong, header_wages_delta=100 if file.header_off else 0)


async def _post_prior(db: Database, scenario: Scenario, prior: Prior) -> str | None:
    """Book what `prior` says through the engine (as `POST /v1/contributions` does); the
    error code if the engine refused it, for the comparison."""
    file = scenario.files[prior.file]
    row = file.rows[prior.row]
    if row.member not in scenario.registered:
        return "not registered"
    month = MONTHS[file.month]
    scheme = "s33-sickness" if prior.kind == "short_term" else "s33-old-age"
    adapter = get_adapter("TH-SSO")
    wage = row.wage + (100 if prior.kind == "other" else 0)
    quote = adapter.contribution(adapter.context_from_fields({}), scheme, month,
                                 Money(wage, Currency.THB))
    contribution = validate_contribution(ContributionInput(
        worker_id=_worker(row.member), fund="TH-SSO", scheme=scheme, month=str(month),
        wage_base=quote.wage_base, shares=[(p.value, m) for p, m in quote.shares],
        id=f"second-employer-{row.member}-{file.month}" if prior.kind == "held" else None))
    committer = GroupCommitter(PostingEngine(db, ledger_transactions(db)))
    committer.start()
    try:
        result = (await committer.submit(Job([Unit(plan_transfers(contribution),
                                                    contribution)])))[0]
    finally:
        await committer.stop()
    return None if result.error is None else result.error.code.value


@dataclass
class Observed:
    priors: list[str | None] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    paths: list[list[str]] = field(default_factory=list)  # per file, how each chunk was booked
    state: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


async def _run(fresh: FreshDatabases, store: str, scenario: Scenario,
               one_statement: bool) -> Observed:
    observed = Observed()
    real_book, real_at_once = ImportTx.book_chunk, ImportTx.book_chunk_at_once

    async def book_chunk(self: ImportTx, *args: Any) -> Any:
        observed.paths[-1].append("careful")
        return await real_book(self, *args)

    async def book_chunk_at_once(self: ImportTx, *args: Any) -> Any:
        result = await real_at_once(self, *args)
        observed.paths[-1].append("at once" if result is not None else "rolled back")
        return result

    async with fresh.database(store) as db:
        vault = PiiVault(DEV_PII_HMAC_KEY, DEV_PII_ENCRYPTION_KEY)
        for n in sorted(scenario.registered):
            await make_worker(db, _worker(n).removeprefix("wkr_"), "TH-SSO",
                              vault.lookup_hash("TH-SSO", _member(n)))
        observed.priors = [await _post_prior(db, scenario, p) for p in scenario.priors]
        service = ImportService(db, vault, one_statement=one_statement)
        with (mock.patch.object(import_chunks, "CHUNK_ROWS", scenario.chunk_rows),
              mock.patch.object(ImportTx, "book_chunk", book_chunk),
              mock.patch.object(ImportTx, "book_chunk_at_once", book_chunk_at_once)):
            for file in scenario.files:
                observed.paths.append([])
                report = await service.import_file(SSO, "TH-SSO", io.BytesIO(_data(file)),
                                                   partial=file.partial)
                observed.reports.append(report.to_dict())
        observed.state = await ledger_state(db)
    return observed


@given(scenario=scenarios())
@differential_settings(default=8, soak=200)
async def test_one_statement_books_what_the_careful_path_books(
    fresh: FreshDatabases, scenario: Scenario,
) -> None:
    at_once = await _run(fresh, "postgres", scenario, one_statement=True)
    careful = await _run(fresh, "postgres", scenario, one_statement=False)
    sqlite = await _run(fresh, "sqlite", scenario, one_statement=False)

    assert all("at once" not in p and "rolled back" not in p
               for p in careful.paths + sqlite.paths), "the switch must keep to the careful path"
    for report, paths in zip(careful.reports, at_once.paths, strict=True):
        # Plain: every row new and booked (a Thai row books one contribution, its old age).
        plain = (report["status"] == "posted" and not report["errors"]
                 and not report["replayed"] and not report["rows_already_booked"]
                 and report["contributions_booked"] == report["rows_total"])
        if plain:
            assert paths and set(paths) == {"at once"}, (report, paths)
        for path in set(paths):
            event(f"chunk booked: {path}")
    assert at_once.priors == careful.priors == sqlite.priors
    assert at_once.reports == careful.reports, "one statement vs careful on PostgreSQL"
    assert careful.reports == sqlite.reports, "PostgreSQL vs SQLite"
    for other, name in ((careful, "careful path on PostgreSQL"), (sqlite, "SQLite")):
        difference = first_difference(at_once.state, other.state)
        assert difference is None, f"one statement vs {name}: {difference}"
