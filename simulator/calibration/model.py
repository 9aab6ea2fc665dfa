"""The baseline lived through the published years, in expected values.

Owns `live` and `measure`. Workers arrive each month (a corridor's arrivals a year spread evenly
over its months) and leave by the rules `population.draw` applies to each simulated worker: a
contract length drawn from the corridor's table, and four monthly hazards (status change, early
return, death, disability) each striking after a geometric number of months; the earliest
ends covered work, a tie going to the contract, then to the earlier-listed hazard. Here those
draws are replaced by their probabilities, so the stock at a month is the convolution of
arrivals with the probability of still being covered: the expectation of what a population
drawn with the same arrivals would show (tests/simulator/test_calibration.py checks one against
the other), smooth in the parameters, and computed in about a millisecond, which a fit needs.

Quantities are floats: counts of people and shares, never money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ledger.domain.periods import Month
from simulator.calibration.files import Calibration, Quantity
from simulator.population import Exit, FloatArray
from simulator.scenario import Corridor, Scenario

HAZARDS = ("status_change", "return_home", "death", "disability")  # population.draw's order
LEAVES_THE_COUNTRY = (Exit.CONTRACT_END, Exit.RETURN_HOME)  # a status change stays, uncovered
LSWP_MONTHS_MIN = 6  # the LSWP needs 6 insured months (docs/reference/funds.md §1.5)


@dataclass(frozen=True, slots=True)
class Lived:
    start: Month
    months: int
    arrivals: dict[str, FloatArray]  # corridor -> arrivals per month
    stock: dict[str, FloatArray]  # corridor -> covered at the month (arrived, not yet left)
    leaving: dict[str, FloatArray]  # corridor -> [month, months stayed]: left the country
    insured_share: float
    parameters: dict[str, float]  # the calibration's own parameters (`parameters.` dropped)
    lswp_claim_share: float
    lswp_delay: int

    def index(self, month: Month) -> int:
        at = self.start.months_until(month)
        if not 0 <= at < self.months:
            raise ValueError(f"{month} is outside the calibration's {self.start} + "
                             f"{self.months} months")
        return at


def yearly_arrivals(calibration: Calibration, values: dict[str, Decimal],
                    years: range) -> dict[str, dict[int, float]]:
    """Corridor -> year -> arrivals; a split entry's arrivals shared by its weights."""
    out: dict[str, dict[int, float]] = {}
    for key, a in calibration.arrivals.items():
        level = float(values[f"arrivals.{key}.level"])
        growth = float(values[f"arrivals.{key}.growth"])
        total = {y: float(values[f"arrivals.{key}.{y}"]) if y in a.years
                 else level * math.exp(growth * (y - a.reference_year)) for y in years}
        for corridor, share in a.shares(key).items():
            out[corridor] = {y: v * share for y, v in total.items()}
    return out


def contract_table(corridor: Corridor, long_share: float | None,
                   others: dict[int, Decimal] | None = None) -> dict[int, float]:
    """Contract months -> share. With `long_share`, the longest contract takes that share and
    the shorter ones share the rest by `others` (their weights), or else by their shares in the
    scenario."""
    table = {m: float(s) for m, s in corridor.contract_months.value.items()}
    if long_share is None:
        return table
    longest = max(table)
    weights = ({m: float(w) for m, w in others.items()} if others else
               {m: s for m, s in table.items() if m != longest})
    total = sum(weights.values())
    out = {m: (1 - long_share) * w / total if total else 0.0 for m, w in weights.items()}
    out[longest] = long_share
    return out


def exit_probabilities(contracts: dict[int, float], hazards: list[float], months: int
                       ) -> tuple[FloatArray, FloatArray]:
    """(survival, ended): survival[d] = P(covered work lasts more than d months); ended[d, r] =
    P(it lasts exactly d months and ends for reason r), r in `Exit` order."""
    d = np.arange(months + 1, dtype=np.float64)
    p_contract = np.zeros(months + 1)
    for m, share in contracts.items():
        if m <= months:
            p_contract[m] += share
    contract_after = 1.0 - np.cumsum(p_contract)  # P(C > d)
    q = [1.0 - p for p in hazards]
    at_least = [qk ** d for qk in q]  # P(m_k >= d)
    beyond = [qk ** (d + 1) for qk in q]  # P(m_k > d)
    ended = np.zeros((months + 1, len(Exit)))
    ended[:, Exit.CONTRACT_END] = p_contract * np.prod(at_least, axis=0)
    for k, p in enumerate(hazards):
        others = np.ones(months + 1)
        for j in range(len(hazards)):
            if j != k:
                others *= beyond[j] if j < k else at_least[j]
        ended[:, k + 1] = p * at_least[k] * contract_after * others
    survival = contract_after * np.prod(beyond, axis=0)
    return survival, ended


