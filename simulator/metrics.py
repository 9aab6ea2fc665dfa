"""Metrics of one simulated policy: the tables, series and flows every output is drawn from.

Owns `PolicyMetrics` and `measure`. The CSV tables, the HTML report and the terminal summary all
read the same `PolicyMetrics`, so a headline number is a table cell by construction. Amounts are
kept in each fund's currency and converted to US cents for comparison at the scenario's
`fx_per_usd` rates, rounded half-even (the pilot agreement's settlement rounding) once per cell.
Inter-fund settlement is netted per monthly window with `ledger.settlement.netting`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ledger.adapters.arith import IntArray
from ledger.domain.funds import FUNDS
from ledger.domain.money import Currency, Rounding
from ledger.settlement.netting import net_obligations
from ledger.settlement.rounding import round_ratio, round_ratio_array
from simulator.engine import Outcome
from simulator.population import Exit
from simulator.scenario import DESTINATIONS, Scenario
from simulator.state import KINDS

FX_ROUNDING = Rounding.HALF_EVEN
SHARE_BINS = tuple(range(0, 210, 10))  # recovered share of own contributions, percent; last: 200+
LONG_TERM = {("TH-SSO", "s33-old-age"), ("TH-SSO", "s39-voluntary"), ("JP-JPS", "epi"),
             ("VN-VSS", "retirement-survivorship"), ("VN-VSS", "voluntary-si"),
             ("KH-NSSF", "voluntary-pension"), ("LA-LSSO", "voluntary"),
             ("MM-SSB", "voluntary-abroad")}
DESTINATION_FUNDS = frozenset(DESTINATIONS.values())
Cell = str | int


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True, eq=False)
class PolicyMetrics:
    policy: str
    title: str
    workers: int
    headline: dict[str, int]  # US cents, or counts (keys ending in _count / _months)
    tables: dict[str, Table]
    series: dict[str, IntArray]  # monthly, US cents (or counts for messages)
    histogram: dict[str, IntArray]  # corridor -> workers per SHARE_BINS bin
    flows: tuple[tuple[str, str, int], ...]  # Sankey (source, target, US cents)
    notes: dict[str, str] = field(default_factory=dict)


class Fx:
    """Exact conversion into US cents at the scenario's rates."""

    def __init__(self, scenario: Scenario) -> None:
        self._ratio: dict[str, Fraction] = {}
        for currency, rate in scenario.fx_per_usd.items():
            # minor units of `currency` -> US cents: / 10**exp / per_usd * 100
            self._ratio[currency.value] = Fraction(100) / (
                Fraction(rate.value) * 10 ** currency.exponent)

    def usd(self, amount_minor: int, currency: str) -> int:
        r = self._ratio[currency]
        return round_ratio(amount_minor * r.numerator, r.denominator, FX_ROUNDING)

    def usd_array(self, amounts: IntArray, currency: str) -> IntArray:
        r = self._ratio[currency]
        return round_ratio_array(amounts * np.int64(r.numerator), r.denominator, FX_ROUNDING)


def currency_of(fund: str) -> str:
    return FUNDS[fund].currency.value


