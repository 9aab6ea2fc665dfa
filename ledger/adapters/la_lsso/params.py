"""Handles on every key of la_lsso/parameters.yaml."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger.adapters.parameters import Param, param
from ledger.adapters.voluntary_terms import PAYMENT_RULES
from ledger.adapters.welfare import WELFARE
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding

RATES = param("rates", "percent", dict[Payer, Decimal])
FLOOR = param("wage_floor", "currency", Decimal)
CEILING = param("wage_ceiling", "currency", Decimal)
VOLUNTARY_RATE = param("voluntary_rate", "percent", Decimal)
ROUNDING = param("amount_rounding", "choice", Rounding)
QUANTUM = param("amount_quantum", "currency", Decimal)

ALL: tuple[Param[Any], ...] = (RATES, FLOOR, CEILING, VOLUNTARY_RATE, ROUNDING, QUANTUM,
                               PAYMENT_RULES, WELFARE)
