"""Home-fund voluntary schemes paid from abroad (clmtv-pilot+digital-voluntary): the simulator's
arrays pay exactly what the adapters' front door (`ledger/adapters/voluntary.py`) prices for each
worker and month, a scheme no product operates is paid only when the agreement opens it, and
Vietnamese workers in the 22% abroad regime do not also pay voluntary SI."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from decimal import Decimal

import pytest

from ledger.adapters.registry import get_adapter
from ledger.adapters.voluntary import VoluntaryPayer, quote_voluntary_payment
from ledger.domain.errors import DomainError
from ledger.domain.money import Money
from ledger.settlement.agreement import bundled_agreement
from simulator.engine import Outcome, simulate
from simulator.paying import HOME_VOLUNTARY, home_income_minor, home_streams
from simulator.population import draw
from tests.simulator.conftest import even_run

ALL_PAY = {"value": "1", "source": "test", "verified": False}


def digital_outcome(workers: int = 240, years: int = 3, seed: int = 11) -> Outcome:
    run = even_run("clmtv-pilot+digital-voluntary",
                   digital_voluntary__home_uptake_share=ALL_PAY)
    return simulate(run, draw(run.scenario, workers, years, seed))


def home_totals(outcome: Outcome) -> dict[tuple[str, str, str], int]:
    homes = set(HOME_VOLUNTARY.values())
    return {k: v for k, v in outcome.totals.contributions.items() if (k[0], k[1]) in homes and v}


def test_the_simulator_pays_what_the_front_door_prices_month_by_month() -> None:
    outcome = digital_outcome()
    run, pop, cov = outcome.run, outcome.pop, outcome.coverage
    opened = run.agreement.opened_voluntary_schemes()
    group = run.scenario.digital_voluntary.vn_support_group.value
    expected: defaultdict[tuple[str, str, str], int] = defaultdict(int)
    for i in range(pop.size):
        origin = pop.origin_of(int(pop.corridor[i]))
        fund, scheme = HOME_VOLUNTARY[origin]
        income = Money(home_income_minor(run, origin), get_adapter(fund).currency)
        payer = VoluntaryPayer(group if origin == "VN" else None)
        for k, m in enumerate(range(int(cov.home_first[i]), int(cov.home_stop[i]))):
            month = pop.start.plus(m)
            quote = quote_voluntary_payment(
                fund, scheme, [month], income, month.first_day(), opened=opened,
                payer=dataclasses.replace(payer, supported_months_before=k))
            for who, money in quote.shares():
                expected[(fund, scheme, who.value)] += money.amount_minor
    assert home_totals(outcome) == dict(expected)
    # Not vacuous: every origin pays, and the Vietnamese state's support is booked.
    assert {fund for fund, _, _ in expected} == {"KH-NSSF", "LA-LSSO", "MM-SSB", "VN-VSS"}
    assert expected[("VN-VSS", "voluntary-si", "government")] > 0
    assert int(outcome.balances.home_voluntary_months.sum()) == sum(
        int(cov.home_stop[i] - cov.home_first[i]) for i in range(pop.size))


def test_myanmars_scheme_abroad_is_paid_only_when_the_agreement_opens_it() -> None:
    run = even_run("clmtv-pilot+digital-voluntary",
                   digital_voluntary__home_uptake_share=ALL_PAY)
    assert "MM" in home_streams(run)
    pilot = bundled_agreement("clmtv-2019-pilot")
    closed = dataclasses.replace(run, agreement=pilot.model_copy(
        update={"voluntary_schemes": ()}))
    assert "MM" not in home_streams(closed) and "VN" in home_streams(closed)
    pop = draw(run.scenario, 240, 3, 11)
    opened_totals = home_totals(simulate(run, pop))
    closed_totals = home_totals(simulate(closed, pop))
    assert opened_totals[("MM-SSB", "voluntary-abroad", "voluntary")] > 0
    assert ("MM-SSB", "voluntary-abroad", "voluntary") not in closed_totals
    assert closed_totals[("VN-VSS", "voluntary-si", "voluntary")] == opened_totals[
        ("VN-VSS", "voluntary-si", "voluntary")]


def test_no_one_pays_a_home_scheme_without_the_channel_or_under_the_baseline() -> None:
    pilot = even_run("clmtv-pilot")  # home_uptake_share 0
    baseline = even_run("no-agreement", digital_voluntary__home_uptake_share=ALL_PAY)
    for run in (pilot, baseline):
        outcome = simulate(run, draw(run.scenario, 240, 3, 11))
        assert home_totals(outcome) == {}
        assert int(outcome.balances.home_voluntary_months.sum()) == 0


def test_vietnamese_workers_in_the_abroad_regime_do_not_also_pay_voluntary_si() -> None:
    outcome = digital_outcome()
    cov, pop = outcome.coverage, outcome.pop
    paying = cov.home_stop > cov.home_first
    assert cov.abroad.any() and not (paying & cov.abroad).any()
    vn = [pop.origin_of(int(c)) == "VN" for c in pop.corridor]
    assert any(p and v for p, v in zip(paying, vn, strict=True))


def test_a_declared_income_in_fractions_of_a_minor_unit_is_refused() -> None:
    run = even_run("clmtv-pilot+digital-voluntary")
    bad = run.scenario.model_copy(update={"digital_voluntary": run.scenario.digital_voluntary
                                          .model_copy(update={"home_declared_income": {
                                              **run.scenario.digital_voluntary
                                              .home_declared_income,
                                              "VN": run.scenario.digital_voluntary
                                              .home_declared_income["VN"].model_copy(
                                                  update={"value": Decimal("1500000.5")})}})})
    with pytest.raises(DomainError) as err:
        home_income_minor(dataclasses.replace(run, scenario=bad), "VN")
    assert err.value.field == "digital_voluntary.home_declared_income.VN.value"
