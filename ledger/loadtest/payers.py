"""Who pays a home-fund voluntary scheme through a payment channel, and what they may pay.

Owns `routes` (from the channel registry: a worker in destination country D from origin O pays
through D's channel into O's home fund, in the first voluntary scheme the channel collects for
it, the migrant welfare fees aside), `channel_payers` (the simulator's population: workers
paying a destination fund in the month whose route exists, and who take up the digital channel —
the policy's `digital_voluntary.uptake_share` against each worker's own `u_digital` draw, the
same common random number the simulator uses for s39 from home) and `payable_months` (the months
a scheme accepts in a payment made today, found by asking the fund's own rule month by month).

The simulator does not model home-fund voluntary schemes yet: applying the s39 uptake share to
them is an assumption, stated in docs/capacity.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

import numpy as np

from ledger.adapters.registry import get_adapter
from ledger.adapters.voluntary import quote_voluntary_payment
from ledger.channels.registry import ChannelRegistry, load_registry
from ledger.domain.errors import DomainError
from ledger.domain.funds import FUNDS
from ledger.domain.money import Money
from ledger.domain.periods import Month
from ledger.settlement.agreement import Agreement, bundled_agreement

HUB_AGREEMENT = "clmtv-2019-pilot"  # the agreement the hub runs (ledger/api/app.py)
WELFARE = "migrant-welfare"  # per-contract or yearly fees: not the monthly mobile payment
MONTHS_AHEAD_MAX = 24  # months offered to a payer, from this month on


@dataclass(frozen=True, slots=True)
class Route:
    channel: str
    wallet_currency: str
    fund: str
    scheme: str


def home_fund(origin: str) -> str | None:
    return next((code for code, f in FUNDS.items() if f.country == origin), None)


def routes(registry: ChannelRegistry) -> dict[tuple[str, str], Route]:
    """(destination country, home fund) -> the channel and scheme a worker there pays by."""
    out: dict[tuple[str, str], Route] = {}
    for code, channel in registry.channels.items():
        for item in channel.collects:
            scheme = next((s for s in item.schemes if s != WELFARE), None)
            if scheme is not None:
                out.setdefault((channel.country, item.fund), Route(
                    code, channel.wallet_currencies[0].value, item.fund, scheme))
    return out


def default_routes() -> dict[tuple[str, str], Route]:
    return routes(load_registry(bundled_agreement(HUB_AGREEMENT)))


def channel_payers(outcome: Any, index: int, table: dict[tuple[str, str], Route]
                   ) -> dict[int, Route]:
    """Workers (population rows) who pay through a channel in month `index`, with their route."""
    pop, cov = outcome.pop, outcome.coverage
    uptake = float(outcome.run.scenario.digital_voluntary.uptake_share.value)
    paying = (cov.host_first <= index) & (index < cov.host_stop) & (pop.u_digital < uptake)
    by_corridor: dict[int, Route | None] = {}
    for k, name in enumerate(pop.corridors):
        origin, destination = name.split("-")
        fund = home_fund(origin)
        by_corridor[k] = table.get((destination, fund)) if fund is not None else None
    out = {}
    for i in np.flatnonzero(paying).tolist():
        route = by_corridor[int(pop.corridor[i])]
        if route is not None:
            out[int(i)] = route
    return out


def payable_months(fund: str, scheme: str, today: date, agreement: Agreement,
                   declared_income: Money | None) -> list[str]:
    """The months a one-month payment made `today` may buy, asked of the fund's own rule."""
    opened = agreement.opened_voluntary_schemes()
    start = Month.of(today)
    out = []
    for k in range(-12, MONTHS_AHEAD_MAX):
        month = start.plus(k)
        try:
            quote_voluntary_payment(fund, scheme, [month], declared_income, today, opened=opened)
        except DomainError:
            continue
        out.append(str(month))
    return out


def income_bounds(fund: str, scheme: str, month: Month) -> tuple[int, int] | None:
    terms = get_adapter(fund).voluntary_terms(scheme, month)
    if terms is None or terms.income_floor_minor is None:
        return None
    return terms.income_floor_minor, terms.income_ceiling_minor or terms.income_floor_minor


def declared_income(wage_minor: int, rate_to_home: Decimal, step_minor: int,
                    bounds: tuple[int, int]) -> int:
    """The wage converted at the reference rate, kept within the scheme's bounds, rounded down
    to `step_minor` (declared incomes are round figures)."""
    converted = (Decimal(wage_minor) * rate_to_home).to_integral_value(ROUND_DOWN)
    rounded = int(converted) // step_minor * step_minor
    return min(max(rounded, bounds[0]), bounds[1])