def measure(outcome: Outcome) -> PolicyMetrics:
    run, t, pop = outcome.run, outcome.totals, outcome.pop
    fx = Fx(run.scenario)
    contributions = tuple(
        (fund, scheme, payer, currency_of(fund), amount, fx.usd(amount, currency_of(fund)))
        for (fund, scheme, payer), amount in sorted(t.contributions.items()))
    recovered = tuple(
        (kind, ccy, amount, fx.usd(amount, ccy),
         int(t.recovered_monthly[(kind, ccy)][-1]),
         fx.usd(int(t.recovered_monthly[(kind, ccy)][-1]), ccy))
        for (kind, ccy), amount in sorted(t.recovered.items()))
    forfeited = tuple((f, currency_of(f), a, fx.usd(a, currency_of(f)))
                      for f, a in sorted(t.forfeited.items()))
    fees = tuple((c, a, fx.usd(a, c)) for c, a in sorted(t.agent_fees.items()))
    gross, net, windows = _settlement(outcome, fx)
    long_term = sum(r[5] for r in contributions if (r[0], r[1]) in LONG_TERM)
    host_long_term = sum(r[5] for r in contributions
                         if (r[0], r[1]) in LONG_TERM and r[0] in DESTINATION_FUNDS)
    own_usd, rec_usd = _own_and_recovered(outcome, fx)
    headline = {
        "contributions_usd": sum(r[5] for r in contributions),
        "long_term_contributions_usd": long_term,
        "destination_long_term_usd": host_long_term,
        "recovered_usd": sum(r[3] for r in recovered),
        "recovered_after_horizon_usd": sum(r[5] for r in recovered),
        "own_contributions_settled_usd": own_usd,
        "recovered_settled_usd": rec_usd,
        "forfeited_usd": sum(r[3] for r in forfeited),
        "agent_fees_usd": sum(r[2] for r in fees),
        "tax_unclaimed_usd": fx.usd(t.tax_unclaimed, "JPY"),
        "tax_due_usd": fx.usd(t.tax_due, "JPY"),
        "double_contribution_usd": fx.usd(t.double_value, "VND"),
        "double_contribution_months": int(outcome.balances.double_months.sum()),
        "periods_lost_months": t.periods_lost_months,
        "workers_lost_count": t.workers_lost,
        "pension_rights_count": t.pension_rights,
        "through_totalisation_count": t.through_totalisation,
        "settlement_gross_usd": gross,
        "settlement_net_usd": net,
        "settlement_windows_count": windows,
        "transfers_count": t.transfers,
        "certificates_count": t.certificates,
        "messages_peak_month_count": int(t.messages_monthly.max(initial=0)),
        "messages_total_count": int(t.messages_monthly.sum()),
        "workers_count": pop.size,
        "workers_settled_count": int(outcome.worker.settled.sum()),
    }
    tables = {
        "contributions": Table(("fund", "scheme", "payer", "currency", "amount_minor",
                                "usd_cents"), contributions),
        "recovered": Table(("kind", "currency", "amount_minor", "usd_cents",
                            "after_horizon_minor", "after_horizon_usd_cents"), recovered),
        "forfeited": Table(("fund", "currency", "amount_minor", "usd_cents"), forfeited),
        "agent_fees": Table(("currency", "amount_minor", "usd_cents"), fees),
        "rights": Table(("fund", "workers_with_right"),
                        tuple(sorted(t.rights_by_fund.items()))),
        "exits": _exits(outcome),
        "recovered_share": _share_table(outcome),
        "headline": Table(("metric", "value"), tuple(headline.items())),
    }
    return PolicyMetrics(
        policy=run.policy, title=_title(outcome), workers=pop.size, headline=headline,
        tables=tables, series=_series(outcome, fx), histogram=_histograms(outcome),
        flows=_flows(outcome, fx, contributions),
    )


def _title(outcome: Outcome) -> str:
    return f"{outcome.run.policy} ({outcome.run.agreement.title})"


def _own_and_recovered(outcome: Outcome, fx: Fx) -> tuple[int, int]:
    """Σ own contributions and Σ recovered, in US cents, of workers who settled."""
    own = rec = 0
    w, pop = outcome.worker, outcome.pop
    for fund, rows in pop.slices.items():
        settled = w.settled[rows]
        ccy = currency_of(fund)
        own += fx.usd(int(w.own[rows][settled].sum()), ccy)
        rec += fx.usd(int(w.recovered[rows][settled].sum()), ccy)
    return own, rec


def share_bp(outcome: Outcome) -> tuple[IntArray, np.ndarray]:
    """Per worker recovered / own contributions in basis points (floor), and who has one."""
    w = outcome.worker
    has = w.settled & (w.own > 0)
    bp = np.zeros(w.own.size, dtype=np.int64)
    bp[has] = w.recovered[has] * 10_000 // w.own[has]
    return bp, has


