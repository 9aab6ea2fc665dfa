"""Handles on every key of mm_ssb/parameters.yaml."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from ledger.adapters.parameters import Param, param
from ledger.adapters.voluntary_terms import PAYMENT_RULES
from ledger.adapters.welfare import WELFARE
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding


class RateReading(StrEnum):
    """How to read the sources' rates (they agree except for workers registered at 60+)."""

    BRANCH_TABLE = "branch_table"  # per-branch table, with 2.5 / 2.5 health care at 60+
    PRACTICE_3_2 = "practice_3_2"  # 3% employer / 2% employee for everyone, as vendors quote


RATES = param("rates", "percent", dict[str, dict[Payer, Decimal]])
RATES_60_PLUS = param("rates_registered_at_60_or_over", "percent",
                      dict[str, dict[Payer, Decimal]])
RATE_READING = param("rate_reading", "choice", RateReading)
FLOOR = param("wage_floor", "currency", Decimal)
CEILING = param("wage_ceiling", "currency", Decimal)
ROUNDING = param("amount_rounding", "choice", Rounding)
QUANTUM = param("amount_quantum", "currency", Decimal)
VOLUNTARY_RATE = param("voluntary_abroad_rate", "percent", Decimal)
VOLUNTARY_FLOOR = param("voluntary_abroad_income_floor", "currency", Decimal)

ALL: tuple[Param[Any], ...] = (RATES, RATES_60_PLUS, RATE_READING, FLOOR, CEILING, ROUNDING,
                               QUANTUM, VOLUNTARY_RATE, VOLUNTARY_FLOOR, PAYMENT_RULES, WELFARE)
