"""Totalisation at the edges the worked examples do not reach: funds without a pension age, and
the Art 57 short-period rule at 0, 1, 11, 12 and 13 own months (and an independent right)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ledger.domain.funds import FundCode, SchemeCode
from ledger.domain.periods import Month, PeriodState
from ledger.settlement.agreement import bundled_agreement
from ledger.settlement.totalisation import (
    EligibilityRule,
    PeriodRecord,
    Threshold,
    policy_of,
    totalise,
)

PILOT = bundled_agreement("clmtv-2019-pilot").totalisation_policy()


def months(fund: str, scheme: str, start: Month, count: int,
           state: PeriodState = PeriodState.ACTIVE) -> list[PeriodRecord]:
    return [PeriodRecord(FundCode(fund), SchemeCode(scheme), start.plus(i), state)
            for i in range(count)]


@pytest.mark.parametrize(("fund", "scheme", "required"), [
    ("VN-VSS", "retirement-survivorship", 180), ("JP-JPS", "epi", 120)])
@pytest.mark.parametrize("age", [None, 18, 70])
def test_a_fund_without_a_pension_age_meets_the_age_condition(
    fund: str, scheme: str, required: int, age: int | None,
) -> None:
    """Guard: `_age_met`'s "no age set". VN-VSS and JP-JPS set no pension age in the bundled
    agreement: whatever the worker's age (or none given), periods alone decide."""
    view = totalise(months(fund, scheme, Month(2010, 1), required), PILOT,
                    as_of=Month(2028, 1), age_years=age).fund(fund)
    assert view.threshold.age_min is None
    assert view.age_condition_met is True
    assert view.qualifies_on_periods and view.eligible
    one_short = totalise(months(fund, scheme, Month(2010, 1), required - 1), PILOT,
                         as_of=Month(2028, 1), age_years=age).fund(fund)
    assert one_short.age_condition_met is True and not one_short.eligible


@pytest.mark.parametrize(("own", "short"), [(1, True), (11, True), (12, False), (13, False)])
def test_the_short_period_rule_at_its_boundaries(own: int, short: bool) -> None:
    """Guard: Art 57's `0 < own < short_period_months_min`. Under 12 own months at VN-VSS (and
    no independent right) that fund pays nothing; at 12 it pays its pro-rata share."""
    records = [*months("TH-SSO", "s33-old-age", Month(2000, 1), 200),
               *months("VN-VSS", "retirement-survivorship", Month(2020, 1), own)]
    vn = totalise(records, PILOT, as_of=Month(2028, 1), age_years=60).fund("VN-VSS")
    assert vn.own_months == own and vn.totalised_months == 200 + own
    assert vn.short_period is short
    assert vn.paying_fraction == (0 if short else Fraction(own, 200 + own))


def test_no_own_months_is_not_a_short_period() -> None:
    """A fund whose months were all paid out has nothing to pay for: not an Art 57 case."""
    records = [*months("TH-SSO", "s33-old-age", Month(2000, 1), 200),
               *months("VN-VSS", "retirement-survivorship", Month(2020, 1), 3,
                       PeriodState.WITHDRAWN)]
    vn = totalise(records, PILOT, as_of=Month(2028, 1)).fund("VN-VSS")
    assert vn.own_months == 0 and not vn.short_period and vn.paying_fraction == 0


@pytest.mark.parametrize(("own", "short"), [(5, True), (6, False), (7, False)])
def test_an_independent_right_is_never_a_short_period(own: int, short: bool) -> None:
    """A fund whose own threshold (6 months here) is met by its own months pays, however few."""
    policy = policy_of(["TH-SSO", "KH-NSSF"], [
        EligibilityRule(FundCode("TH-SSO"), (Threshold(180),)),
        EligibilityRule(FundCode("KH-NSSF"), (Threshold(6),))], 12)
    records = [*months("TH-SSO", "s33-old-age", Month(2000, 1), 200),
               *months("KH-NSSF", "pension", Month(2024, 1), own)]
    kh = totalise(records, policy, as_of=Month(2028, 1)).fund("KH-NSSF")
    assert kh.short_period is short
