"""The legs of a portability flow, planned by hand: accounts, amounts, FX rounding, balance."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from ledger.domain.accounts import member_account
from ledger.domain.errors import DomainError
from ledger.domain.ledger import TransferFlags
from ledger.domain.money import Currency, Money, Rounding
from ledger.settlement.legs import (
    Destination,
    FlowPlan,
    FxQuote,
    Use,
    clearing_account,
    payout_leg,
    plan_legs,
    resolution,
    retained_account,
    tax_withheld_account,
)

JPY, USD, KHR = Currency.JPY, Currency.USD, Currency.KHR
QUOTE = FxQuote(Decimal("0.0067"), Decimal("4100"), Rounding.HALF_EVEN, "test")


def lswp_plan() -> FlowPlan:
    """Japan's LSWP by hand: balance 1,185,840 yen (36 × 32,940), gross 594,000, withheld
    121,294, paid 472,706; 472,706 × 0.0067 = 3,167.1302 → 3,167.13 USD (half even) → × 4,100 =
    12,985,233 riel = 1,298,523,300 minor units."""
    settlement, target = QUOTE.convert(Money(472_706, JPY), USD, KHR)
    sources = ((member_account("wkr_story01", "JP-JPS", "epi", JPY), 1_185_840),)
    uses = (Use("lump-sum", 472_706, clearing_account("JP-JPS", "KH-NSSF", JPY)),
            Use("tax-withheld", 121_294, tax_withheld_account("JP-JPS", JPY)),
            Use("retained", 1_185_840 - 594_000, retained_account("JP-JPS", JPY)))
    return FlowPlan("pt-1", "wkr_story01", "JP-JPS", "KH-NSSF", Destination.WORKER, sources,
                    uses, settlement, target)


def test_fx_rounds_once_per_step_with_the_named_mode() -> None:
    plan = lswp_plan()
    assert plan.settlement == Money(316_713, USD)
    assert plan.target == Money(1_298_523_300, KHR)


def test_legs_drain_sources_in_order() -> None:
    """A rule that pays more than the member account holds: the account goes first, the
    fund's retained account gives the rest (flow_amounts._lump_sum)."""
    member = member_account("wkr_story01", "JP-JPS", "epi", JPY)
    settlement, target = QUOTE.convert(Money(472_706, JPY), USD, KHR)
    plan = FlowPlan("pt-2", "wkr_story01", "JP-JPS", "KH-NSSF", Destination.WORKER,
                    ((member, 500_000), (retained_account("JP-JPS", JPY), 94_000)),
                    (Use("lump-sum", 472_706, clearing_account("JP-JPS", "KH-NSSF", JPY)),
                     Use("tax-withheld", 121_294, tax_withheld_account("JP-JPS", JPY))),
                    settlement, target)
    legs = plan_legs(plan)
    # The member's 500,000 covers the 472,706 paid and 27,294 of the tax; the retained
    # account the remaining 94,000 of tax.
    assert [(leg.id.split("/")[1], leg.amount_minor) for leg in legs[:3]] == [
        ("0-lump-sum", 472_706), ("1-tax-withheld", 27_294), ("2-tax-withheld", 94_000)]
    assert [leg.debit for leg in legs[:3]] == [member, member, retained_account("JP-JPS", JPY)]


def test_legs_of_one_member_account_and_every_currency_balances() -> None:
    legs = plan_legs(lswp_plan())
    assert all(leg.flags is TransferFlags.PENDING for leg in legs)
    labels = [leg.id.split("/")[1] for leg in legs]
    assert labels == ["0-lump-sum", "1-tax-withheld", "2-retained",
                      "3-fx-out", "4-obligation", "5-fx-in"]
    assert [leg.amount_minor for leg in legs[:3]] == [472_706, 121_294, 591_840]
    by_currency: defaultdict[Currency, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for leg in legs:  # every leg stays in one currency: both its accounts are in it
        assert not isinstance(leg.debit, int) and not isinstance(leg.credit, int)
        assert leg.debit.currency is leg.credit.currency is leg.currency
        d, c = by_currency[leg.currency]
        by_currency[leg.currency] = (d + leg.amount_minor, c + leg.amount_minor)
    assert by_currency[USD] == (316_713, 316_713)
    assert by_currency[KHR] == (1_298_523_300, 1_298_523_300)
    assert by_currency[JPY][0] == 1_185_840 + 472_706  # the balance, then the travelling value


def test_payout_and_resolution() -> None:
    payout = payout_leg("pt-1", "wkr_story01", "KH-NSSF", Money(1_298_523_300, KHR))
    assert payout.flags is TransferFlags.NONE and payout.amount_minor == 1_298_523_300
    posts = resolution(["pt-1/0-lump-sum", "pt-1/4-fx-out"], post=True)
    assert [p.pending_id for p in posts] == ["pt-1/0-lump-sum", "pt-1/4-fx-out"]
    assert all(p.flags is TransferFlags.POST_PENDING for p in posts)
    assert resolution(["x"], post=False)[0].flags is TransferFlags.VOID_PENDING


def test_sources_and_uses_must_agree() -> None:
    plan = lswp_plan()
    short = FlowPlan(plan.flow_id, plan.worker_id, plan.host, plan.home, plan.destination,
                     plan.sources, plan.uses[:2], plan.settlement, plan.target)
    with pytest.raises(DomainError) as refused:
        plan_legs(short)
    assert refused.value.field == "sources"
