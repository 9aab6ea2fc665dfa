"""The engine: one policy over one population, month by month, deterministic by seed.

Owns `simulate`. Order of work:
1. coverage intervals under the policy (certificates, the Vietnamese 22% regime, s39 from home);
2. contributions for the whole horizon with the adapters' amounts, priced once per parameter
   epoch and multiplied by each worker's months in it (`paying.accumulate`); the result is what
   pricing every month would give, since within an epoch nothing that sets an amount changes;
3. the monthly loop: each month settles the workers whose covered work (or s39) ends then,
   through the policy's exit routes (`exits.py`), and books transfers, claims and messages;
4. pension rights by totalisation at the end of the horizon (`rights.py`).
No month-by-month history is stored: per-worker sums (`state.Balances`) are all the exit rules
need. `progress(done, total)` is called once per simulated month.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ledger.adapters.arith import IntArray
from ledger.settlement.agreement import TransferRule
from simulator.contributions import PriceCache
from simulator.exits import Context, HostState, route_of, settle
from simulator.paying import Coverage, accumulate, agreement_from, coverage
from simulator.policy import Run
from simulator.population import Population
from simulator.rights import months, rights
from simulator.state import Balances, Totals, WorkerOutcome, zeros

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, eq=False)
class Outcome:
    run: Run
    pop: Population
    coverage: Coverage
    balances: Balances
    totals: Totals
    worker: WorkerOutcome
    host_state: IntArray  # exits.HostState per worker: where the destination periods ended up


def simulate(run: Run, pop: Population, cache: PriceCache | None = None,
             progress: Progress | None = None) -> Outcome:
    h = pop.horizon
    cache = cache or PriceCache(pop.start, h)
    bal = Balances.empty(pop.size)
    totals = Totals(h)
    totals.messages_monthly = zeros(h)
    cov = coverage(run, pop)
    accumulate(run, pop, cov, cache, bal, totals)
    start = agreement_from(run, pop)
    worker = WorkerOutcome(zeros(pop.size), bal.employee + bal.voluntary, cov.settle < h)
    ctx = Context(run, pop, cov, bal, totals, worker, zeros(pop.size),
                  _keeps(run, pop, cov, bal), start)
    order = np.argsort(cov.settle, kind="stable")
    bounds = np.searchsorted(cov.settle[order], np.arange(h + 1), side="left")
    for month in range(h):
        idx = order[bounds[month]:bounds[month + 1]]
        if idx.size:
            settle(ctx, idx, month)
        if progress is not None:
            progress(month + 1, h)
    _agreement_messages(run, pop, cov, totals, start)
    _rights(run, pop, cov, bal, ctx.host_state, totals)
    return Outcome(run, pop, cov, bal, totals, worker, ctx.host_state)


def _keeps(run: Run, pop: Population, cov: Coverage, bal: Balances) -> np.ndarray:
    """Under keep_and_totalise (Japan's EPI, or Thai old age where the policy takes that
    route), whether keeping the destination periods gives a right by the end of the horizon
    (the hub can tell the worker before a lump sum would erase them)."""
    kept = [route_of(run, fund, scheme) or portable.transfer_rule
            for fund, scheme in (("JP-JPS", "epi"), ("TH-SSO", "s33-old-age"))
            if (portable := run.agreement.portable_scheme(fund, scheme)) is not None]
    if TransferRule.KEEP_AND_TOTALISE not in kept:
        return np.zeros(pop.size, dtype=bool)
    counted = np.ones(pop.size, dtype=bool)
    m = months(run.agreement, pop, cov, bal, counted, np.zeros(pop.size, dtype=bool))
    out: np.ndarray = rights(run.agreement, pop, m).host
    return out


def _agreement_messages(run: Run, pop: Population, cov: Coverage, totals: Totals,
                        start: int) -> None:
    s = run.scenario
    certified = pop.arrival[cov.certificate]
    np.add.at(totals.messages_monthly, certified[certified < pop.horizon],
              s.messages.per_certificate.value)
    if start < pop.horizon:
        per_window = s.messages.per_window_and_fund.value * len(run.agreement.member_funds)
        totals.messages_monthly[start:] += per_window


def _rights(run: Run, pop: Population, cov: Coverage, bal: Balances, state: np.ndarray,
            totals: Totals) -> None:
    left = cov.settle < pop.horizon
    counted = (state == HostState.ACTIVE) | (state == HostState.TRANSFERRED)
    m = months(run.agreement, pop, cov, bal, counted, state == HostState.TRANSFERRED)
    r = rights(run.agreement, pop, m)
    anyone = (r.host | r.home) & left
    totals.pension_rights = int(anyone.sum())
    totals.through_totalisation = int((r.through_totalisation & left).sum())
    for index, name in enumerate(pop.corridors):
        rows = (pop.corridor == index) & left
        totals.rights_by_fund[pop.fund_of(index)] += int((r.host & rows).sum())
        home = {"KH": "KH-NSSF", "VN": "VN-VSS"}.get(name.split("-")[0])
        if home is not None:
            totals.rights_by_fund[home] += int((r.home & rows).sum())
