"""What the engine keeps per worker and per run instead of a month-by-month history.

Owns `Balances` (per-worker sums at the destination fund: old-age shares by payer, Σ share ×
month index for the Thai investment return, Σ standard remuneration for the Japanese average,
months, s39 months, Vietnamese abroad months; the home voluntary scheme paid from abroad) and
`Totals` (everything the metrics read:
contributions by fund, scheme and payer; monthly series; recovered value by kind and month;
forfeited value; fees; settlement; messages). Amounts are int64 minor units of the currency named
beside them; totals are Python ints (no overflow).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ledger.adapters.arith import IntArray
from simulator.population import BoolArray

KINDS = ("refund", "tax_refund", "transfer", "pension_right")


def zeros(n: int) -> IntArray:
    return np.zeros(n, dtype=np.int64)


@dataclass(slots=True, eq=False)
class Balances:
    """Per worker, at the destination fund (and the Vietnamese abroad regime at home)."""

    employee: IntArray  # old-age (TH s33-old-age) or EPI employee shares
    employer: IntArray
    government: IntArray
    employee_m: IntArray  # Σ share × month index (TH investment return)
    employer_m: IntArray
    standard_sum: IntArray  # JP: Σ standard monthly remuneration
    months: IntArray  # host months paid (old-age / EPI)
    voluntary: IntArray  # TH s39 paid from home
    voluntary_months: IntArray
    abroad_months: IntArray  # VN 22% abroad regime months paid
    double_months: IntArray  # months paid both at home (VN 22%) and at the destination
    home_voluntary: IntArray  # the worker's own payments into the home voluntary scheme (home ccy)
    home_voluntary_months: IntArray

    @classmethod
    def empty(cls, n: int) -> Balances:
        return cls(*(zeros(n) for _ in range(13)))


@dataclass(slots=True, eq=False)
class Totals:
    horizon: int
    contributions: defaultdict[tuple[str, str, str], int] = field(
        default_factory=lambda: defaultdict(int))  # (fund, scheme, payer) -> minor
    contributions_monthly: dict[str, IntArray] = field(default_factory=dict)  # fund -> minor
    # (fund, scheme, payer) -> [corridor, month] minor units, as differences: a cumsum along the
    # months gives each month's contributions (the monitoring tables, simulator/monitoring.py)
    contributions_by_corridor: dict[tuple[str, str, str], IntArray] = field(
        default_factory=dict)
    recovered: defaultdict[tuple[str, str], int] = field(
        default_factory=lambda: defaultdict(int))  # (kind, currency) -> minor
    # (kind, currency) -> minor by month of payment; the last slot is "after the horizon".
    recovered_monthly: dict[tuple[str, str], IntArray] = field(default_factory=dict)
    forfeited: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))  # fund
    agent_fees: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))  # ccy
    tax_unclaimed: int = 0  # JPY of the LSWP's refundable withholding never reclaimed
    tax_due: int = 0  # JPY of the withholding really due as retirement-income tax: kept
    double_value: int = 0  # VND paid at home for months also paid at the destination
    periods_lost_months: int = 0
    workers_lost: int = 0
    transfers: int = 0
    claims_via_hub: int = 0
    certificates: int = 0
    # (payer fund, payee fund, source currency) -> minor by month of the transfer
    settlement_monthly: dict[tuple[str, str, str], IntArray] = field(default_factory=dict)
    messages_monthly: IntArray = field(default_factory=lambda: zeros(0))
    pension_rights: int = 0
    through_totalisation: int = 0
    rights_by_fund: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def series(self, table: dict[tuple[str, str], IntArray], key: tuple[str, str],
               length: int) -> IntArray:
        found = table.get(key)
        if found is None:
            found = table[key] = zeros(length)
        return found

    def add_recovered(self, kind: str, currency: str, month: IntArray, amount: IntArray) -> None:
        """Record payments to workers; a month at or past the horizon lands in the last slot."""
        if amount.size == 0:
            return
        self.recovered[(kind, currency)] += int(amount.sum())
        slot = np.minimum(month, self.horizon)
        np.add.at(self.series(self.recovered_monthly, (kind, currency), self.horizon + 1),
                  slot, amount)


@dataclass(slots=True, eq=False)
class WorkerOutcome:
    """Per worker, for the distributions: what came back vs what the worker paid."""

    recovered: IntArray  # destination currency: net of fees, incl. tax refund and transfers
    own: IntArray  # the worker's own long-term contributions at the destination
    settled: BoolArray  # left covered work within the horizon (has an outcome)
