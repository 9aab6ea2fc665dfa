"""Handles on every key of kh_nssf/parameters.yaml, and the shapes of its tables."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict, RootModel, model_validator

from ledger.adapters.parameters import Param, param
from ledger.adapters.voluntary_terms import PAYMENT_RULES
from ledger.adapters.welfare import WELFARE
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding


class RankTable(RootModel[list[tuple[int, Decimal | None, Decimal]]]):
    """Rows (rank, wage above which the rank starts (exclusive; none for rank 1), contributory
    wage)."""

    @model_validator(mode="after")
    def _ordered(self) -> RankTable:
        rows = self.root
        if [r[0] for r in rows] != list(range(1, len(rows) + 1)):
            raise ValueError("ranks must be numbered 1, 2, 3, ... in order")
        if not rows or rows[0][1] is not None or any(r[1] is None for r in rows[1:]):
            raise ValueError("rank 1 has no lower bound (null) and every other rank has one")
        bounds = [r[1] for r in rows[1:] if r[1] is not None]
        if any(b <= a for a, b in pairwise(bounds)):
            raise ValueError("lower bounds must increase")
        return self


class PensionSchedule(BaseModel):
    """Total pension rate by scheme year (year 1 starts at `scheme_start`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme_start: str  # YYYY-MM
    steps: list[tuple[int, Decimal]]  # (first scheme year, total percent)
    increment: Decimal  # percent added every `increment_every_years` after the last step
    increment_every_years: int

    @model_validator(mode="after")
    def _ordered(self) -> PensionSchedule:
        years = [s[0] for s in self.steps]
        if not years or years[0] != 1 or years != sorted(set(years)):
            raise ValueError("steps must start at year 1 and increase")
        if self.increment_every_years < 1:
            raise ValueError("increment_every_years must be at least 1")
        return self


OR_RATES = param("occupational_risk_rates", "percent", dict[Payer, Decimal])
HC_RATES = param("health_care_rates", "percent", dict[Payer, Decimal])
RANKS = param("wage_ranks", "currency", RankTable)
RANK_FLOOR = param("ranked_wage_floor", "currency", Decimal)
PENSION_FLOOR = param("pension_wage_floor", "currency", Decimal)
PENSION_CEILING = param("pension_wage_ceiling", "currency", Decimal)
PENSION_SCHEDULE = param("pension_rate_schedule", "percent", PensionSchedule)
PENSION_SPLIT = param("pension_split", "percent", dict[Payer, Decimal])
ROUNDING = param("amount_rounding", "choice", Rounding)
QUANTUM = param("amount_quantum", "currency", Decimal)
VOLUNTARY_FLOOR = param("voluntary_pension_income_floor", "currency", Decimal)
VOLUNTARY_CEILING = param("voluntary_pension_income_ceiling", "currency", Decimal)
VOLUNTARY_SHARE = param("voluntary_pension_member_share", "percent", Decimal)

ALL: tuple[Param[Any], ...] = (
    OR_RATES, HC_RATES, RANKS, RANK_FLOOR, PENSION_FLOOR, PENSION_CEILING, PENSION_SCHEDULE,
    PENSION_SPLIT, ROUNDING, QUANTUM, VOLUNTARY_FLOOR, VOLUNTARY_CEILING, VOLUNTARY_SHARE,
    PAYMENT_RULES, WELFARE,
)
