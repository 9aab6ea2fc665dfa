"""The simulator's monitoring tables: the ledger's measures, from a run, adding up to its totals."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ledger.domain.funds import FUNDS
from ledger.domain.periods import Month
from simulator import monitoring
from simulator.engine import simulate
from simulator.paying import LONG_TERM
from simulator.policy import load_run
from simulator.population import draw


@pytest.fixture(scope="module")
def outcome():  # type: ignore[no-untyped-def]
    run = load_run("default", "clmtv-pilot")
    return simulate(run, draw(run.scenario, 3_000, 3, 7))


def test_contributions_by_corridor_and_month_add_up_to_the_run_totals(outcome) -> None:  # type: ignore[no-untyped-def]
    by_payer: Counter[tuple[str, str]] = Counter()
    for row in monitoring.rows(outcome):
        if row.measure.startswith("contributions_"):
            by_payer[(row.fund, row.measure.removeprefix("contributions_"))] += row.value
    expected: Counter[tuple[str, str]] = Counter()
    for (fund, scheme, payer), amount in outcome.totals.contributions.items():
        if FUNDS[fund].scheme(scheme).long_term:  # what the ledger keeps per worker
            expected[(fund, payer)] += amount
    assert {k: v for k, v in by_payer.items() if v} == {k: v for k, v in expected.items() if v}


def test_compulsory_months_are_the_covered_months_at_the_destination(outcome) -> None:  # type: ignore[no-untyped-def]
    rows = monitoring.rows(outcome)
    pop, cov = outcome.pop, outcome.coverage
    host = {pop.fund_of(i) for i in range(len(pop.corridors))} - {"VN-VSS"}
    months = sum(r.value for r in rows if r.measure == "months_compulsory" and r.fund in host)
    per_worker = np.asarray([pop.fund_of(int(c)) in LONG_TERM for c in pop.corridor])
    assert months == int(((cov.host_stop - cov.host_first).clip(min=0) * per_worker).sum())
    assert not [r for r in rows if r.fund == "MY-SOCSO" and r.value]  # a pooled branch only
    certified = sum(r.value for r in rows if r.measure == "certificate_months_avoided")
    assert certified == int(((cov.host_first - pop.arrival) * cov.certificate).sum())


def test_a_chosen_quarter_has_the_ledger_releases_axes(outcome, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    start = outcome.pop.start
    quarter = [start.plus(12), start.plus(13), start.plus(14)]
    rows = monitoring.rows(outcome, quarter)
    assert {r.month for r in rows} == {m.to_int() for m in quarter}
    assert all(isinstance(m, Month) for m in quarter)
    path = monitoring.write_csv(tmp_path / "monitoring.csv", [("clmtv-pilot", rows)])
    header = path.read_text().splitlines()[0]
    assert header == "policy,origin,fund,month,measure,currency,value,margin_95,flag"
