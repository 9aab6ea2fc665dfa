"""Handles on every key of jp_jps/parameters.yaml, and the shape of the grade table."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict, RootModel, model_validator

from ledger.adapters.parameters import Param, param
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding


class GradeTable(RootModel[list[tuple[int, Decimal, Decimal]]]):
    """Rows (grade, monthly remuneration from (inclusive), standard monthly remuneration)."""

    @model_validator(mode="after")
    def _ordered(self) -> GradeTable:
        rows = self.root
        if [r[0] for r in rows] != list(range(1, len(rows) + 1)):
            raise ValueError("grades must be numbered 1, 2, 3, ... in order")
        if not rows or rows[0][1] != 0:
            raise ValueError("grade 1 must start at 0")
        if any(b[1] <= a[1] or b[2] <= a[2] for a, b in pairwise(rows)):
            raise ValueError("remuneration bounds and standard amounts must increase")
        return self


class RateRounding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    decimals: int
    rounding: Rounding


EPI_RATES = param("epi_rates", "percent", dict[Payer, Decimal])
EPI_GRADES = param("epi_grades", "currency", GradeTable)
NP_PREMIUM = param("np_premium", "currency", Decimal)
ROUNDING = param("amount_rounding", "choice", Rounding)
LSWP_MIN_MONTHS = param("lswp_min_months", "months", int)
LSWP_MAX_MONTHS = param("lswp_max_months", "months", int)
LSWP_FACTOR_STEP = param("lswp_months_factor_step", "months", int)
LSWP_CLAIM_WINDOW = param("lswp_claim_window_months", "months", int)
LSWP_RATE_ROUNDING = param("lswp_payment_rate_rounding", "choice", RateRounding)
LSWP_AMOUNT_ROUNDING = param("lswp_amount_rounding", "choice", Rounding)
LSWP_WITHHOLDING = param("lswp_withholding_rate", "percent", Decimal)
LSWP_WITHHOLDING_ROUNDING = param("lswp_withholding_rounding", "choice", Rounding)
LSWP_REENTRY_BAR = param("lswp_reentry_permit_bar", "flag", bool)
# the tax really due on the EPI lump sum (retirement_tax.py), and the refund's claim window
SERVICE_YEARS_ROUNDING = param("lswp_service_years_rounding", "choice", Rounding)
RETIREMENT_DEDUCTION_PER_YEAR = param("retirement_deduction_per_year", "currency", Decimal)
RETIREMENT_DEDUCTION_MIN = param("retirement_deduction_min", "currency", Decimal)
RETIREMENT_TAXABLE_RATIO = param("retirement_taxable_ratio", "ratio", Decimal)
RETIREMENT_SHORT_SERVICE_YEARS_MAX = param("retirement_short_service_years_max", "years", int)
RETIREMENT_SHORT_SERVICE_HALF_LIMIT = param("retirement_short_service_half_limit", "currency",
                                            Decimal)
RETIREMENT_TAXABLE_STEP = param("retirement_taxable_step", "currency", Decimal)
TAX_BRACKETS = param("income_tax_brackets", "rule", list[tuple[int, Decimal, int]])
SURTAX_RATE = param("reconstruction_surtax_rate", "percent", Decimal)
SURTAX_ROUNDING = param("reconstruction_surtax_rounding", "choice", Rounding)
TAX_REFUND_CLAIM_WINDOW = param("lswp_tax_refund_claim_window_months", "months", int)

ALL: tuple[Param[Any], ...] = (
    EPI_RATES, EPI_GRADES, NP_PREMIUM, ROUNDING, LSWP_MIN_MONTHS, LSWP_MAX_MONTHS,
    LSWP_FACTOR_STEP, LSWP_CLAIM_WINDOW, LSWP_RATE_ROUNDING, LSWP_AMOUNT_ROUNDING,
    LSWP_WITHHOLDING, LSWP_WITHHOLDING_ROUNDING, LSWP_REENTRY_BAR,
    SERVICE_YEARS_ROUNDING, RETIREMENT_DEDUCTION_PER_YEAR, RETIREMENT_DEDUCTION_MIN,
    RETIREMENT_TAXABLE_RATIO, RETIREMENT_SHORT_SERVICE_YEARS_MAX,
    RETIREMENT_SHORT_SERVICE_HALF_LIMIT, RETIREMENT_TAXABLE_STEP, TAX_BRACKETS, SURTAX_RATE,
    SURTAX_ROUNDING, TAX_REFUND_CLAIM_WINDOW,
)
