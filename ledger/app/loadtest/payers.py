"""Who pays a home-fund voluntary scheme through a payment channel, and what they may pay.

Owns `routes` (from the channel registry: a worker in destination country D pays through D's
channel into the home fund), `channel_payers` (the simulator's own payers: the workers whose home
voluntary scheme it has paid from abroad in the month, `Coverage.home_first/home_stop`, each with
the channel of their destination that collects that scheme), `payer_income` (the declared income
the simulator prices them on, for the schemes that take one) and `payable_months` (the months a
scheme accepts in a payment made today, asked of the fund's own rule month by month).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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
    """Workers (population rows) who pay their home scheme through a channel in month `index`,
    with their route: the simulator's payers whose destination has a channel collecting the
    scheme the simulator priced (`simulator.paying.HOME_VOLUNTARY`)."""
    from simulator.paying import HOME_VOLUNTARY

    pop, cov = outcome.pop, outcome.coverage
    paying = (cov.home_first <= index) & (index < cov.home_stop)
    by_corridor: dict[int, Route | None] = {}
    for k, name in enumerate(pop.corridors):
        origin, destination = name.split("-")
        fund, scheme = HOME_VOLUNTARY.get(origin, ("", ""))
        route = table.get((destination, fund))
        by_corridor[k] = (Route(route.channel, route.wallet_currency, fund, scheme)
                          if route is not None and _collects(route, scheme) else None)
    out = {}
    for i in np.flatnonzero(paying).tolist():
        found = by_corridor[int(pop.corridor[i])]
        if found is not None:
            out[int(i)] = found
    return out


def _collects(route: Route, scheme: str) -> bool:
    channel = load_registry(bundled_agreement(HUB_AGREEMENT)).channels.get(route.channel)
    return channel is not None and any(c.fund == route.fund and scheme in c.schemes
                                       for c in channel.collects)


def payer_income(outcome: Any, origin: str, route: Route, month: Month) -> int | None:
    """The income the simulator's payers of `origin` declare (minor units), for a scheme that
    takes one; None for a flat-amount scheme."""
    from simulator.paying import home_income_minor

    if income_bounds(route.fund, route.scheme, month) is None:
        return None
    return home_income_minor(outcome.run, origin)


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
