"""The simulated workers: one draw per seed, shared by every policy.

Owns `Population` (one numpy array per fact, one row per worker) and `draw`, which makes all the
random draws a run needs up front: corridor, arrival month, age, wage, contract length, the month
each hazard would strike, home insurance, and one uniform per later decision (claim, agent, tax
refund, certificate, double contribution, digital uptake). Policies then compare the *same*
uniforms with their own shares (common random numbers), so a difference between two policies is
the policy, never noise. Floats appear only here, as draws; a wage becomes whole major units of
the destination currency (int64 minor units) the moment it is drawn.

Workers are laid out by corridor, corridors by destination, so each destination fund's workers
are one contiguous slice (the engine prices a fund with one call per parameter epoch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from ledger.adapters.arith import IntArray
from ledger.adapters.registry import get_adapter
from ledger.domain.periods import Month
from simulator.scenario import DESTINATIONS, Corridor, Scenario

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
NEVER = 1 << 40  # a hazard that never strikes (month index beyond any horizon)


class Exit(IntEnum):
    """Why covered work in the destination ended (ties go to the lower value)."""

    CONTRACT_END = 0
    STATUS_CHANGE = 1
    RETURN_HOME = 2
    DEATH = 3
    DISABILITY = 4


@dataclass(frozen=True, slots=True, eq=False)
class Population:
    start: Month
    horizon: int  # months simulated
    corridors: tuple[str, ...]  # corridor names; `corridor` indexes them
    corridor: IntArray
    arrival: IntArray  # month index of the first covered month
    exit: IntArray  # month index of the first month not covered (may be past the horizon)
    reason: IntArray  # Exit
    age_at_arrival: IntArray  # whole years
    wage_minor: IntArray  # monthly wage, destination currency
    home_before: IntArray  # months insured at home before leaving
    home_after: BoolArray  # insured at home from return to the end of the horizon
    u_claim: FloatArray
    u_agent: FloatArray
    u_tax: FloatArray
    u_cert: FloatArray
    u_double: FloatArray
    u_digital: FloatArray
    slices: dict[str, slice] = field(default_factory=dict)  # destination fund -> rows

    @property
    def size(self) -> int:
        return int(self.corridor.size)

    def origin_of(self, index: int) -> str:
        return self.corridors[index].split("-")[0]

    def fund_of(self, index: int) -> str:
        return DESTINATIONS[self.corridors[index].split("-")[1]]


def ordered_corridors(scenario: Scenario) -> tuple[str, ...]:
    """Corridors grouped by destination fund (in DESTINATIONS order), then by name."""
    dests = list(DESTINATIONS)
    return tuple(sorted(scenario.corridors, key=lambda c: (dests.index(c.split("-")[1]), c)))


def allocate(populations: list[int], workers: int) -> list[int]:
    """Split `workers` in proportion to the populations (largest remainder; exact total)."""
    total = sum(populations)
    if total == 0:
        raise ValueError("every corridor has a population of 0")
    base = [p * workers // total for p in populations]
    order = sorted(range(len(populations)),
                   key=lambda i: (-(populations[i] * workers % total), i))
    for i in order[: workers - sum(base)]:
        base[i] += 1
    return base


def slices_of(corridors: tuple[str, ...], corridor: IntArray) -> dict[str, slice]:
    out: dict[str, slice] = {}
    for index, name in enumerate(corridors):
        fund = DESTINATIONS[name.split("-")[1]]
        rows = np.flatnonzero(corridor == index)
        if rows.size == 0:
            continue
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        prev = out.get(fund)
        if prev is not None:
            lo, hi = min(prev.start, lo), max(prev.stop, hi)
        out[fund] = slice(lo, hi)
    return out


def draw(scenario: Scenario, workers: int, years: int, seed: int) -> Population:
    """All random draws of a run, in a fixed order (same seed, same population)."""
    rng = np.random.default_rng(seed)
    names = ordered_corridors(scenario)
    counts = allocate([scenario.corridors[c].population.value for c in names], workers)
    corridor = np.repeat(np.arange(len(names), dtype=np.int64), counts)
    horizon = 12 * years

    def per_corridor(values: list[float]) -> FloatArray:
        return np.repeat(np.asarray(values, dtype=np.float64), counts)

    cs = [scenario.corridors[c] for c in names]
    window = min(12 * scenario.arrival_window_years.value, horizon)
    arrival = rng.integers(0, window, size=workers, dtype=np.int64)
    low = np.repeat(np.asarray([c.age_at_arrival.value.low for c in cs], dtype=np.int64), counts)
    high = np.repeat(np.asarray([c.age_at_arrival.value.high for c in cs], dtype=np.int64), counts)
    age = low + (rng.random(workers) * (high - low + 1)).astype(np.int64)
    median = per_corridor([float(c.wage_median.value) for c in cs])
    sigma = per_corridor([float(c.wage_dispersion.value) for c in cs])
    wage_major = np.rint(median * np.exp(sigma * rng.standard_normal(workers))).astype(np.int64)
    # The adapter, not the built-in registry: a destination may be a folder-declared fund (MY).
    exponents = [get_adapter(DESTINATIONS[n.split("-")[1]]).currency.exponent for n in names]
    scale = np.repeat(np.asarray([10**e for e in exponents], dtype=np.int64), counts)
    wage_minor = np.maximum(wage_major, 0) * scale
    contract = _contract_months(rng, cs, counts, workers)
    hazards = [
        _hazard_months(rng, per_corridor([float(getattr(c.hazards, h).value) for c in cs]))
        for h in ("status_change", "return_home", "death", "disability")
    ]
    # The earliest event ends covered work; on a tie the earlier-listed reason wins.
    span = contract
    reason = np.full(workers, Exit.CONTRACT_END, dtype=np.int64)
    for kind, months in zip(list(Exit)[1:], hazards, strict=True):
        sooner = months < span
        reason[sooner] = kind
        span = np.minimum(span, months)
    exit_ = arrival + span
    b_low = np.repeat(np.asarray([c.home_insured_months_before.value.low for c in cs],
                                 dtype=np.int64), counts)
    b_high = np.repeat(np.asarray([c.home_insured_months_before.value.high for c in cs],
                                  dtype=np.int64), counts)
    home_before = b_low + (rng.random(workers) * (b_high - b_low + 1)).astype(np.int64)
    after_share = per_corridor([float(c.home_insured_after_share.value) for c in cs])
    home_after = rng.random(workers) < after_share
    u = rng.random((6, workers))
    return Population(
        start=scenario.start, horizon=horizon, corridors=names, corridor=corridor,
        arrival=arrival, exit=exit_, reason=reason, age_at_arrival=age, wage_minor=wage_minor,
        home_before=home_before, home_after=home_after,
        u_claim=u[0], u_agent=u[1], u_tax=u[2], u_cert=u[3], u_double=u[4], u_digital=u[5],
        slices=slices_of(names, corridor),
    )


def _contract_months(rng: np.random.Generator, cs: list[Corridor], counts: list[int],
                     workers: int) -> IntArray:
    out = np.empty(workers, dtype=np.int64)
    u = rng.random(workers)
    at = 0
    for corridor, n in zip(cs, counts, strict=True):
        table = corridor.contract_months.value
        months = np.asarray(sorted(table), dtype=np.int64)
        cumulative = np.cumsum([float(table[m]) for m in sorted(table)])
        cumulative[-1] = 1.0  # shares add up to 1 exactly (validated); no float gap at the top
        out[at:at + n] = months[np.searchsorted(cumulative, u[at:at + n], side="right")]
        at += n
    return out


def _hazard_months(rng: np.random.Generator, p: FloatArray) -> IntArray:
    """Covered months before a monthly hazard `p` strikes: geometric, 0 = the first month."""
    safe = np.where(p > 0, p, 0.5)
    months = rng.geometric(safe) - 1
    return np.where(p > 0, months, NEVER).astype(np.int64)
