"""Pension rights by totalisation at the end of the horizon (after EU Reg 883/2004 Arts 6, 57).

Owns the month counts `ledger/settlement/totalisation.py` defines, over arrays: a fund's own
months are its active months plus months transferred to it; withdrawn and lost months count
nowhere; the totalised months of a member fund are the union of every member fund's own months
(a calendar month counted once); a member fund with fewer own months than the agreement's short
period and no right of its own pays nothing (Art 57). A worker's months are contiguous runs
(home before leaving; the spell abroad, where the destination overlaps the Vietnamese 22% regime
or the home voluntary scheme paid from abroad; home after return, where s39 from home overlaps),
so unions are sums of maxima.
Thresholds are the agreement's (`eligibility`), at the last month of the horizon; the age
condition is not applied: a right here is a right being acquired on periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ledger.adapters.arith import IntArray
from ledger.domain.funds import FundCode
from ledger.settlement.agreement import Agreement
from simulator.paying import Coverage
from simulator.population import BoolArray, Population
from simulator.scenario import DESTINATIONS, HOME_FUNDS
from simulator.state import Balances


@dataclass(frozen=True, slots=True, eq=False)
class Months:
    host_own: IntArray
    home_own: IntArray
    union: IntArray


def _per_corridor(pop: Population, values: list[object]) -> np.ndarray:
    return np.asarray(values)[pop.corridor]


def _has_rule(agreement: Agreement, fund: str) -> bool:
    return any(r.fund == FundCode(fund) for r in agreement.eligibility_rules())


def threshold(agreement: Agreement, fund: str, pop: Population) -> int:
    rule = next(r for r in agreement.eligibility_rules() if r.fund == FundCode(fund))
    return rule.threshold_at(pop.start.plus(pop.horizon - 1)).months_min


def months(agreement: Agreement, pop: Population, cov: Coverage, bal: Balances,
           host_counted: BoolArray, host_transferred: BoolArray) -> Months:
    """Own and totalised months per worker, given which destination months still count."""
    h = pop.horizon
    names = pop.corridors
    home = [HOME_FUNDS.get(n.split("-")[0]) for n in names]
    has_home = _per_corridor(pop, [f is not None for f in home]).astype(bool)
    home_member = _per_corridor(pop, [f is not None and agreement.is_member(f) for f in home])
    host_member = _per_corridor(pop, [agreement.is_member(DESTINATIONS[n.split("-")[1]])
                                      for n in names]).astype(bool)
    left = pop.exit < h
    post_home = np.where(has_home & pop.home_after & left, h - np.minimum(pop.exit, h), 0)
    pre = np.where(has_home, pop.home_before, 0)
    host_months = bal.months + bal.voluntary_months
    host_own = np.where(host_counted & ~host_transferred, host_months, 0)
    moved = np.where(host_transferred, host_months, 0)
    # Abroad, a worker pays the Vietnamese 22% regime or the home voluntary scheme, never both.
    abroad_home = bal.abroad_months + bal.home_voluntary_months
    home_own = np.where(has_home, pre + abroad_home + post_home + moved, 0)
    vn_member = agreement.is_member("VN-VSS")
    counted = host_counted & host_member  # transferred months count at a member home fund too
    spell = np.maximum(np.where(counted, bal.months, 0),
                       np.where(home_member.astype(bool), bal.home_voluntary_months, 0))
    spell = np.maximum(spell,
                       bal.abroad_months if vn_member else np.zeros_like(bal.abroad_months))
    post = np.maximum(np.where(home_member, post_home, 0),
                      np.where(counted, bal.voluntary_months, 0))
    union = np.where(home_member, pre, 0) + spell + post
    return Months(host_own, home_own, union)


@dataclass(frozen=True, slots=True, eq=False)
class Rights:
    host: BoolArray
    home: BoolArray
    through_totalisation: BoolArray


def rights(agreement: Agreement, pop: Population, m: Months) -> Rights:
    short = agreement.totalisation.short_period_months_min if agreement.totalisation else 0
    host = np.zeros(pop.size, dtype=bool)
    home = np.zeros(pop.size, dtype=bool)
    through = np.zeros(pop.size, dtype=bool)
    for index, name in enumerate(pop.corridors):
        rows = pop.corridor == index
        origin, dest = name.split("-")
        # A destination without a pension (Malaysia's foreign workers have injury cover only)
        # has no eligibility rule and gives no right.
        pairs = [(DESTINATIONS[dest], m.host_own, host)] if _has_rule(
            agreement, DESTINATIONS[dest]) else []
        if origin in HOME_FUNDS:
            pairs.append((HOME_FUNDS[origin], m.home_own, home))
        for fund, own, out in pairs:
            need = threshold(agreement, fund, pop)
            mine = own[rows]
            alone = mine >= need
            total = np.zeros_like(alone)
            if agreement.is_member(fund):
                total = (mine > 0) & (m.union[rows] >= need) & (mine >= short)
            out[rows] = alone | total
            through[rows] |= total & ~alone
    return Rights(host, home, through)
