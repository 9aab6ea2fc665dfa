"""The shapes refund and withdrawal rules read and return, whatever the fund.

A rule reads a worker's `History` at one fund (one `MonthRecord` per scheme and month: the base,
each payer's share, any bonus) and a `Claim` (when, why, age, departure), and returns one
`RefundResult` per benefit: the kind, the gross amount, the cash flows (`Payment`s, a later and
separate one marked `receivable`, such as the Japanese tax refund: the withheld tax less the tax
really due) and the months it pays for, so
that the ledger can mark them withdrawn. Only active periods count: a withdrawn or transferred
month can never be paid twice. Failing conditions raise `NOT_ELIGIBLE` with every reason.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month, PeriodState


@dataclass(frozen=True, slots=True)
class MonthRecord:
    month: Month
    scheme: str
    wage_base_minor: int  # the contribution base (Japan: the standard monthly remuneration)
    shares_minor: Mapping[Payer, int] = field(default_factory=dict)
    bonus_minor: int = 0  # Japan: standard bonus paid in the month (0 elsewhere)
    state: PeriodState = PeriodState.ACTIVE


@dataclass(frozen=True, slots=True)
class History:
    """A worker's contribution history at one fund, as the ledger summarises it."""

    fund: str
    currency: Currency
    records: tuple[MonthRecord, ...]

    def active(self, schemes: Collection[str]) -> tuple[MonthRecord, ...]:
        """Active records of `schemes`, in month order; one per (scheme, month) or an error."""
        chosen = sorted(
            (r for r in self.records if r.scheme in schemes and r.state is PeriodState.ACTIVE),
            key=lambda r: (r.month, r.scheme),
        )
        seen: set[tuple[str, Month]] = set()
        for r in chosen:
            if (r.scheme, r.month) in seen:
                raise DomainError(
                    ErrorCode.INVALID_INPUT,
                    f"two records for {r.scheme} {r.month}: periods are unique",
                    field="records",
                )
            seen.add((r.scheme, r.month))
        return tuple(chosen)


@dataclass(frozen=True, slots=True)
class Claim:
    """The facts of a claim; each fund reads the ones its conditions name."""

    claim_month: Month
    age_years: int | None = None
    insured_status_ended: bool = False  # TH: no longer insured under s33
    # TH: the month the right arose (claim age reached and insured status ended, the later);
    # the claim window runs from it. None: not known, the window is not checked.
    entitled_month: Month | None = None
    left_country_month: Month | None = None  # month the worker left (lost residence in) the country
    reason: str | None = None  # VN: "one_year_after_leaving", "emigrating", ...
    foreign_national: bool = True  # JP: the LSWP is for non-Japanese nationals
    pension_entitled: bool = False  # JP: ever entitled to a Japanese pension
    reentry_permit_valid: bool = False  # JP: barred from the date the 2025 reform sets


class BenefitKind(StrEnum):
    LUMP_SUM = "lump_sum"  # pays off the months: the ledger marks them withdrawn
    PENSION = "pension"  # a monthly right: months stay credited


@dataclass(frozen=True, slots=True)
class Payment:
    label: str  # "refund", "investment_return", "tax_refund", ...
    amount: Money
    receivable: bool = False  # a separate, later cash flow (e.g. reclaiming withheld tax)


@dataclass(frozen=True, slots=True)
class RefundResult:
    fund: str
    scheme: str
    kind: BenefitKind
    gross: Money
    payments: tuple[Payment, ...]
    months: tuple[Month, ...]  # the months it pays for
    basis: Mapping[str, str] = field(default_factory=dict)  # figures used, for statements

    @property
    def receivable(self) -> Money:
        """What comes later, from someone else (the Japanese tax refund)."""
        total = Money.zero(self.gross.currency)
        for p in self.payments:
            if p.receivable:
                total = total + p.amount
        return total

    @property
    def withheld(self) -> Money:
        """What the fund keeps back from the gross and pays to someone else (tax withheld)."""
        return self.gross - self.paid_now

    @property
    def paid_now(self) -> Money:
        """What the fund pays at once (receivables come later, from someone else)."""
        total = Money.zero(self.gross.currency)
        for p in self.payments:
            if not p.receivable:
                total = total + p.amount
        return total


def not_eligible(fund: str, reasons: list[str]) -> DomainError:
    return DomainError(
        ErrorCode.NOT_ELIGIBLE,
        f"{fund}: not eligible: " + "; ".join(reasons),
        details={"reasons": reasons},
    )


def share_total(records: Collection[MonthRecord], payers: Collection[Payer]) -> int:
    return sum(r.shares_minor.get(p, 0) for r in records for p in payers)