def live(calibration: Calibration, scenario: Scenario, values: dict[str, Decimal]) -> Lived:
    start, end = Month.parse(calibration.start), Month.parse(calibration.end)
    months = start.months_until(end) + 1
    years = range(start.year, end.year + 1)
    per_year = yearly_arrivals(calibration, values, years)
    p = {k.removeprefix("parameters."): float(v) for k, v in values.items()
         if k.startswith("parameters.")}
    arrivals, stock, leaving = {}, {}, {}
    for corridor, by_year in per_year.items():
        monthly = np.asarray([by_year[start.plus(t).year] / 12 for t in range(months)])
        c = scenario.corridors[corridor]
        japan = corridor.endswith("-JP")
        hazards = [float(getattr(c.hazards, h).value) for h in HAZARDS]
        if japan and "jp_return_home" in p:
            hazards[HAZARDS.index("return_home")] = p["jp_return_home"]
        long_param = calibration.parameters.get("jp_long_contract_share")
        contracts = contract_table(c, p.get("jp_long_contract_share") if japan else None,
                                   long_param.others if long_param else None)
        survival, ended = exit_probabilities(contracts, hazards, months)
        arrivals[corridor] = monthly
        stock[corridor] = np.convolve(monthly, survival)[:months]
        departing = ended[:, list(LEAVES_THE_COUNTRY)].sum(axis=1)  # by months stayed
        # leaving[t, d]: arrived at t - d, left at t after d months.
        grid = np.zeros((months, months + 1))
        for t in range(months):
            grid[t, : t + 1] = monthly[t::-1] * departing[: t + 1]
        leaving[corridor] = grid
    return Lived(start, months, arrivals, stock, leaving,
                 insured_share=p.get("th_insured_share", 1.0), parameters=p,
                 lswp_claim_share=p.get("jp_claim_share",
                                        float(scenario.claims.jp.claim_share.value)),
                 lswp_delay=scenario.claims.jp.delay_months.value)


def state(lived: Lived, month: Month) -> dict[str, int]:
    """Workers in covered work per corridor at `month`, rounded half-even to whole workers; in
    Thailand only the insured share of them (the simulator's Thai workers all contribute)."""
    at = lived.index(month)
    return {c: round(float(s[at]) * (lived.insured_share if c.endswith("-TH") else 1.0))
            for c, s in sorted(lived.stock.items())}


def measure(lived: Lived, q: Quantity) -> float:
    """The simulated value of a target's quantity."""
    if q.scaled_by is not None:
        if q.scaled_by not in lived.parameters:
            raise ValueError(f"scaled_by {q.scaled_by}: the calibration has no such parameter")
        return _measure(lived, q) * lived.parameters[q.scaled_by]
    return _measure(lived, q)


def _measure(lived: Lived, q: Quantity) -> float:
    if q.measure in ("stock", "insured", "insured_share", "stock_share"):
        at = lived.index(q.months("month"))
        stock = sum(float(lived.stock[c][at]) for c in q.corridors)
        if q.measure == "stock":
            return stock
        if q.measure == "insured":
            return stock * lived.insured_share
        if q.measure == "insured_share":
            return lived.insured_share
        whole = sum(float(lived.stock[c][at]) for c in q.of or ())
        return stock / whole if whole else 0.0
    lo, hi = lived.index(q.months("from_")), lived.index(q.months("to"))
    if q.measure == "arrivals":
        return float(sum(lived.arrivals[c][lo:hi + 1].sum() for c in q.corridors))
    if q.measure == "lswp_per_stock":
        # Decided `lswp_delay` months after leaving, for stays of at least 6 months.
        left_lo, left_hi = lo - lived.lswp_delay, hi - lived.lswp_delay
        leavers = sum(float(lived.leaving[c][max(left_lo, 0):left_hi + 1, LSWP_MONTHS_MIN:].sum())
                      for c in q.corridors)
        at = lived.index(q.months("month"))
        stock = sum(float(lived.stock[c][at]) for c in q.corridors)
        return leavers * lived.lswp_claim_share / stock if stock else 0.0
    # stay_share
    assert q.stay_low is not None
    assert q.stay_high is not None
    all_leavers = sum(float(lived.leaving[c][lo:hi + 1, 1:].sum()) for c in q.corridors)
    stayed = sum(float(lived.leaving[c][lo:hi + 1, q.stay_low:q.stay_high + 1].sum())
                 for c in q.corridors)
    return stayed / all_leavers if all_leavers else 0.0
