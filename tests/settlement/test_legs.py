"""The legs of a portability flow, planned by hand: accounts, amounts, FX rounding, balance."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from ledger.domain.accounts import AccountCode, AccountSpec, member_account
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ledger import AccountFlags, TransferFlags
from ledger.domain.money import Currency, Money, Rounding
from ledger.settlement.legs import (
    Destination,
    FlowPlan,
    FxQuote,
    Use,
    clearing_account,
    fx_account,
    hub_settlement_account,
    payout_leg,
    payouts_account,
    plan_legs,
    portability_account,
    position_account,
    resolution,
    resolution_code,
    resolution_id,
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


# -- every field of every leg ----------------------------------------------------------------------

AC, AF = AccountCode, AccountFlags
LIMITED = AF.DEBITS_MUST_NOT_EXCEED_CREDITS


def test_the_accounts_of_a_flow_by_key_code_flags_and_owner() -> None:
    assert clearing_account("JP-JPS", "KH-NSSF", JPY) == AccountSpec(
        "clearing/JP-JPS/KH-NSSF/JPY", AC.CLEARING, JPY, AF.NONE, fund="JP-JPS")
    assert fx_account(USD) == AccountSpec("hub/fx/USD", AC.FX, USD, AF.NONE)
    assert position_account("TH-SSO", USD) == AccountSpec(
        "fund/TH-SSO/position/USD", AC.CLEARING, USD, AF.NONE, fund="TH-SSO")
    assert hub_settlement_account(USD) == AccountSpec(
        "hub/settlement/USD", AC.CLEARING, USD, AF.NONE)
    assert tax_withheld_account("JP-JPS", JPY) == AccountSpec(
        "fund/JP-JPS/tax-withheld/JPY", AC.TAX_WITHHELD, JPY, LIMITED, fund="JP-JPS")
    assert retained_account("JP-JPS", JPY) == AccountSpec(
        "fund/JP-JPS/retained/JPY", AC.OPERATING, JPY, AF.NONE, fund="JP-JPS")
    assert portability_account("wkr_story01", "KH-NSSF", KHR) == AccountSpec(
        "portability/wkr_story01/KH-NSSF/KHR", AC.MEMBER, KHR, LIMITED, fund="KH-NSSF",
        scheme="portability-in", worker_id="wkr_story01")
    assert payouts_account("KH-NSSF", KHR) == AccountSpec(
        "fund/KH-NSSF/payouts/KHR", AC.OPERATING, KHR, AF.NONE, fund="KH-NSSF")


def test_every_leg_of_the_lswp_flow_field_by_field() -> None:
    member = member_account("wkr_story01", "JP-JPS", "epi", JPY)
    clearing = clearing_account("JP-JPS", "KH-NSSF", JPY)
    expected = [
        ("0-lump-sum", member, clearing, 472_706, JPY),
        ("1-tax-withheld", member, tax_withheld_account("JP-JPS", JPY), 121_294, JPY),
        ("2-retained", member, retained_account("JP-JPS", JPY), 591_840, JPY),
        ("3-fx-out", clearing, fx_account(JPY), 472_706, JPY),
        ("4-obligation", position_account("JP-JPS", USD), position_account("KH-NSSF", USD),
         316_713, USD),
        ("5-fx-in", fx_account(KHR), portability_account("wkr_story01", "KH-NSSF", KHR),
         1_298_523_300, KHR),
    ]
    assert plan_legs(lswp_plan()) == [
        PlannedTransfer(f"pt-1/{label}", debit, credit, amount, currency, TransferFlags.PENDING,
                        code=f"portability.{label.split('-', 1)[1]}")
        for label, debit, credit, amount, currency in expected
    ]


def test_empty_sources_and_zero_extra_legs_are_left_out() -> None:
    """A zero source is skipped; a flow whose value converts to zero moves no USD or KHR."""
    member = member_account("wkr_story01", "JP-JPS", "epi", JPY)
    clearing = clearing_account("JP-JPS", "KH-NSSF", JPY)
    plan = FlowPlan("pt-3", "wkr_story01", "JP-JPS", "KH-NSSF", Destination.MEMBER,
                    ((retained_account("JP-JPS", JPY), 0), (member, 1)),
                    (Use("transfer", 1, clearing),), Money(0, USD), Money(0, KHR))
    assert plan.travelling == Money(1, JPY)
    assert plan_legs(plan) == [
        PlannedTransfer("pt-3/0-transfer", member, clearing, 1, JPY, TransferFlags.PENDING,
                        code="portability.transfer"),
        PlannedTransfer("pt-3/1-fx-out", clearing, fx_account(JPY), 1, JPY,
                        TransferFlags.PENDING, code="portability.fx-out"),
    ]


def test_a_use_exactly_draining_a_source_moves_on_to_the_next() -> None:
    member = member_account("wkr_story01", "JP-JPS", "epi", JPY)
    retained = retained_account("JP-JPS", JPY)
    clearing = clearing_account("JP-JPS", "KH-NSSF", JPY)
    plan = FlowPlan("pt-4", "wkr_story01", "JP-JPS", "KH-NSSF", Destination.WORKER,
                    ((member, 100), (retained, 50)),
                    (Use("lump-sum", 100, clearing),
                     Use("tax-withheld", 50, tax_withheld_account("JP-JPS", JPY))),
                    Money(0, USD), Money(0, KHR))
    legs = plan_legs(plan)
    assert [(leg.debit, leg.amount_minor) for leg in legs[:2]] == [(member, 100), (retained, 50)]


def test_the_travelling_value_must_go_to_the_flows_clearing_account() -> None:
    plan = lswp_plan()
    wrong = FlowPlan(plan.flow_id, plan.worker_id, plan.host, plan.home, plan.destination,
                     plan.sources, (plan.uses[1], plan.uses[0], plan.uses[2]), plan.settlement,
                     plan.target)
    with pytest.raises(DomainError) as refused:
        plan_legs(wrong)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "uses")
    assert refused.value.message == "the travelling value goes to clearing"
    plan = lswp_plan()
    short = FlowPlan(plan.flow_id, plan.worker_id, plan.host, plan.home, plan.destination,
                     plan.sources, plan.uses[:2], plan.settlement, plan.target)
    with pytest.raises(DomainError) as refused:
        plan_legs(short)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "sources")
    assert refused.value.message == "sources and uses of a flow differ"


def test_resolution_and_payout_field_by_field() -> None:
    assert resolution(["pt-1/0-lump-sum"], post=True) == [PlannedTransfer(
        "pt-1/0-lump-sum/post", 0, 0, 0, USD, TransferFlags.POST_PENDING, "pt-1/0-lump-sum",
        code="portability.post")]
    assert resolution(["pt-1/0-lump-sum", "pt-1/3-fx-out"], post=False) == [
        PlannedTransfer(f"{leg}/void", 0, 0, 0, USD, TransferFlags.VOID_PENDING, leg,
                        code="portability.void")
        for leg in ("pt-1/0-lump-sum", "pt-1/3-fx-out")]
    assert (resolution_id("x", True), resolution_id("x", False)) == ("x/post", "x/void")
    assert (resolution_code(True), resolution_code(False)) == (
        "portability.post", "portability.void")
    assert payout_leg("pt-1", "wkr_story01", "KH-NSSF", Money(1_000, KHR)) == PlannedTransfer(
        "pt-1/payout", portability_account("wkr_story01", "KH-NSSF", KHR),
        payouts_account("KH-NSSF", KHR), 1_000, KHR, code="portability.payout")


def test_a_quote_rounds_each_step_with_its_mode() -> None:
    # 1.01 USD × 0.5 = 0.505 JPY: half up 1 yen (× 3 = 3.00 KHR), down 0 yen.
    half_up = FxQuote(Decimal("0.5"), Decimal("3"), Rounding.HALF_UP, "test")
    assert half_up.convert(Money(101, USD), JPY, KHR) == (Money(1, JPY), Money(300, KHR))
    down = FxQuote(Decimal("0.5"), Decimal("3"), Rounding.DOWN, "test")
    assert down.convert(Money(101, USD), JPY, KHR) == (Money(0, JPY), Money(0, KHR))
    # the second step uses the second rate: 2 yen × 3 = 6.00 KHR
    assert half_up.convert(Money(400, USD), JPY, KHR) == (Money(2, JPY), Money(600, KHR))


def test_three_sources_are_drained_one_after_the_other() -> None:
    member = member_account("wkr_story01", "JP-JPS", "epi", JPY)
    retained = retained_account("JP-JPS", JPY)
    withheld = tax_withheld_account("JP-JPS", JPY)
    clearing = clearing_account("JP-JPS", "KH-NSSF", JPY)
    plan = FlowPlan("pt-5", "wkr_story01", "JP-JPS", "KH-NSSF", Destination.WORKER,
                    ((member, 10), (retained, 20), (withheld, 30)),
                    (Use("lump-sum", 15, clearing), Use("retained", 45, retained)),
                    Money(0, USD), Money(0, KHR))
    assert [(leg.debit, leg.credit, leg.amount_minor) for leg in plan_legs(plan)] == [
        (member, clearing, 10), (retained, clearing, 5), (retained, retained, 15),
        (withheld, retained, 30), (clearing, fx_account(JPY), 15)]
