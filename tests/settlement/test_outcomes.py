"""What reaches the worker: Japan's lump sum and Thai old-age access, worked by hand per route.

Each route setting of an agreement (agent or not, fee rate, tax refund claimed or not, membership,
the Thai claim age and conditions) is varied on its own, so that each one's effect is visible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ledger.adapters.refunds import BenefitKind, Payment, RefundResult
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.settlement.agreement import AGREEMENTS_DIR, Agreement, parse_agreement
from ledger.settlement.outcomes import lump_sum_outcome, thai_old_age_access


def agreement(name: str, **routes: Any) -> Agreement:
    """A bundled agreement with some exit-route values replaced: `jp_lswp__via_agent=False`."""
    data = yaml.safe_load(Path(AGREEMENTS_DIR / f"{name}.yaml").read_text())
    for key, value in routes.items():
        route, param = key.split("__")
        data["exit_routes"][route][param]["value"] = value
    return parse_agreement(data)


BASELINE = agreement("no-agreement")
PILOT = agreement("clmtv-2019-pilot")


def jpy(minor: int) -> Money:
    return Money(minor, Currency.JPY)


def lswp(paid: tuple[int, ...] = (79_590,), withheld: tuple[int, ...] = (20_410,),
         fund: str = "JP-JPS") -> RefundResult:
    """A lump sum paid now in `paid` parts, with `withheld` tax parts reclaimable later."""
    payments = (*(Payment("refund", jpy(p)) for p in paid),
                *(Payment("tax_withheld", jpy(w), receivable=True) for w in withheld))
    gross = jpy(sum(paid) + sum(withheld))
    return RefundResult(fund, "epi", BenefitKind.LUMP_SUM, gross, payments, (Month(2024, 1),))


def amounts(outcome: Any) -> tuple[int, ...]:
    return tuple(getattr(outcome, f).amount_minor for f in
                 ("gross", "paid_now", "agent_fee", "tax_refund", "reaches_worker", "lost"))


def test_baseline_an_agent_keeps_15_percent_rounded_half_up_and_the_tax_is_lost() -> None:
    # 79,590 × 0.15 = 11,938.5: the fee rounds half up to 11,939.
    outcome = lump_sum_outcome(BASELINE, lswp())
    assert amounts(outcome) == (100_000, 79_590, 11_939, 0, 67_651, 32_349)
    assert outcome.gross.currency is Currency.JPY


def test_baseline_without_an_agent_keeps_the_whole_first_payment() -> None:
    outcome = lump_sum_outcome(agreement("no-agreement", jp_lswp__via_agent=False), lswp())
    assert amounts(outcome) == (100_000, 79_590, 0, 0, 79_590, 20_410)


def test_baseline_with_a_zero_fee_rate_charges_nothing() -> None:
    outcome = lump_sum_outcome(agreement("no-agreement", jp_lswp__agent_fee_rate="0"), lswp())
    assert amounts(outcome) == (100_000, 79_590, 0, 0, 79_590, 20_410)


def test_baseline_with_the_tax_refund_claimed_gets_every_withheld_part_back() -> None:
    claimed = agreement("no-agreement", jp_lswp__tax_refund_claimed=True)
    outcome = lump_sum_outcome(claimed, lswp(paid=(50_000, 29_590), withheld=(20_000, 410)))
    assert amounts(outcome) == (100_000, 79_590, 11_939, 20_410, 88_061, 11_939)


def test_under_the_pilot_nothing_is_lost() -> None:
    outcome = lump_sum_outcome(PILOT, lswp(withheld=(20_000, 410)))
    assert amounts(outcome) == (100_000, 79_590, 0, 20_410, 100_000, 0)


def test_an_agreement_japan_is_not_a_member_of_routes_like_the_baseline() -> None:
    data = yaml.safe_load((AGREEMENTS_DIR / "clmtv-2019-pilot.yaml").read_text())
    data["member_funds"] = [f for f in data["member_funds"] if f != "JP-JPS"]
    data["portable_schemes"] = [s for s in data["portable_schemes"] if s["fund"] != "JP-JPS"]
    outcome = lump_sum_outcome(parse_agreement(data), lswp())
    assert amounts(outcome) == (100_000, 79_590, 11_939, 0, 67_651, 32_349)


def test_only_japans_lump_sum_is_modelled() -> None:
    with pytest.raises(DomainError) as err:
        lump_sum_outcome(BASELINE, lswp(fund="TH-SSO"))
    assert (err.value.code, err.value.field) == (ErrorCode.INVALID_INPUT, "fund")
    assert err.value.message == "only Japan's lump sum is modelled here"


def test_thai_old_age_money_is_out_of_reach_before_55_and_in_person_after() -> None:
    young = thai_old_age_access(BASELINE, age_years=54)
    assert (young.claimable_now, young.claim_age_min, young.in_person_only) == (False, 55, True)
    assert young.reasons == ("claimable from age 55; the worker is 54",
                             "no lump sum on leaving Thailand",
                             "claimed in person (or by proxy) in Thailand")
    at_55 = thai_old_age_access(BASELINE, age_years=55)
    assert (at_55.claimable_now, at_55.claim_age_min, at_55.in_person_only) == (True, 55, True)
    assert at_55.reasons == ("no lump sum on leaving Thailand",
                             "claimed in person (or by proxy) in Thailand")


def test_thai_old_age_route_settings_each_remove_their_reason() -> None:
    open_route = agreement("no-agreement", th_old_age__lump_sum_on_departure=True,
                           th_old_age__in_person_only=False, th_old_age__claim_age_min=50)
    access = thai_old_age_access(open_route, age_years=50)
    assert (access.claimable_now, access.claim_age_min, access.in_person_only) == (True, 50, False)
    assert access.reasons == ()
    assert thai_old_age_access(open_route, age_years=49).reasons == (
        "claimable from age 50; the worker is 49",)
