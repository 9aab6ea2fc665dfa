"""Handles on every key of th_sso/parameters.yaml (the contribution rules and the old-age rules
read the same file)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger.adapters.parameters import Param, param
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding

# contributions
FLOOR = param("s33_wage_floor", "currency", Decimal)
CEILING = param("s33_wage_ceiling", "currency", Decimal)
S33_RATES = param("s33_rates", "percent", dict[str, dict[Payer, Decimal]])
S39_WAGE = param("s39_assumed_wage", "currency", Decimal)
S39_RATE = param("s39_rate", "percent", Decimal)
S40_OPTIONS = param("s40_options", "currency", dict[int, Decimal])
ROUNDING = param("amount_rounding", "choice", Rounding)
QUANTUM = param("amount_quantum", "currency", Decimal)
# old-age benefit
CLAIM_AGE = param("old_age_claim_age", "age", int)
CLAIM_WINDOW = param("old_age_claim_window_months", "months", int)
REQUIRES_STATUS_ENDED = param("old_age_requires_insured_status_ended", "flag", bool)
LUMP_SUM_ON_DEPARTURE = param("old_age_lump_sum_on_departure", "flag", bool)
PENSION_MONTHS = param("old_age_pension_min_months", "months", int)
BOTH_SHARES_MONTHS = param("old_age_both_shares_min_months", "months", int)
PENSION_RATE = param("old_age_pension_rate", "percent", Decimal)
PENSION_STEP_RATE = param("old_age_pension_step_rate", "percent", Decimal)
PENSION_STEP_MONTHS = param("old_age_pension_step_months", "months", int)
AVERAGE_MONTHS = param("old_age_pension_average_months", "months", int)
SLICE_SHARE = param("old_age_share_of_slice", "ratio", Decimal)
RETURN_RATE = param("old_age_return_rate_annual", "percent", Decimal)

ALL: tuple[Param[Any], ...] = (
    FLOOR, CEILING, S33_RATES, S39_WAGE, S39_RATE, S40_OPTIONS, ROUNDING, QUANTUM,
    CLAIM_AGE, CLAIM_WINDOW, REQUIRES_STATUS_ENDED, LUMP_SUM_ON_DEPARTURE, PENSION_MONTHS,
    BOTH_SHARES_MONTHS,
    PENSION_RATE, PENSION_STEP_RATE, PENSION_STEP_MONTHS, AVERAGE_MONTHS, SLICE_SHARE, RETURN_RATE,
)
