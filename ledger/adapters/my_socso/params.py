"""Handles on every key of my_socso/parameters.yaml."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger.adapters.parameters import Param, param
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding

RATES = param("rates", "percent", dict[Payer, Decimal])
CEILING = param("wage_ceiling", "currency", Decimal)
ROUNDING = param("amount_rounding", "choice", Rounding)
ALL: tuple[Param[Any], ...] = (RATES, CEILING, ROUNDING)
