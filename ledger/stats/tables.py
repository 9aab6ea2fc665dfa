"""The monitoring tables: every measure defined once, for the ledger and the simulator alike.

A *cell* is (origin, fund, month, measure, currency). The origin is the worker's nationality
(ISO 3166-1 alpha-2; a nationality no fund's country names is counted as `OTHER_ORIGIN`); the
fund is the fund the record belongs to (the destination fund for compulsory cover, the home fund
for a voluntary payment made from abroad through a channel); the month is the calendar month the
measure names (the contribution month, the month a payment or flow happened). Counts have no
currency; money is integer minor units of the currency in the cell, never converted.

A *fact* is one worker's part of one cell. The builder keeps facts per worker and cell, so that
`privacy` can bound what one worker adds before anything is summed; the exact table is the plain
sum. The set of cells (the grid) is public: every origin, every fund, every month of the period,
and for money the currencies the measure can be in. A release lists every cell of the grid, zero
or not, so the presence of a row never tells that someone exists.

Measures the ledger does not record are declared here all the same (`ledger` is None and
`ledger_gap` says why), so that a release and docs/monitoring.md say what they cannot tell
instead of showing a zero. The simulator fills the measures whose `simulator` says how.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from ledger.domain.funds import FUNDS
from ledger.domain.money import Currency
from ledger.domain.periods import Month

OTHER_ORIGIN = "XX"  # a nationality that is no fund's country: counted together, never named
IntArray = NDArray[np.int64]


class Unit(StrEnum):
    WORKERS = "workers"
    WORKER_MONTHS = "worker-months"
    PAYMENTS = "payments"
    FLOWS = "flows"
    DAYS = "days"
    MINOR = "minor units"


class CurrencyOf(StrEnum):
    """Which currency a money measure's cells are in."""

    NONE = "none"  # a count
    FUND = "fund"  # the fund's own currency
    WALLET = "wallet"  # the currency the worker paid a channel in (any the hub books)


# The most one worker's month of contributions by one payer is taken to be, per currency
# (at or above each fund's largest monthly share at its ceiling, docs/reference/funds.md). A cell
# value above its cap is clamped before noise is added (a known bias, published: the caps are in
# every release); a larger cap would widen every cell's noise for the sake of a few records.
MONTH_CAP_MINOR: dict[str, int] = {
    "THB": 100_000,  # 1,000 THB: s33 is 5% of at most 17,500 THB
    "JPY": 65_000,  # EPI: 9.15% of the top standard remuneration, 650,000 JPY
    "VND": 5_000_000,
    "KHR": 5_000_000,  # 50,000 KHR (exponent 2)
    "LAK": 50_000_000,  # 500,000 LAK
    "MMK": 2_000_000,  # 20,000 MMK
    "MYR": 20_000,  # 200 MYR
    "USD": 10_000,  # 100 USD
}


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    unit: Unit
    definition: str
    month: str  # which month a fact is filed under
    ledger: str | None  # how the ledger knows it; None: it does not
    simulator: str | None  # how a simulator run knows it; None: it does not
    ledger_gap: str = ""  # why the ledger cannot tell (when `ledger` is None)
    currency: CurrencyOf = CurrencyOf.NONE
    cap: int = 1  # counts: the most one worker adds to one cell
    cap_months: int = 1  # money: the cap is this many MONTH_CAP_MINOR of the cell's currency
    cells_max: int = 6  # the most cells of this measure one worker counts in, per release

    def cap_for(self, currency: str) -> int:
        """The most one worker adds to one cell of this measure in `currency`."""
        if self.currency is CurrencyOf.NONE:
            return self.cap
        return MONTH_CAP_MINOR[currency] * self.cap_months


def _count(name: str, unit: Unit, definition: str, month: str, ledger: str | None,
           simulator: str | None, gap: str = "", cap: int = 1) -> Measure:
    return Measure(name, unit, definition, month, ledger, simulator, gap, cap=cap)


def _money(name: str, definition: str, month: str, ledger: str | None, simulator: str | None,
           gap: str = "", currency: CurrencyOf = CurrencyOf.FUND, cap_months: int = 1) -> Measure:
    return Measure(name, Unit.MINOR, definition, month, ledger, simulator, gap, currency,
                   cap_months=cap_months)


_NO_DEPARTURES = ("the ledger records no departures and no claim deadlines: money at risk is "
                  "only known once a claim is filed")
_NO_CERTIFICATES = ("certificates of coverage are decided by `settlement/coverage.py` but not "
                    "stored in the ledger")

