"""Contributions priced once per epoch equal the adapter's scalar quote, month by month."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from ledger.adapters.context import WorkerContext
from ledger.adapters.registry import get_adapter
from ledger.domain.funds import Payer
from ledger.domain.money import Money
from ledger.domain.periods import Month
from simulator.contributions import Stream, epochs
from simulator.engine import Outcome, simulate
from simulator.paying import (
    EPI,
    MY_STREAMS,
    S39,
    TH_STREAMS,
    VN_ABROAD,
    home_income_minor,
    home_streams,
)
from simulator.population import draw
from tests.simulator.conftest import even_run


def test_epochs_follow_the_dated_parameters() -> None:
    # The Thai ceiling rises in 2029-01 and 2032-01 (parameters.yaml): three epochs from 2027.
    th = epochs(Stream("TH-SSO", "s33-old-age"), Month(2027, 1), 120)
    assert [(e.first, e.stop) for e in th] == [(0, 24), (24, 60), (60, 120)]
    # Cambodia's pension starts 2022-10: before it, no plan (nothing is due).
    kh = epochs(Stream("KH-NSSF", "pension"), Month(2022, 1), 24)
    assert kh[0].plan is None and (kh[0].first, kh[0].stop) == (0, 9)
    # Its rate steps up after 5 years of the scheme (October 2027).
    kh = epochs(Stream("KH-NSSF", "pension"), Month(2027, 1), 12)
    assert [(e.first, e.stop) for e in kh] == [(0, 9), (9, 12)]


def _brute_force(outcome: Outcome) -> tuple[dict[tuple[str, str, str], int],
                                            dict[str, np.ndarray], np.ndarray]:
    """Price every covered month with the scalar adapter path."""
    pop, cov = outcome.pop, outcome.coverage
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    monthly = {f: np.zeros(pop.horizon, dtype=np.int64)
               for f in ("TH-SSO", "JP-JPS", "VN-VSS", "MY-SOCSO", "KH-NSSF", "LA-LSSO",
                         "MM-SSB")}
    homes = home_streams(outcome.run)
    employee = np.zeros(pop.size, dtype=np.int64)
    for i in range(pop.size):
        fund = pop.fund_of(int(pop.corridor[i]))
        host = {"TH-SSO": TH_STREAMS, "JP-JPS": (EPI,), "MY-SOCSO": MY_STREAMS}[fund]
        plan: list[tuple[Stream, int, int]] = [(s, int(cov.host_first[i]), int(cov.host_stop[i]))
                                               for s in host]
        if fund == "TH-SSO":
            plan.append((S39, int(cov.digital_first[i]), int(cov.digital_stop[i])))
        if cov.abroad[i]:
            plan.append((VN_ABROAD, int(pop.arrival[i]), int(cov.host_stop[i])))
        origin = pop.origin_of(int(pop.corridor[i]))
        if origin in homes:  # the home voluntary scheme paid from abroad, on a declared income
            plan.append((homes[origin], int(cov.home_first[i]), int(cov.home_stop[i])))
        for stream, first, stop in plan:
            adapter = get_adapter(stream.fund)
            wage = Money(int(pop.wage_minor[i]), get_adapter(fund).currency)
            if stream is VN_ABROAD:
                wage = Money(0, adapter.currency)  # the abroad base ignores the declared wage
            elif stream in homes.values():
                wage = Money(home_income_minor(outcome.run, origin), adapter.currency)
            for m in range(first, stop):
                quote = adapter.contribution(stream.context or WorkerContext(), stream.scheme,
                                             pop.start.plus(m), wage, opened=stream.opened)
                for payer, amount in quote.shares_minor().items():
                    totals[(stream.fund, stream.scheme, payer.value)] += amount
                    monthly[stream.fund][m] += amount
                    if payer is Payer.EMPLOYEE and stream.scheme in ("s33-old-age", "epi"):
                        employee[i] += amount
    return dict(totals), monthly, employee


@pytest.mark.parametrize("policy", ["no-agreement", "clmtv-pilot+digital-voluntary"])
def test_engine_contributions_equal_the_scalar_adapter(policy: str) -> None:
    run = even_run(policy, claims__transfer__delay_months={"value": 0, "source": "t",
                                                            "verified": False})
    pop = draw(run.scenario, 60, 9, seed=3)
    outcome = simulate(run, pop)
    want, monthly, employee = _brute_force(outcome)
    got = {k: v for k, v in outcome.totals.contributions.items() if v}
    assert got == {k: v for k, v in want.items() if v}
    for fund, series in monthly.items():
        engine = np.cumsum(outcome.totals.contributions_monthly.get(
            fund, np.zeros(pop.horizon + 1, dtype=np.int64)))[: pop.horizon]
        assert engine.tolist() == series.tolist(), fund
    assert outcome.balances.employee.tolist() == employee.tolist()
    # The population exercises every path this test is about.
    assert {"TH-SSO", "JP-JPS", "VN-VSS", "MY-SOCSO"} <= {k[0] for k in got}
    if policy != "no-agreement":
        assert outcome.coverage.certificate.any()
        assert ("TH-SSO", "s39-voluntary", "voluntary") in got
