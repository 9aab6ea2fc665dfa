"""A contribution: one worker, fund, scheme and month, paid in shares by one or more payers.

Owns validation of a contribution against the fund registry and its translation into a *unit*:
one linked batch of transfers (one per payer share, source account -> worker's member account)
plus the insurance-period row. Posting the same contribution twice is a no-op because its
transfer ids derive from the contribution id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

from ledger.domain.accounts import AccountSpec, hot_source_account, member_account
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer, get_fund
from ledger.domain.ids import check_id, check_worker_id
from ledger.domain.ledger import TransferFlags
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month, PeriodKind


@dataclass(frozen=True, slots=True)
class PlannedTransfer:
    """A transfer whose accounts may not exist yet: specs are created on first use."""

    id: str
    debit: AccountSpec | int
    credit: AccountSpec | int
    amount_minor: int
    currency: Currency
    flags: TransferFlags = TransferFlags.NONE
    pending_id: str | None = None
    reversal_of: str | None = None
    code: str = "transfer"
    contribution_id: str | None = None


class ShareReason(StrEnum):
    """Why a share differs from what the fund's rules give for the wage (issue 22 item 3). A
    share without one must be the rules' amount; a share with one is booked as declared and
    the reason and the rules' amount are kept with the contribution and shown on statements."""

    ARREARS = "arrears"  # months paid late, with what was owed then
    SURCHARGE = "surcharge"  # a late-payment surcharge or penalty added to the share
    BACK_PAY = "back_pay"  # wages paid later for this month (a corrected, higher share)
    COURT_ORDER = "court_order"  # an amount a court or tribunal ordered


@dataclass(frozen=True, slots=True)
class ShareOverride:
    """A share declared apart from the rules: who, why, and what the rules give."""

    payer: Payer
    reason: ShareReason
    rules_minor: int


@dataclass(frozen=True, slots=True)
class Contribution:
    id: str
    worker_id: str
    fund: str
    scheme: str
    month: Month
    kind: PeriodKind
    wage_base: Money
    shares: tuple[tuple[Payer, Money], ...]
    overrides: tuple[ShareOverride, ...] = ()  # not part of the identity: the amounts are

    def overrides_json(self) -> str | None:
        """The overrides as stored: {"payer": {"reason": .., "rules_minor": ".."}} or None."""
        if not self.overrides:
            return None
        return json.dumps({str(o.payer): {"reason": str(o.reason),
                                          "rules_minor": str(o.rules_minor)}
                           for o in self.overrides}, sort_keys=True, separators=(",", ":"))

    def shares_minor(self) -> dict[str, str]:
        """The shares as stored and compared: payer -> amount string, in payer order."""
        # str(StrEnum) is its value, without the slower `.value` descriptor.
        return {str(payer): str(money.amount_minor) for payer, money in self.shares}

    def identity(self) -> tuple[object, ...]:
        return (
            self.worker_id, self.fund, self.scheme, self.month.to_int(), self.kind.value,
            self.wage_base.amount_minor, self.wage_base.currency.value,
            tuple(sorted(self.shares_minor().items())),
        )


CONTRIBUTION_FIELDS = (
    "worker_id", "fund", "scheme", "month", "kind", "wage_base", "currency", "shares",
)


def default_contribution_id(worker_id: str, fund: str, scheme: str, month: Month) -> str:
    """The business key: one contribution per worker, fund, scheme and month unless the caller
    names another id (e.g. a second employer in the same month)."""
    return f"ctb:{worker_id}:{fund}:{scheme}:{month}"


@dataclass(slots=True)
class ContributionInput:
    """Unvalidated fields, as they arrive from the API or an import row."""

    worker_id: object
    fund: object
    scheme: object
    month: object
    wage_base: Money
    shares: list[tuple[object, Money]] = field(default_factory=list)
    kind: object = PeriodKind.COMPULSORY.value
    id: object = None
    # payer -> why that share differs from the rules (ShareReason values), and the worker facts
    # the fund's rules need (the columns a declaration row carries, e.g. VN-VSS zone).
    reasons: dict[str, str] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)


def validate_contribution(raw: ContributionInput) -> Contribution:
    """Check a contribution against the registry; raise DomainError naming the field."""
    worker_id = check_worker_id(raw.worker_id)
    fund = get_fund(str(raw.fund))
    scheme = fund.scheme(str(raw.scheme))
    month = Month.parse(raw.month)
    scheme.check_in_force(month)
    try:
        kind = PeriodKind(str(raw.kind))
    except ValueError:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"kind must be one of {', '.join(k.value for k in PeriodKind)}",
            field="kind",
        ) from None
    if raw.wage_base.currency is not fund.currency:
        raise DomainError(
            ErrorCode.CURRENCY_MISMATCH,
            f"{fund.code} books {fund.currency}, wage_base is in {raw.wage_base.currency}",
            field="wage_base.currency",
        )
    if raw.wage_base.amount_minor < 0:
        raise DomainError(ErrorCode.INVALID_AMOUNT, "wage_base is negative", field="wage_base")
    shares = _validate_shares(raw.shares, fund.currency, str(fund.code))
    cid = (
        check_id(raw.id, "id")
        if raw.id is not None
        else default_contribution_id(worker_id, fund.code, scheme.code, month)
    )
    return Contribution(cid, worker_id, fund.code, scheme.code, month, kind, raw.wage_base,
                        shares)


def _validate_shares(
    raw: list[tuple[object, Money]], currency: Currency, fund: str
) -> tuple[tuple[Payer, Money], ...]:
    if not raw:
        raise DomainError(ErrorCode.INVALID_INPUT, "at least one share is required", field="shares")
    seen: set[Payer] = set()
    out: list[tuple[Payer, Money]] = []
    for index, (payer_raw, money) in enumerate(raw):
        where = f"shares[{index}]"
        try:
            payer = Payer(str(payer_raw))
        except ValueError:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"payer must be one of {', '.join(p.value for p in Payer)}",
                field=f"{where}.payer",
            ) from None
        if payer in seen:
            raise DomainError(
                ErrorCode.DUPLICATE_PAYER, f"payer {payer} appears twice", field=f"{where}.payer"
            )
        seen.add(payer)
        if money.currency is not currency:
            raise DomainError(
                ErrorCode.CURRENCY_MISMATCH,
                f"{fund} books {currency}, share is in {money.currency}",
                field=f"{where}.amount.currency",
            )
        if money.amount_minor <= 0:
            raise DomainError(
                ErrorCode.INVALID_AMOUNT,
                "a share must be positive (omit a payer who pays nothing)",
                field=f"{where}.amount.amount_minor",
            )
        out.append((payer, money))
    out.sort(key=lambda item: _PAYER_ORDER[item[0]])
    return tuple(out)


_PAYER_ORDER = {payer: index for index, payer in enumerate(Payer)}


def plan_transfers(contribution: Contribution) -> list[PlannedTransfer]:
    """One transfer per share: payer's source account -> the worker's member account (one
    account for all the payers' shares, ADR 0026). The source is a hot family: each committer
    debits its own sub-account of the fund's collections (ADR 0036)."""
    currency = contribution.wage_base.currency
    return [
        PlannedTransfer(
            id=f"{contribution.id}/{payer}",
            debit=hot_source_account(contribution.fund, payer, currency),
            credit=member_account(
                contribution.worker_id, contribution.fund, contribution.scheme, currency
            ),
            amount_minor=money.amount_minor,
            currency=currency,
            code="contribution",
            contribution_id=contribution.id,
        )
        for payer, money in contribution.shares
    ]