def _histograms(outcome: Outcome) -> dict[str, IntArray]:
    bp, has = share_bp(outcome)
    bins = np.minimum(bp // 1000, len(SHARE_BINS) - 1)
    out: dict[str, IntArray] = {}
    for index, name in enumerate(outcome.pop.corridors):
        rows = has & (outcome.pop.corridor == index)
        out[name] = np.bincount(bins[rows], minlength=len(SHARE_BINS)).astype(np.int64)
    return out


def _share_table(outcome: Outcome) -> Table:
    bp, has = share_bp(outcome)
    rows = []
    for index, name in enumerate(outcome.pop.corridors):
        mine = bp[has & (outcome.pop.corridor == index)]
        if mine.size == 0:
            rows.append((name, 0, 0, 0, 0))
            continue
        ordered = np.sort(mine)
        rows.append((name, int(mine.size), int(ordered[mine.size // 2]),
                     int(ordered[mine.size // 10]), int((mine == 0).sum())))
    return Table(("corridor", "workers", "median_bp", "p10_bp", "recovered_nothing"),
                 tuple(rows))


def _exits(outcome: Outcome) -> Table:
    pop, h = outcome.pop, outcome.pop.horizon
    rows = [(reason.name.lower(), int(((pop.reason == reason) & (pop.exit < h)).sum()))
            for reason in Exit]
    rows.append(("still_insured_at_end", int((pop.exit >= h).sum())))
    return Table(("exit", "workers"), tuple(rows))


def _series(outcome: Outcome, fx: Fx) -> dict[str, IntArray]:
    t, h = outcome.totals, outcome.pop.horizon
    out: dict[str, IntArray] = {}
    for fund, monthly in sorted(t.contributions_monthly.items()):
        out[f"contributions:{fund}"] = fx.usd_array(np.cumsum(monthly)[:h], currency_of(fund))
    for kind in KINDS:
        total = np.zeros(h, dtype=np.int64)
        for (k, ccy), monthly in t.recovered_monthly.items():
            if k == kind:
                total += fx.usd_array(monthly[:h], ccy)
        out[f"recovered:{kind}"] = total
    out["messages"] = t.messages_monthly.copy()
    return out


def _settlement(outcome: Outcome, fx: Fx) -> tuple[int, int, int]:
    """Gross and net inter-fund settlement (US cents) over monthly windows, netted."""
    t = outcome.totals
    funds = sorted({f for key in t.settlement_monthly for f in key[:2]})
    if not funds:
        return 0, 0, 0
    gross = net = windows = 0
    for month in range(t.horizon + 1):
        payers, payees, amounts = [], [], []
        for (payer, payee, ccy), monthly in t.settlement_monthly.items():
            amount = fx.usd(int(monthly[month]), ccy)
            if amount > 0:
                payers.append(funds.index(payer))
                payees.append(funds.index(payee))
                amounts.append(amount)
        if not amounts:
            continue
        result = net_obligations(payers, payees, amounts, funds, Currency.USD)
        gross += result.gross_volume
        net += result.net_volume
        windows += 1
    return gross, net, windows


def _flows(outcome: Outcome, fx: Fx, contributions: tuple[tuple[Cell, ...], ...]
           ) -> tuple[tuple[str, str, int], ...]:
    """Long-term money: payers -> funds -> what became of it (US cents)."""
    t = outcome.totals
    flows: list[tuple[str, str, int]] = []
    inflow: dict[str, int] = {}
    for fund, scheme, payer, _, _, usd in contributions:
        if (fund, scheme) in LONG_TERM and isinstance(usd, int) and usd > 0:
            flows.append((f"{payer}", str(fund), usd))
            inflow[str(fund)] = inflow.get(str(fund), 0) + usd
    out: dict[str, dict[str, int]] = {f: {} for f in inflow}

    def add(fund: str, target: str, usd: int) -> None:
        if fund in out and usd > 0:
            out[fund][target] = out[fund].get(target, 0) + usd

    for (kind, ccy), amount in t.recovered.items():
        fund = "TH-SSO" if ccy == "THB" else "JP-JPS"
        if kind == "transfer":
            continue
        label = {"refund": "refunded to workers", "tax_refund": "refunded to workers",
                 "pension_right": "pension rights kept"}[kind]
        add(fund, label, fx.usd(amount, ccy))
    for (payer, payee, ccy), monthly in t.settlement_monthly.items():
        add(payer, f"transferred to {payee}", fx.usd(int(monthly.sum()), ccy))
    for ccy, amount in t.agent_fees.items():
        add("TH-SSO" if ccy == "THB" else "JP-JPS", "agents' fees", fx.usd(amount, ccy))
    add("JP-JPS", "tax not reclaimed", fx.usd(t.tax_unclaimed, "JPY"))
    add("JP-JPS", "income tax due", fx.usd(t.tax_due, "JPY"))
    for fund, amount in t.forfeited.items():
        add(fund, "forfeited to fund", fx.usd(amount, currency_of(fund)))
    for fund, targets in out.items():
        if fund not in DESTINATION_FUNDS:
            targets = {"held by home fund": inflow[fund]}
        else:
            rest = inflow[fund] - sum(targets.values())
            if rest > 0:
                targets["still insured or pending"] = rest
        flows.extend((fund, target, usd) for target, usd in sorted(targets.items()))
    return tuple(flows)
