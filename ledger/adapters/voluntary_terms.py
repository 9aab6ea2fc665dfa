"""The terms of a voluntary scheme, as a fund's rules state them: what one payment may cover.

A voluntary scheme (the worker pays it directly, `Scheme.voluntary`) is paid in *units*: months
(Vietnamese voluntary SI, Cambodian voluntary pension, Lao voluntary scheme, Myanmar's scheme for
workers abroad), contracts (Vietnam's Overseas Employment Support Fund: a flat fee per contract)
or years (a migrant welfare fund with a yearly fee). A fund's parameters.yaml states, per scheme
and dated, how many units one payment may cover and how far before or after the payment month
they may lie (`PaymentRule`); the fund's rules add the declared-income bounds and the state's
support cap (`VoluntaryTerms`). `voluntary.py` applies them to a payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger.adapters.parameters import Param, Parameters, param
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.periods import Month


class PaymentUnit(StrEnum):
    MONTH = "month"  # each unit is one insured month
    CONTRACT = "contract"  # a flat fee per contract abroad (the month is the contract's start)
    YEAR = "year"  # a flat fee per year of cover (the month is the year's first month)

    @property
    def months(self) -> int:
        """Months between the starts of two consecutive units (a contract counts as one)."""
        return 12 if self is PaymentUnit.YEAR else 1


class PaymentRule(BaseModel):
    """How one payment may be made: a parameters.yaml value (`voluntary_payment_rules`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: PaymentUnit
    counts: tuple[int, ...] = Field(min_length=1)  # units one payment may cover
    advance_months_max: int = Field(ge=0)  # the last unit starts at most this long after payment
    arrears_months_max: int = Field(ge=0)  # the first unit starts at most this long before it

    @field_validator("counts")
    @classmethod
    def _ascending(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(c < 1 for c in value) or list(value) != sorted(set(value)):
            raise ValueError("counts must be positive and strictly increasing")
        return value


class Benefit(BaseModel):
    """One benefit of the fund: an amount (or a range the fund decides within) per event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str = Field(min_length=1)
    amount_min: Decimal = Field(ge=0)
    amount_max: Decimal = Field(ge=0)
    per_month_for: int | None = Field(default=None, ge=1)  # a monthly benefit, at most N months

    @model_validator(mode="after")
    def _range(self) -> Benefit:
        if self.amount_max < self.amount_min:
            raise ValueError("amount_max must not be below amount_min")
        return self


@dataclass(frozen=True, slots=True)
class VoluntaryTerms:
    """A voluntary scheme's terms at one month, from the fund's rules."""

    rule: PaymentRule
    income_floor_minor: int | None = None  # None: a flat amount, no declared income
    income_ceiling_minor: int | None = None
    support_months_max: int | None = None  # months of state support a worker may receive
    support_groups: tuple[str, ...] = ()  # who the state supports (VN: poor, near_poor, ...)
    insurance_periods: bool = True  # the months paid are voluntary insurance periods
    benefits: tuple[Benefit, ...] = ()  # a welfare fund's benefits, as data

    @property
    def needs_income(self) -> bool:
        return self.income_floor_minor is not None


# Every home fund's parameters.yaml has this key (its params.py lists the handle).
PAYMENT_RULES: Param[dict[str, PaymentRule]] = param(
    "voluntary_payment_rules", "rule", dict[str, PaymentRule])


def payment_rule(parameters: Parameters, scheme: str, month: Month) -> PaymentRule:
    """The dated payment rule of a voluntary scheme; a month whose entry omits the scheme is
    one the scheme cannot be paid at (e.g. Vietnamese voluntary SI before July 2025)."""
    rules = parameters.at(PAYMENT_RULES, month)
    found = rules.get(scheme)
    if found is None:
        raise DomainError(ErrorCode.PARAMETER_NOT_IN_FORCE,
                          f"{parameters.fund} voluntary_payment_rules has no {scheme} at {month}",
                          field=PAYMENT_RULES.key)
    return found
