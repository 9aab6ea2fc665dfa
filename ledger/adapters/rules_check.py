"""A contribution sent one by one (`POST /v1/contributions`) is held to the fund's rules, as a
declaration file's row is (issue 22 item 3).

The wage base must be a base the rules give (the base of a wage at or under the ceiling is
itself; above it, the ceiling; a value of a grade or rank table), and each payer's share must be
what the rules give on that base, to the minor unit, with the sentence a file's row gets
(`declarations.amount_differs`). A share that legitimately differs (arrears, a surcharge, back
pay, a court order) says so with a reason: it is then accepted as declared, and the reason with
the rules' amount is kept (`ShareOverride`). Quotes are cached per (fund, scheme, month, base,
facts): a batch of one fund's month prices each wage once.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from ledger.adapters.base import ContributionQuote
from ledger.adapters.declarations import amount_differs
from ledger.adapters.registry import get_adapter
from ledger.domain.contributions import Contribution, ShareOverride, ShareReason
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month

_OWN_FIELDS = frozenset({"fund", "scheme", "month", "wage", "wage_base"})


@lru_cache(maxsize=4096)
def _quote(fund: str, scheme: str, month: Month, base_minor: int, currency: Currency,
           facts: tuple[tuple[str, str], ...]) -> tuple[ContributionQuote, int]:
    adapter = get_adapter(fund)
    try:
        context = adapter.context_from_fields(dict(facts))
        return adapter.on_base(context, scheme, month, Money(base_minor, currency))
    except DomainError as exc:
        # A fact the rules need (a zone, a flag) is named where the caller gives it.
        field = exc.field if exc.field in _OWN_FIELDS or exc.field is None \
            else f"worker_facts.{exc.field}"
        raise DomainError(exc.code, exc.message, field=field) from None


def check_against_rules(contribution: Contribution, reasons: Mapping[Payer, ShareReason],
                        facts: Mapping[str, str], share_fields: Mapping[Payer, str]
                        ) -> tuple[ShareOverride, ...]:
    """The contribution's overrides (its shares that carry a reason), or a DomainError naming
    the first field that differs from the rules without one. `share_fields` names each payer's
    share as the caller sent it (e.g. `shares[2].amount`)."""
    c = contribution
    currency = c.wage_base.currency
    quote, rules_base = _quote(c.fund, c.scheme, c.month, c.wage_base.amount_minor, currency,
                               tuple(sorted(facts.items())))
    if rules_base != c.wage_base.amount_minor:
        raise DomainError(
            ErrorCode.SHARE_NOT_PER_RULES,
            f"wage_base {c.wage_base} is not a base of the {c.fund} rules: they give "
            f"{Money(rules_base, currency)} for a wage of {c.wage_base} in {c.month}",
            field="wage_base")
    rules = quote.shares_minor()
    declared = {payer: money.amount_minor for payer, money in c.shares}
    overrides: list[ShareOverride] = []
    for payer in Payer:
        if payer not in declared and payer not in rules:
            continue
        own, given = declared.get(payer, 0), rules.get(payer, 0)
        reason = reasons.get(payer)
        if reason is not None:
            overrides.append(ShareOverride(payer, reason, given))
        elif own != given:
            what = f"the {payer} share" if payer not in declared else None
            message = amount_differs(c.fund, Money(own, currency), Money(given, currency),
                                     c.wage_base, c.month)
            raise DomainError(
                ErrorCode.SHARE_NOT_PER_RULES,
                message if what is None else f"{what} is missing: {message}",
                field=share_fields.get(payer, "shares"))
    return tuple(overrides)
