"""The monitoring tables of a simulator run, on the ledger's axes (ledger/stats/tables.py).

"What a policy would change" beside "what is": the same measures, origins, funds and months as a
ledger release, from a run's coverage intervals and its contributions per corridor and month
(`Totals.contributions_by_corridor`). Simulated people are not people: the tables are exact.

What a run fills (the `simulator` column of docs/monitoring.md):
- `workers_covered`, `months_compulsory`: months paid at the destination fund's long-term
  scheme (the ledger books short-term branches to a file's pool, to no worker: a Malaysian
  employment-injury month is in neither table), and the Vietnamese 22% abroad regime at VN-VSS;
- `months_voluntary`: s39 paid from home (TH-SSO) and the home voluntary scheme paid from abroad
  (at the home fund, where `channel_payers` counts the same workers: a digital channel is how
  the scenario has them pay);
- `contributions_<payer>`: the shares of every long-term stream (the schemes the ledger keeps
  per worker), by the month they are for;
- `certificate_months_avoided`: a certificate holder's months from arrival to the first month
  paid at the destination (the posting months spared from paying twice).
Forfeited value and agents' fees are totals per run (report.html), not per month: not here.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ledger.adapters.arith import IntArray
from ledger.domain.funds import FUNDS
from ledger.domain.periods import Month
from ledger.stats.package import MONITORING_FIELDS
from ledger.stats.tables import MEASURES, Grid, Row, TableBuilder
from simulator.engine import Outcome
from simulator.paying import HOME_VOLUNTARY, LONG_TERM


def _interval_counts(corridor: IntArray, first: IntArray, stop: IntArray, n_corridors: int,
                     horizon: int) -> IntArray:
    """[corridor, month]: how many rows have first <= month < stop."""
    diff = np.zeros((n_corridors, horizon + 1), dtype=np.int64)
    live = stop > first
    np.add.at(diff, (corridor[live], np.clip(first[live], 0, horizon)), 1)
    np.add.at(diff, (corridor[live], np.clip(stop[live], 0, horizon)), -1)
    return np.cumsum(diff, axis=1)[:, :horizon]


def grid_of(outcome: Outcome, months: Sequence[Month] | None = None) -> Grid:
    pop = outcome.pop
    origins = sorted({pop.origin_of(i) for i in range(len(pop.corridors))})
    funds = sorted({pop.fund_of(i) for i in range(len(pop.corridors))}
                   | {HOME_VOLUNTARY[o][0] for o in origins if o in HOME_VOLUNTARY}
                   | ({"VN-VSS"} if "VN" in origins else set()))
    chosen = months or [pop.start.plus(i) for i in range(pop.horizon)]
    return Grid.of(chosen, origins, [f for f in funds if f in FUNDS])


def tables(outcome: Outcome, months: Sequence[Month] | None = None) -> TableBuilder:
    """The run's monitoring tables over `months` (default: the whole horizon)."""
    pop, cov, totals = outcome.pop, outcome.coverage, outcome.totals
    h, n = pop.horizon, len(pop.corridors)
    builder = TableBuilder(grid_of(outcome, months), MEASURES)
    wanted = set(builder.grid.months)
    index = [(k, pop.start.plus(k).to_int()) for k in range(h)
             if pop.start.plus(k).to_int() in wanted]

    def put(name: str, table: IntArray, fund_of: list[str], currency_of: list[str]) -> None:
        for c in range(n):
            for k, month in index:
                if table[c, k]:
                    builder.add_total(name, pop.origin_of(c), fund_of[c], month,
                                      int(table[c, k]), currency_of[c])

    host = [pop.fund_of(c) for c in range(n)]
    home = [HOME_VOLUNTARY.get(pop.origin_of(c), ("", ""))[0] for c in range(n)]
    none = [""] * n
    # the ledger keeps periods and contributions per worker for long-term schemes only; a short-
    # term branch (Thai sickness and unemployment, Malaysian employment injury) is booked to the
    # file's branch pool: a destination with no long-term stream has no worker in the tables
    per_worker = np.asarray([pop.fund_of(c) in LONG_TERM for c in range(n)])
    counts = _interval_counts(pop.corridor, cov.host_first,
                              np.where(per_worker[pop.corridor], cov.host_stop, cov.host_first),
                              n, h)
    s39 = _interval_counts(pop.corridor, cov.digital_first, cov.digital_stop, n, h)
    home_paid = _interval_counts(pop.corridor, cov.home_first, cov.home_stop, n, h)
    abroad_stop = np.where(cov.abroad, cov.host_stop, pop.arrival)
    abroad = _interval_counts(pop.corridor, pop.arrival, abroad_stop, n, h)
    certified_stop = np.where(cov.certificate, cov.host_first, pop.arrival)
    certified = _interval_counts(pop.corridor, pop.arrival, certified_stop, n, h)
    vn = ["VN-VSS"] * n
    put("workers_covered", counts + s39, host, none)  # s39 follows the cover: disjoint
    put("months_compulsory", counts, host, none)
    put("months_voluntary", s39, host, none)
    put("workers_covered", home_paid, home, none)  # never abroad too: exclusive in coverage
    put("workers_covered", abroad, vn, none)
    put("months_voluntary", home_paid, home, none)
    put("channel_payers", home_paid, home, none)
    put("months_compulsory", abroad, vn, none)
    put("certificate_months_avoided", certified, host, none)
    for (fund, scheme, payer), diff in totals.contributions_by_corridor.items():
        if not FUNDS[fund].scheme(scheme).long_term:
            continue  # a pooled branch: the ledger books it per file, to no worker (below)
        monthly = np.cumsum(diff, axis=1)[:, :h]
        currency = FUNDS[fund].currency.value
        put(f"contributions_{payer}", monthly, [fund] * n, [currency] * n)
    return builder


def rows(outcome: Outcome, months: Sequence[Month] | None = None) -> list[Row]:
    builder = tables(outcome, months)
    return [r for m in builder.measures if m.simulator is not None
            for r in builder.rows(m.name, builder.exact(m.name))]


def write_csv(path: Path, by_policy: Sequence[tuple[str, list[Row]]]) -> Path:
    """`monitoring.csv`: the ledger release's columns (ledger/stats/package.py), with the policy
    first and no margin (exact)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["policy", *(field["name"] for field in MONITORING_FIELDS)])
        for policy, found in by_policy:
            w.writerows([policy, r.origin, r.fund, f"{r.month // 100:04d}-{r.month % 100:02d}",
                         r.measure, r.currency, r.value, "", ""] for r in found)
    return path
