"""Handles on every key of vn_vss/parameters.yaml, and the shapes of its rule tables."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ledger.adapters.parameters import Param, param
from ledger.adapters.voluntary_terms import PAYMENT_RULES
from ledger.adapters.welfare import WELFARE
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding


class Regime(StrEnum):
    EMPLOYEE = "employee"  # Vietnamese employee in Vietnam
    FOREIGN = "foreign"  # foreign employee in Vietnam (17.5 / 3 and 8 / 1.5 from July 2022)
    ABROAD = "abroad"  # Vietnamese contract worker abroad: 22% retirement, self-paid


class OddMonths(StrEnum):
    HALF_YEAR_BANDS = "half_year_bands"  # 1-6 odd months count half a year, 7-11 a full year
    EXACT = "exact"  # months / 12


class ReasonRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_years: int | None = None  # only with fewer than this many contribution years
    waiting_months: int = 0  # months since the last contribution before a claim


class WithdrawalConditions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reasons: dict[str, ReasonRule]  # grounds open to people insured before `new_entrant_from`
    new_entrant_from: str | None = None  # YYYY-MM: first contribution on or after it
    new_entrant_reasons: dict[str, ReasonRule] = Field(default_factory=dict)


class WithdrawalAccrual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    split_month: str  # YYYY-MM: months before it accrue `months_per_year_before`
    months_per_year_before: Decimal
    months_per_year_from: Decimal
    under_one_year_cap_months: Decimal  # < 12 months: contributions paid, capped at this
    odd_months: OddMonths
    carry_odd_months_before_split: bool  # odd months before the split join the later period


RATES = param("contribution_rates", "percent", dict[Regime, dict[str, dict[Payer, Decimal]]])
BASE_SALARY = param("base_salary", "currency", Decimal)
SI_CAP_MULTIPLE = param("si_hi_cap_multiple", "ratio", Decimal)
UI_CAP_MULTIPLE = param("ui_cap_multiple", "ratio", Decimal)
REGIONAL_MIN_WAGE = param("regional_minimum_wage", "currency", dict[int, Decimal])
ABROAD_BASE_MULTIPLE = param("abroad_base_multiple", "ratio", Decimal)
ROUNDING = param("amount_rounding", "choice", Rounding)
WITHDRAWAL_CONDITIONS = param("withdrawal_conditions", "rule", WithdrawalConditions)
WITHDRAWAL_ACCRUAL = param("withdrawal_accrual", "rule", WithdrawalAccrual)
# voluntary SI and the Overseas Employment Support Fund
VOLUNTARY_RATE = param("voluntary_si_rate", "percent", Decimal)
VOLUNTARY_FLOOR = param("voluntary_si_income_floor", "currency", Decimal)
VOLUNTARY_CEILING_MULTIPLE = param("voluntary_si_ceiling_multiple", "ratio", Decimal)
SUPPORT_RATES = param("voluntary_si_support_rates", "percent", dict[str, Decimal])
SUPPORT_MONTHS = param("voluntary_si_support_months_max", "months", int)

ALL: tuple[Param[Any], ...] = (
    RATES, BASE_SALARY, SI_CAP_MULTIPLE, UI_CAP_MULTIPLE, REGIONAL_MIN_WAGE, ABROAD_BASE_MULTIPLE,
    ROUNDING, WITHDRAWAL_CONDITIONS, WITHDRAWAL_ACCRUAL, VOLUNTARY_RATE, VOLUNTARY_FLOOR,
    VOLUNTARY_CEILING_MULTIPLE, SUPPORT_RATES, SUPPORT_MONTHS, PAYMENT_RULES, WELFARE,
)
