"""Contributions over a horizon: the adapters' own amounts, computed once per parameter epoch.

Owns `Stream` (one fund scheme priced for one kind of worker), `epochs` (the runs of consecutive
months over which the adapter's `plan` for that scheme is the same) and `PriceCache`, which holds
`contribution_arrays` results by (stream, epoch). Within an epoch a worker's wage and the plan do
not change, so every month of it costs exactly what its first month costs: the engine multiplies
by the months a worker is covered in the epoch instead of pricing 360 identical months. The plan
is compared as a value (base, shares, rounding, quantum), so a new ceiling, rate, grade table or
premium starts a new epoch by itself; no list of change dates is kept here.
`tests/simulator/test_contributions.py` checks the result against the adapter month by month.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ledger.adapters.arith import IntArray
from ledger.adapters.base import FundAdapter, Plan
from ledger.adapters.context import EMPTY, WorkerContext
from ledger.adapters.registry import get_adapter
from ledger.domain.errors import DomainError
from ledger.domain.funds import FUNDS, Payer
from ledger.domain.periods import Month


@dataclass(frozen=True, slots=True)
class Stream:
    fund: str
    scheme: str
    context: WorkerContext = EMPTY
    opened: bool = False  # a scheme no product operates, opened by the run's agreement


@dataclass(frozen=True, slots=True)
class Epoch:
    first: int  # month index (from the run's start), inclusive
    stop: int  # exclusive
    plan: Plan | None  # None: the scheme is not in force (no contribution is due)


def plan_at(adapter: FundAdapter, stream: Stream, month: Month) -> Plan | None:
    try:
        FUNDS[stream.fund].scheme(stream.scheme).check_in_force(month, opened=stream.opened)
    except DomainError:
        return None
    return adapter.plan(stream.scheme, month, stream.context)


def epochs(stream: Stream, start: Month, horizon: int) -> tuple[Epoch, ...]:
    """Maximal runs of months with an equal plan, covering [0, horizon)."""
    adapter = get_adapter(stream.fund)
    out: list[Epoch] = []
    first, current = 0, plan_at(adapter, stream, start)
    for i in range(1, horizon):
        plan = plan_at(adapter, stream, start.plus(i))
        if plan != current:
            out.append(Epoch(first, i, current))
            first, current = i, plan
    out.append(Epoch(first, horizon, current))
    return tuple(out)


@dataclass(slots=True)
class PriceCache:
    """Per-worker shares by payer for each (stream, epoch), priced by the adapter once."""

    start: Month
    horizon: int
    _epochs: dict[Stream, tuple[Epoch, ...]] = field(default_factory=dict)
    _prices: dict[tuple[Stream, int, int], Mapping[Payer, IntArray]] = field(default_factory=dict)

    def epochs(self, stream: Stream) -> tuple[Epoch, ...]:
        found = self._epochs.get(stream)
        if found is None:
            found = self._epochs[stream] = epochs(stream, self.start, self.horizon)
        return found

    def shares(self, stream: Stream, epoch: Epoch, key: int, wages: IntArray
               ) -> Mapping[Payer, IntArray]:
        """`contribution_arrays` at the epoch's first month for the `wages` identified by `key`
        (the caller's name for that wage array, e.g. the id of a population slice)."""
        cache_key = (stream, epoch.first, key)
        found = self._prices.get(cache_key)
        if found is None:
            if epoch.plan is None:
                found = {}
            else:
                adapter = get_adapter(stream.fund)
                found = adapter.contribution_arrays(
                    stream.scheme, self.start.plus(epoch.first), wages, context=stream.context,
                    opened=stream.opened)
            self._prices[cache_key] = found
        return found


def overlap(first: IntArray, stop: IntArray, epoch: Epoch) -> IntArray:
    """Months of [first, stop) inside the epoch, per worker (0 when disjoint)."""
    lo = np.maximum(first, epoch.first)
    hi = np.minimum(stop, epoch.stop)
    out: IntArray = np.maximum(hi - lo, 0)
    return out


def month_index_sum(first: IntArray, stop: IntArray, epoch: Epoch) -> IntArray:
    """Σ m over the months m of [first, stop) inside the epoch (for simple interest by month)."""
    lo = np.maximum(first, epoch.first)
    hi = np.maximum(np.minimum(stop, epoch.stop), lo)
    out: IntArray = (lo + hi - 1) * (hi - lo) // 2
    return out