MEASURES: tuple[Measure, ...] = (
    _count("workers_covered", Unit.WORKERS,
           "workers with at least one insurance period at the fund in the month",
           "the period's month", "insurance_periods (any kind, any state)",
           "destination cover [host_first, host_stop), s39 and home voluntary months"),
    _count("months_compulsory", Unit.WORKER_MONTHS,
           "worker-months with at least one compulsory insurance period",
           "the period's month", "insurance_periods of kind compulsory",
           "destination cover [host_first, host_stop)"),
    _count("months_voluntary", Unit.WORKER_MONTHS,
           "worker-months with at least one voluntary insurance period",
           "the period's month", "insurance_periods of kind voluntary",
           "s39 from home and the home voluntary scheme paid from abroad"),
    *(_money(f"contributions_{payer}", f"contributions paid by the {payer}",
             "the contribution month", f"contributions.shares['{payer}']",
             f"the adapters' {payer} shares priced per parameter epoch")
      for payer in ("employee", "employer", "government", "voluntary")),
    _count("channel_payers", Unit.WORKERS,
           "workers who paid a voluntary contribution through a payment channel",
           "the month of payment", "channel_payments (the worker, the scheme's fund)",
           "workers paying the home voluntary scheme from abroad"),
    _count("channel_payments", Unit.PAYMENTS, "payments through a payment channel",
           "the month of payment", "channel_payments", None,
           "", cap=3),
    _money("channel_contributions", "what channel payments credited to the fund",
           "the month of payment", "channel_payments.contribution_minor", None),
    _money("channel_fees", "fees workers paid to channels, in the wallet's currency",
           "the month of payment", "channel_payments.fee_minor", None,
           currency=CurrencyOf.WALLET),
    _count("transfers_posted", Unit.FLOWS,
           "portable balances moved to the home fund (posted transfers)",
           "the month the flow was posted", "portability_transfers flow=transfer, posted",
           None, cap=2),
    _money("transfers_posted_amount", "what the posted transfers moved, at the host fund",
           "the month the flow was posted", "portability_transfers.source_minor", None,
           cap_months=60),
    _count("refunds_paid", Unit.FLOWS, "lump sums and tax refunds paid (posted)",
           "the month the flow was posted",
           "portability_transfers flow in (lump_sum, tax_refund), posted", None, cap=2),
    _money("refunds_paid_amount", "what the posted lump sums and tax refunds paid",
           "the month the flow was posted", "portability_transfers.source_minor", None,
           cap_months=60),
    _count("claim_to_payment_days", Unit.DAYS,
           "days from the claim (the flow's request) to its posting, summed over posted flows: "
           "divide by transfers_posted + refunds_paid for the mean",
           "the month the flow was posted", "portability_transfers created_at -> updated_at",
           None, cap=730),
    _count("claims_pending", Unit.FLOWS,
           "flows requested, receivable or pending at the ledger position",
           "the month the claim was filed", "portability_transfers in an open state", None,
           cap=2),
    _money("claims_pending_amount",
           "money reserved for pending flows (approved, awaiting the home fund); a requested "
           "flow has no amount until the host fund approves it",
           "the month the claim was filed", "portability_transfers.source_minor, state pending",
           None, cap_months=60),
    _money("deadline_90_days_amount",
           "money whose claim deadline falls in the 90 days after the ledger position",
           "the deadline's month", None, None, _NO_DEPARTURES),
    _money("forfeited_amount", "contributions that stay with a fund because no one claimed",
           "the month of departure", None, None,
           "forfeiture follows a departure without a claim, which the ledger does not see"),
    _count("certificate_months_avoided", Unit.WORKER_MONTHS,
           "months a certificate of coverage spared a worker from paying at two funds",
           "the month exempted", None,
           "certificate holders' months [arrival, host_first)", _NO_CERTIFICATES),
    _money("agent_fees", "fees paid to recruitment or claim agents",
           "the month of the claim", None, None,
           "claims through agents are paid outside the hub; the ledger knows only channel fees",
           currency=CurrencyOf.WALLET),
)
MEASURE_BY_NAME = {m.name: m for m in MEASURES}
LEDGER_MEASURES = tuple(m for m in MEASURES if m.ledger is not None)


def origins() -> tuple[str, ...]:
    """The public set of origins: every fund's country, then OTHER_ORIGIN."""
    return (*sorted({f.country for f in FUNDS.values()}), OTHER_ORIGIN)


def origin_of(nationality: str, known: frozenset[str] | None = None) -> str:
    countries = known if known is not None else frozenset(f.country for f in FUNDS.values())
    return nationality if nationality in countries else OTHER_ORIGIN


@dataclass(frozen=True, slots=True)
class Grid:
    """The public key set of a table: nothing in it comes from the data."""

    months: tuple[int, ...]  # YYYYMM
    origins: tuple[str, ...]
    funds: tuple[str, ...]

    @classmethod
    def of(cls, months: Iterable[Month], origins_: Sequence[str] | None = None,
           funds: Sequence[str] | None = None) -> Grid:
        return cls(tuple(m.to_int() for m in months),
                   tuple(origins_) if origins_ is not None else origins(),
                   tuple(funds) if funds is not None else tuple(sorted(FUNDS)))

    def currencies(self, measure: Measure, fund: str) -> tuple[str, ...]:
        if measure.currency is CurrencyOf.NONE:
            return ("",)
        if measure.currency is CurrencyOf.FUND:
            return (FUNDS[fund].currency.value,)
        return tuple(c.value for c in Currency)

    def cells(self, measure: Measure) -> list[tuple[str, str, int, str]]:
        """Every (origin, fund, month, currency) of the measure, in a fixed order."""
        return [(o, f, m, c) for o in self.origins for f in self.funds for m in self.months
                for c in self.currencies(measure, f)]


