"""The traffic a simulated population sends the ledger in one month, as per-second rates.

Owns `month_counts` (from a simulator `Outcome`: how many of each action a month holds — employer
and fund declaration files, Japanese contribution batches, voluntary payments, statement reads,
signed messages, the settlement window) and `MonthShape` (those counts spread over the days and
hours of the month by the `Assumptions` below, as real per-second rates; `loadtests/shapes.py`
plays them back with the calendar compressed into minutes).

The counts are the simulator's; how they fall over a month is not in any source, so every profile
here is an assumption, named and adjustable:

- declaration files: rows of a fund's month grouped `employer_size` to a file; due by the 15th of
  the following month (funds.md §1.4 Thai SSO, §1.7 SOCSO), so most arrive in the five days
  before the deadline, some at month end;
- voluntary payments (the simulator's payers of a home fund's scheme from abroad, through their
  destination's channel, `payers.py`) and statement reads: workers pay and look after payday
  (the 15th and the last day, a Thai pay cycle assumed), in the evening;
- Japanese EPI batches at the end of the month (the premium is due by the end of the next);
- signed messages spread evenly over the days, in office hours;
- each channel sends the day file of the day before at the end of each day; one settlement
  window closes at the end of the month.

Rates are floats (requests per second), never money.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ledger.domain.periods import Month

# The actions a load test sends, in the order reports list them. `loadtests/` uses the same names.
KINDS = ("voluntary_payment", "declaration_upload", "fund_batch", "statement_read",
         "fund_message", "window_close", "day_file")
HOURS = 24
# What the Locust users send at a rate; window closes and day files are events.
EVENT_KINDS = ("window_close", "day_file")
SENT_KINDS = ("voluntary_payment", "statement_read", "declaration_upload", "fund_batch",
              "fund_message")
# The month's voluntary payments again, gathered by each channel's server and sent as batches
# (`loadtests/gathering.py`): no traffic of its own, so sent only when named (`--kinds`, `--mix`).
BATCH_KIND = "channel_batch"
RUN_KINDS = (*KINDS, BATCH_KIND)  # what `clmtv loadtest run --kinds` may name
MIX_KINDS = (*SENT_KINDS, BATCH_KIND)  # what `--mix` may name


def payment_mix(mix: Mapping[str, float], kinds: Sequence[str]) -> dict[str, float]:
    """A mix for the kinds sent: the voluntary payments' share goes to the batching kind when it
    is sent, split evenly with single payments when both are (as `loadtests/plans.py` does)."""
    out = dict(mix)
    sending = [k for k in ("voluntary_payment", BATCH_KIND) if k in kinds]
    if BATCH_KIND in sending and BATCH_KIND not in mix:
        share = float(out.pop("voluntary_payment", 0.0))
        for kind in sending:
            out[kind] = share / len(sending)
    return out

# Share of a day's traffic in each hour (local time), before normalising. Assumptions.
EVENING = (1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 4, 5, 4, 3, 3, 3, 4, 6, 8, 9, 8, 5, 2)
OFFICE = (0, 0, 0, 0, 0, 0, 0, 1, 4, 8, 9, 9, 6, 8, 9, 8, 6, 3, 1, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Assumptions:
    """How the simulator's monthly counts become requests, and how they fall over a month.
    None of these is sourced: each is a stated assumption (docs/capacity.md lists them)."""

    employer_size: int = 20  # declaration rows per employer file
    jp_batch_size: int = 100  # Japanese EPI contributions per batch request
    payments_per_payer_month: int = 1  # the simulator's premium is monthly
    statement_reads_per_worker_month: float = 0.5
    paydays: tuple[int, ...] = (15, 31)  # 31 = the last day of any month
    payday_share: float = 0.5  # of a month's payments and reads: on a payday or the day after
    deadline_day: int = 15  # funds.md §1.4, §1.7: contributions due by the 15th
    deadline_share: float = 0.6  # of a month's files: in the five days up to the deadline
    month_end_share: float = 0.15  # of a month's files: on the last two days
    messages_per_flow: int = 3  # request and approval by the host fund, ack by the home fund

    def check(self) -> None:
        for name in ("employer_size", "jp_batch_size", "payments_per_payer_month",
                     "messages_per_flow"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("payday_share", "deadline_share", "month_end_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a share between 0 and 1")
        if self.deadline_share + self.month_end_share > 1:
            raise ValueError("deadline_share + month_end_share must not exceed 1")
        if self.statement_reads_per_worker_month < 0:
            raise ValueError("statement_reads_per_worker_month must not be negative")


@dataclass(frozen=True, slots=True)
class MonthCounts:
    """What one simulated month holds: actions by kind, and the rows behind the files."""

    month: Month
    workers: int  # the simulated population (--workers)
    active: int  # paying a destination fund or a voluntary premium this month
    actions: dict[str, int]
    rows: dict[str, int]  # fund -> declaration rows (files) or contributions (batches)


def month_counts(outcome: Any, index: int, assumptions: Assumptions = Assumptions(),
                 payers: int | None = None) -> MonthCounts:
    """The actions of month `index` of a simulator `Outcome` (`simulator.engine.Outcome`).
    `payers`: workers paying through a channel this month (default: `payers.channel_payers`
    over the hub's channel registry)."""
    if payers is None:
        from ledger.app.loadtest.payers import channel_payers, default_routes

        payers = len(channel_payers(outcome, index, default_routes()))
    pop, cov = outcome.pop, outcome.coverage
    if not 0 <= index < pop.horizon:
        raise ValueError(f"month index {index} is outside the horizon 0..{pop.horizon - 1}")
    paying = (cov.host_first <= index) & (index < cov.host_stop)
    voluntary = (cov.digital_first <= index) & (index < cov.digital_stop)  # s39 from home
    abroad = cov.abroad & (pop.arrival <= index) & (index < cov.host_stop)
    rows = {fund: int(paying[rows].sum()) for fund, rows in pop.slices.items()}
    rows["VN-VSS"] = int(abroad.sum())  # the 22% abroad regime's D02 list
    a = assumptions
    files = sum(math.ceil(n / a.employer_size) for f, n in rows.items() if f != "JP-JPS")
    active = int((paying | voluntary).sum())
    actions = {
        # Through a payment channel into a home fund's scheme (s39 paid from home after leaving
        # has no channel: it is counted in `active`, not here).
        "voluntary_payment": payers * a.payments_per_payer_month,
        "declaration_upload": files,
        "fund_batch": math.ceil(rows.get("JP-JPS", 0) / a.jp_batch_size),
        "statement_read": round(active * a.statement_reads_per_worker_month),
        "fund_message": int(outcome.totals.messages_monthly[index]),
        "window_close": 1,
        "day_file": calendar.monthrange(pop.start.plus(index).year,
                                        pop.start.plus(index).month)[1],  # one a day
    }
    return MonthCounts(pop.start.plus(index), pop.size, active, actions, rows)


def busiest_month(outcome: Any) -> int:
    """The month index with the most active workers (the last one on a tie)."""
    pop, cov = outcome.pop, outcome.coverage
    months = np.arange(pop.horizon)
    active = np.zeros(pop.horizon, dtype=np.int64)
    for first, stop in ((cov.host_first, cov.host_stop), (cov.digital_first, cov.digital_stop)):
        np.add.at(active, np.clip(first, 0, pop.horizon)[first < stop], 1)
        ends = np.clip(stop, 0, pop.horizon)[first < stop]
        np.add.at(active, ends[ends < pop.horizon], -1)
    running = np.cumsum(active)
    return int(months[len(running) - 1 - int(np.argmax(running[::-1]))])


def _hour_shares(weights: Sequence[int]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights]


def _day_shares(days: int, spikes: Mapping[int, float], spike_share: float) -> list[float]:
    """The rest spread evenly; `spike_share` split over the spike days by weight."""
    even = (1 - spike_share) / days if spikes else 1 / days
    weight = sum(spikes.values())
    return [even + (spike_share * spikes.get(d, 0) / weight if spikes else 0)
            for d in range(1, days + 1)]


def day_profiles(days: int, a: Assumptions) -> dict[str, list[float]]:
    """Share of the month's actions of each kind on each day (each list sums to 1)."""
    paydays = sorted({min(d, days) for d in a.paydays})
    after: dict[int, float] = {}
    for d in paydays:
        after[d] = after.get(d, 0) + 1.0
        following = d + 1 if d < days else 1  # the day after the last is next month's 1st
        after[following] = after.get(following, 0) + 1.0
    deadline = min(a.deadline_day, days)
    files = dict.fromkeys(range(max(1, deadline - 4), deadline + 1), a.deadline_share / 5)
    for d in (days - 1, days):
        files[d] = files.get(d, 0) + a.month_end_share / 2
    mobile = _day_shares(days, after, a.payday_share)
    return {
        "voluntary_payment": mobile,
        "statement_read": mobile,
        "declaration_upload": _day_shares(days, files, a.deadline_share + a.month_end_share),
        "fund_batch": _day_shares(days, {days - 2: 1, days - 1: 1, days: 1}, 1.0),
        "fund_message": _day_shares(days, {}, 0.0),
        "window_close": _day_shares(days, {days: 1}, 1.0),
        "day_file": _day_shares(days, {}, 0.0),
    }


HOUR_PROFILES = {
    "voluntary_payment": _hour_shares(EVENING), "statement_read": _hour_shares(EVENING),
    "declaration_upload": _hour_shares(OFFICE), "fund_batch": _hour_shares(OFFICE),
    "fund_message": _hour_shares(OFFICE),
    "window_close": [0.0] * (HOURS - 1) + [1.0],  # at the close of the day
    "day_file": [0.0] * (HOURS - 1) + [1.0],
}


@dataclass(frozen=True, slots=True)
class MonthShape:
    """Real per-second rates of each kind, by day of the month and hour of the day."""

    counts: MonthCounts
    days: int
    rates: dict[str, list[list[float]]]  # kind -> [day][hour] -> requests per second
    assumptions: Assumptions = field(default_factory=Assumptions)

    def total(self, day: int, hour: int) -> float:
        return sum(self.rates[k][day][hour] for k in KINDS if k not in EVENT_KINDS)

    def peak(self) -> tuple[int, int]:
        """(day index, hour) of the busiest hour of the month."""
        best = max(((d, h) for d in range(self.days) for h in range(HOURS)),
                   key=lambda dh: self.total(*dh))
        return best

    def peak_mix(self) -> dict[str, float]:
        """Each kind's share of the requests in the busiest hour (the stepped ramp's mix)."""
        d, h = self.peak()
        total = self.total(d, h) or 1.0
        return {k: self.rates[k][d][h] / total for k in KINDS if k not in EVENT_KINDS}

    def daily_peaks(self) -> list[dict[str, float]]:
        """Per day: the busiest hour's rate of each kind and in total; for the event kinds
        (window closes, day files), how many fall on the day (for the docs' table)."""
        out = []
        for d in range(self.days):
            row = {k: (sum(self.rates[k][d]) * 3600 if k in EVENT_KINDS
                       else max(self.rates[k][d])) for k in KINDS}
            row["total"] = max(self.total(d, h) for h in range(HOURS))
            out.append(row)
        return out

    def to_json(self) -> dict[str, Any]:
        d, h = self.peak()
        c = self.counts
        return {
            "version": 1, "month": str(c.month), "days": self.days, "hours": HOURS,
            "population": {"workers": c.workers, "active": c.active},
            "monthly": dict(c.actions), "rows": dict(c.rows),
            "rates": self.rates,
            "peak": {"day": d + 1, "hour": h, "total": self.total(d, h),
                     "mix": self.peak_mix()},
            "assumptions": {k: getattr(self.assumptions, k)
                            for k in self.assumptions.__dataclass_fields__},
        }


def month_shape(counts: MonthCounts, assumptions: Assumptions = Assumptions()) -> MonthShape:
    """Spread a month's counts over its days and hours: kind -> [day][hour] -> per second."""
    assumptions.check()
    days = calendar.monthrange(counts.month.year, counts.month.month)[1]
    profiles = day_profiles(days, assumptions)
    rates = {kind: [[counts.actions[kind] * profiles[kind][d] * HOUR_PROFILES[kind][h] / 3600
                     for h in range(HOURS)] for d in range(days)] for kind in KINDS}
    return MonthShape(counts, days, rates, assumptions)
