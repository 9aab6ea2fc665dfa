"""`POST /v1/contributions` sends a base, not a wage (issue 22 item 3): priced on its base, every
quote the rules give for a wage is accepted as declared, with the same shares; a base the rules
never give, or a share off by one minor unit, is refused."""

from __future__ import annotations

import pytest

from ledger.adapters.context import WorkerContext
from ledger.adapters.registry import adapters, get_adapter
from ledger.adapters.rules_check import check_against_rules
from ledger.domain.contributions import Contribution, ShareReason
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Money
from ledger.domain.periods import Month, PeriodKind

MONTHS = (Month(2012, 1), Month(2024, 6), Month(2026, 3), Month(2027, 11))
# Wages from 1 to ~3,000,000 major units, about 3 % apart: every band of every table is met.
WAGES = [int(1.37 ** (k / 12) * 100) * 100 for k in range(0, 400, 3)]
CONTEXTS = {"VN-VSS": WorkerContext(zone=1)}


def _cases() -> list[tuple[str, str]]:
    return [(code, scheme) for code, adapter in sorted(adapters().items())
            for scheme in adapter.SCHEMES]


@pytest.mark.parametrize(("fund", "scheme"), _cases())
def test_every_quote_is_accepted_on_its_own_base(fund: str, scheme: str) -> None:
    adapter = get_adapter(fund)
    context = CONTEXTS.get(fund, WorkerContext())
    checked = 0
    for month in MONTHS:
        for minor in WAGES:
            try:
                quote = adapter.contribution(context, scheme, month, Money(minor, adapter.currency))
            except DomainError:
                break  # not in force that month, or a fact this sample does not give
            again, rules_base = adapter.on_base(context, scheme, month, quote.wage_base)
            assert (rules_base, again.shares) == (quote.wage_base.amount_minor, quote.shares), (
                month, minor)
            checked += 1
    if fund in ("TH-SSO", "JP-JPS", "KH-NSSF", "MY-SOCSO") and scheme in (
            adapter.DECLARATION_SCHEMES):
        assert checked > 0


def _thai(shares: dict[Payer, int], base: int = 1_750_000) -> Contribution:
    money = {p: Money(a, get_adapter("TH-SSO").currency) for p, a in shares.items()}
    return Contribution("c", "wkr_x", "TH-SSO", "s33-old-age", Month(2026, 2),
                        PeriodKind.COMPULSORY, Money(base, get_adapter("TH-SSO").currency),
                        tuple(money.items()))


RULES = {Payer.EMPLOYEE: 52_500, Payer.EMPLOYER: 52_500, Payer.GOVERNMENT: 17_475}
FIELDS = {Payer.EMPLOYEE: "shares[0].amount", Payer.EMPLOYER: "shares[1].amount",
          Payer.GOVERNMENT: "shares[2].amount"}


def test_the_rules_amounts_pass_and_one_minor_unit_off_does_not() -> None:
    assert check_against_rules(_thai(RULES), {}, {}, FIELDS) == ()
    with pytest.raises(DomainError) as caught:
        check_against_rules(_thai({**RULES, Payer.GOVERNMENT: 17_474}), {}, {}, FIELDS)
    assert (caught.value.code, caught.value.field) == (ErrorCode.SHARE_NOT_PER_RULES,
                                                       "shares[2].amount")
    with pytest.raises(DomainError) as caught:
        check_against_rules(_thai(RULES, base=1_750_001), {}, {}, FIELDS)
    assert caught.value.field == "wage_base"


def test_a_reason_keeps_the_rules_amount_beside_the_declared_one() -> None:
    declared = _thai({**RULES, Payer.EMPLOYEE: 60_000})
    (kept,) = check_against_rules(declared, {Payer.EMPLOYEE: ShareReason.BACK_PAY}, {}, FIELDS)
    assert (kept.payer, kept.reason, kept.rules_minor) == (Payer.EMPLOYEE,
                                                           ShareReason.BACK_PAY, 52_500)