@dataclass(slots=True)
class _Facts:
    workers: list[int] = field(default_factory=list)
    cells: list[int] = field(default_factory=list)
    values: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FactArrays:
    """One measure's facts: parallel arrays, one entry per (worker, cell)."""

    workers: IntArray
    cells: IntArray
    values: IntArray


@dataclass(frozen=True, slots=True)
class Row:
    origin: str
    fund: str
    month: int
    measure: str
    currency: str
    value: int


class TableBuilder:
    """Collects facts on a grid: `add` one worker's part of one cell (several calls for the same
    worker and cell add up). Facts outside the grid (another month, an unknown fund) are counted
    in `outside` and left out: the grid is the release's promise of what it covers."""

    def __init__(self, grid: Grid, measures: Sequence[Measure] = LEDGER_MEASURES) -> None:
        self.grid = grid
        self.measures = tuple(measures)
        self._index = {m.name: {cell: i for i, cell in enumerate(grid.cells(m))}
                       for m in self.measures}
        self._facts = {m.name: _Facts() for m in self.measures}
        self._workers: dict[str, int] = {}
        self._totals: dict[str, IntArray] = {}  # cell totals with no worker behind them
        self._countries = frozenset(grid.origins)
        self.outside = 0

    def add(self, measure: str, worker: str, nationality: str, fund: str, month: int,
            value: int, currency: str = "") -> None:
        origin = nationality if nationality in self._countries else OTHER_ORIGIN
        index = self._index[measure].get((origin, fund, month, currency))
        if index is None:
            self.outside += 1
            return
        facts = self._facts[measure]
        facts.workers.append(self._workers.setdefault(worker, len(self._workers)))
        facts.cells.append(index)
        facts.values.append(value)

    def add_total(self, measure: str, nationality: str, fund: str, month: int, value: int,
                  currency: str = "") -> None:
        """A cell's total with no worker behind it (a simulated population's sums): exact
        tables only; a builder holding totals cannot be made private (`facts` refuses)."""
        origin = nationality if nationality in self._countries else OTHER_ORIGIN
        index = self._index[measure].get((origin, fund, month, currency))
        if index is None:
            self.outside += 1
            return
        totals = self._totals.setdefault(measure, np.zeros(len(self._index[measure]),
                                                           dtype=np.int64))
        totals[index] += value

    def cell_index(self, measure: str, origin: str, fund: str, month: int,
                   currency: str = "") -> int | None:
        return self._index[measure].get((origin, fund, month, currency))

    def facts(self, measure: str) -> FactArrays:
        """The facts of one measure, one entry per (worker, cell): repeated adds summed."""
        if self._totals:
            raise ValueError("this table holds totals with no worker behind them: the privacy "
                             "bound is per worker, so it cannot be computed")
        raw = self._facts[measure]
        workers = np.asarray(raw.workers, dtype=np.int64)
        cells = np.asarray(raw.cells, dtype=np.int64)
        values = np.asarray(raw.values, dtype=np.int64)
        if workers.size == 0:
            return FactArrays(workers, cells, values)
        order = np.lexsort((cells, workers))
        workers, cells, values = workers[order], cells[order], values[order]
        start = np.ones(workers.size, dtype=bool)
        start[1:] = (workers[1:] != workers[:-1]) | (cells[1:] != cells[:-1])
        groups = np.flatnonzero(start)
        return FactArrays(workers[groups], cells[groups], np.add.reduceat(values, groups))

    def exact(self, measure: str) -> IntArray:
        """The exact table of one measure: per cell, the sum of every fact."""
        raw = self._facts[measure]
        out = np.zeros(len(self._index[measure]), dtype=np.int64)
        np.add.at(out, np.asarray(raw.cells, dtype=np.int64),
                  np.asarray(raw.values, dtype=np.int64))
        if measure in self._totals:
            out += self._totals[measure]
        return out

    def rows(self, measure: str, values: IntArray) -> list[Row]:
        m = MEASURE_BY_NAME[measure]
        return [Row(o, f, month, measure, c, int(v))
                for (o, f, month, c), v in zip(self.grid.cells(m), values, strict=True)]

    def exact_rows(self) -> list[Row]:
        return [row for m in self.measures for row in self.rows(m.name, self.exact(m.name))]

    @property
    def workers_seen(self) -> int:
        return len(self._workers)
