"""What happens to a destination balance when covered work ends, under one policy.

Owns the exit routes, applied to the batch of workers who settle in a month:

- a status change that ends coverage loses the record (periods lost, value forfeited) unless the
  policy links identities across funds (funds.md §1.4: re-entry under new names cut records);
- under an agreement that makes the scheme portable (agreements/*.yaml `portable_schemes`):
  `transfer_to_home_fund` moves the portable payers' shares (and s39 paid from home) to the home
  fund, `pay_worker` pays them to the worker (the fallback where no home pension scheme operates:
  Myanmar, and Lao PDR which has no member fund), `keep_and_totalise` keeps the periods when they
  give a right by totalisation and otherwise claims the lump sum through the hub;
- otherwise the fund's own exit route: the Thai s33 old-age lump sum (at 55, or on departure where
  a policy opens it) and the Japanese LSWP with its 20.42% withholding (the part not due as
  retirement-income tax is refunded to those who reclaim it), each claimed by a share of
  workers, some through agents who keep a fee (agreement `exit_routes`), and only within the
  fund's claim window (its dated parameter: a late claim is refused, the money stays).

Amounts come from `refunds.py` (equal to the adapters' rules). Whatever is not paid back to the
worker or moved stays with the fund: `forfeited`. Short-term branches (sickness, unemployment)
are insurance already consumed and are not counted as forfeited.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from fractions import Fraction

import numpy as np

from ledger.adapters.arith import IntArray
from ledger.adapters.jp_jps.params import LSWP_CLAIM_WINDOW as JP_CLAIM_WINDOW
from ledger.adapters.jp_jps.params import TAX_REFUND_CLAIM_WINDOW as JP_TAX_REFUND_WINDOW
from ledger.adapters.parameters import Param, Parameters
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso.params import CLAIM_WINDOW as TH_CLAIM_WINDOW
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding
from ledger.domain.periods import Month
from ledger.settlement.agreement import TransferRule
from simulator.paying import LONG_TERM, Coverage
from simulator.policy import Run
from simulator.population import BoolArray, Exit, Population
from simulator.refunds import jp_lswp, round_div, th_lump_sum
from simulator.scenario import HOME_FUNDS
from simulator.state import Balances, Totals, WorkerOutcome, zeros

FEE_ROUNDING = Rounding.HALF_EVEN  # agent fees: no rule is known; half-even is unbiased


class HostState(IntEnum):
    """Where the destination periods end up (for totalisation at the end of the horizon)."""

    ACTIVE = 0  # still credited at the destination (unclaimed, kept, or not yet settled)
    WITHDRAWN = 1  # paid out as a lump sum: they count nowhere
    TRANSFERRED = 2  # moved to the home fund: they count there
    LOST = 3  # record cut by a status change


@dataclass(slots=True, eq=False)
class Context:
    run: Run
    pop: Population
    cov: Coverage
    bal: Balances
    totals: Totals
    outcome: WorkerOutcome
    host_state: IntArray
    keeps: BoolArray  # decided up front: totalisation gives a host-fund right by the horizon
    agreement_from: int  # month index from which the agreement applies


def fee(amounts: IntArray, rate: Decimal) -> IntArray:
    value = Fraction(rate)
    den = np.full(amounts.shape, value.denominator, dtype=np.int64)
    return round_div(amounts * np.int64(value.numerator), den, FEE_ROUNDING)


def _draw(u: IntArray | np.ndarray, share: Decimal) -> BoolArray:
    out: BoolArray = np.asarray(u) < float(share)
    return out


def settle(ctx: Context, idx: IntArray, month: int) -> None:
    """Settle every worker in `idx` (all settle at `month`) at their destination fund."""
    pop = ctx.pop
    for fund, rows in pop.slices.items():
        mine = idx[(idx >= rows.start) & (idx < rows.stop)]
        if mine.size == 0:
            continue
        lost = pop.reason[mine] == Exit.STATUS_CHANGE
        if not ctx.run.scenario.policy.identity_portable.value:
            _lose(ctx, fund, mine[lost])
            mine = mine[~lost]
        if fund == "TH-SSO":
            _thai(ctx, mine, month)
        elif fund == "JP-JPS":
            _japan(ctx, mine, month)
        # MY-SOCSO: foreign workers have employment-injury cover only (funds.md §1.6): insurance
        # consumed month by month, nothing to refund, move or forfeit on leaving.


def _lose(ctx: Context, fund: str, idx: IntArray) -> None:
    b = ctx.bal
    ctx.totals.periods_lost_months += int((b.months[idx] + b.voluntary_months[idx]).sum())
    ctx.totals.workers_lost += int(idx.size)
    ctx.totals.forfeited[fund] += int((b.employee[idx] + b.employer[idx] + b.government[idx]
                                       + b.voluntary[idx]).sum())
    ctx.host_state[idx] = HostState.LOST


def _portable_rule(ctx: Context, fund: str, scheme: str, month: int) -> TransferRule | None:
    """The route in force for the scheme: none before the agreement applies; for Thai old age
    the one the policy names (`policy.th_old_age_route`, checked against what the agreement
    offers when the run loads), else the agreement's default."""
    if month < ctx.agreement_from:
        return None
    portable = ctx.run.agreement.portable_scheme(fund, scheme)
    if portable is None:
        return None
    return route_of(ctx.run, fund, scheme) or portable.transfer_rule


def route_of(run: Run, fund: str, scheme: str) -> TransferRule | None:
    """The route a policy names for a scheme (Thai old age only), None for `fund_exit`."""
    if (fund, scheme) != ("TH-SSO", "s33-old-age"):
        return None
    named = run.scenario.policy.th_old_age_route.value
    return None if named == "fund_exit" else TransferRule(named)


def _home_receives(ctx: Context, idx: IntArray) -> BoolArray:
    """The worker's home fund is a member with an operating long-term scheme (KH, VN)."""
    ok = np.asarray([
        ctx.run.agreement.is_member(HOME_FUNDS.get(ctx.pop.origin_of(i), ""))
        for i in range(len(ctx.pop.corridors))
    ])
    out: BoolArray = ok[ctx.pop.corridor[idx]]
    return out


def _thai(ctx: Context, idx: IntArray, month: int) -> None:
    # A worker whose every month was covered at home (certificate) has nothing here to settle.
    idx = idx[(ctx.bal.months[idx] + ctx.bal.voluntary_months[idx]) > 0]
    if idx.size == 0:
        return
    rule = _portable_rule(ctx, "TH-SSO", "s33-old-age", month)
    if rule is TransferRule.TRANSFER_TO_HOME_FUND:
        home = _home_receives(ctx, idx)
        _transfer(ctx, idx[home], month)
        _pay_worker(ctx, "TH-SSO", idx[~home], month)
    elif rule is TransferRule.PAY_WORKER:
        _pay_worker(ctx, "TH-SSO", idx, month)
    elif rule is TransferRule.KEEP_AND_TOTALISE:
        # Months kept: a pro-rata pension at 55 where totalisation gives a right by the end of
        # the horizon, else the SSO's own lump sum at 55 (ADR 0044).
        keep = ctx.keeps[idx]
        age = ctx.run.agreement.exit_routes.th_old_age.claim_age_min.value
        _keep(ctx, "TH-SSO", idx[keep], age)
        _thai_lump_sum(ctx, idx[~keep], month)
    else:
        _thai_lump_sum(ctx, idx, month)


def _portable_value(ctx: Context, fund: str, idx: IntArray) -> tuple[IntArray, IntArray]:
    """(moved, retained): the agreement's portable payers' shares (plus s39 paid from home,
    which continues the same old-age insurance); the other payers' shares stay."""
    b = ctx.bal
    portable = ctx.run.agreement.portable_scheme(fund, LONG_TERM[fund])
    payers = portable.portable_payers if portable is not None else ()
    by_payer = {Payer.EMPLOYEE: b.employee, Payer.EMPLOYER: b.employer,
                Payer.GOVERNMENT: b.government}
    moved = b.voluntary[idx].copy()
    retained = zeros(idx.size)
    for payer, balance in by_payer.items():
        if payer in payers:
            moved += balance[idx]
        else:
            retained += balance[idx]
    return moved, retained


def _transfer(ctx: Context, idx: IntArray, month: int) -> None:
    if idx.size == 0:
        return
    s, t = ctx.run.scenario, ctx.totals
    moved, retained = _portable_value(ctx, "TH-SSO", idx)
    when = np.full(idx.size, month + s.claims.transfer.delay_months.value, dtype=np.int64)
    t.add_recovered("transfer", "THB", when, moved)
    t.forfeited["TH-SSO"] += int(retained.sum())
    ctx.outcome.recovered[idx] += moved
    ctx.host_state[idx] = HostState.TRANSFERRED
    t.transfers += int(idx.size)
    origins = np.asarray([ctx.pop.origin_of(i) for i in range(len(ctx.pop.corridors))])
    worker_origin = origins[ctx.pop.corridor[idx]]
    for origin, fund in HOME_FUNDS.items():
        rows = worker_origin == origin
        if not rows.any():
            continue
        series = t.settlement_monthly.setdefault(("TH-SSO", fund, "THB"), zeros(t.horizon + 1))
        np.add.at(series, np.minimum(when[rows], t.horizon), moved[rows])
    _messages(ctx, when, s.messages.per_transfer.value)


def _pay_worker(ctx: Context, fund: str, idx: IntArray, month: int) -> None:
    if idx.size == 0:
        return
    s, t = ctx.run.scenario, ctx.totals
    moved, retained = _portable_value(ctx, fund, idx)
    paid = _draw(ctx.pop.u_claim[idx], s.claims.transfer.pay_worker_claim_share.value)
    when = np.full(idx.size, month + s.claims.transfer.delay_months.value, dtype=np.int64)
    t.add_recovered("refund", _currency(fund), when[paid], moved[paid])
    t.forfeited[fund] += int(retained.sum() + moved[~paid].sum())
    ctx.outcome.recovered[idx[paid]] += moved[paid]
    ctx.host_state[idx[paid]] = HostState.WITHDRAWN
    t.claims_via_hub += int(paid.sum())
    _messages(ctx, when[paid], s.messages.per_claim_via_hub.value)


def _thai_lump_sum(ctx: Context, idx: IntArray, month: int) -> None:
    s, t, b, pop = ctx.run.scenario, ctx.totals, ctx.bal, ctx.pop
    routes = ctx.run.agreement.exit_routes.th_old_age
    claims = s.claims.th
    # The right arises on leaving (insured status ends) where a policy opens the lump sum on
    # departure, else at the claim age or on leaving, the later. A claim later than the fund's
    # window (24 months) is refused: the money stays with the fund.
    entitled = np.full(idx.size, month, dtype=np.int64)
    if s.policy.th_lump_sum_on_departure.value:
        claim = entitled + claims.delay_months.value
        share = claims.claim_share_on_departure.value
    else:
        at_age = pop.arrival[idx] + (routes.claim_age_min.value - pop.age_at_arrival[idx]) * 12
        claim = np.maximum(at_age, month + claims.delay_months.value)
        entitled = np.maximum(at_age, entitled)
        share = claims.claim_share_at_age.value
    in_time = within_window(_th_params(), TH_CLAIM_WINDOW, entitled, claim, pop.start)
    claimed = _draw(pop.u_claim[idx], share) & (b.months[idx] > 0) & in_time
    c = idx[claimed]
    # s33 and s39 months count together towards the 12-month step (old_age.counted_months).
    lump = th_lump_sum(b.employee[c], b.employer[c], b.employee_m[c], b.employer_m[c],
                       b.months[c] + b.voluntary_months[c], claim[claimed], pop.start)
    gross = lump.gross
    agent = _draw(pop.u_agent[c], claims.agent_share.value) & (
        not s.policy.fees_waived.value)
    fees = np.where(agent, fee(gross, routes.agent_fee_rate.value), 0)
    net = gross - fees
    t.add_recovered("refund", "THB", claim[claimed], net)
    t.agent_fees["THB"] += int(fees.sum())
    paid_in = b.employee[idx] + b.employer[idx] + b.government[idx] + b.voluntary[idx]
    t.forfeited["TH-SSO"] += int(paid_in.sum() - lump.contributions.sum())
    ctx.outcome.recovered[c] += net
    ctx.host_state[c] = HostState.WITHDRAWN


def _japan(ctx: Context, idx: IntArray, month: int) -> None:
    idx = idx[ctx.bal.months[idx] > 0]
    if idx.size == 0:
        return
    rule = _portable_rule(ctx, "JP-JPS", "epi", month)
    if rule is TransferRule.KEEP_AND_TOTALISE:
        keep = ctx.keeps[idx]
        _keep(ctx, "JP-JPS", idx[keep], ctx.run.scenario.pension_age.value)
        _lswp(ctx, idx[~keep], month, via_hub=True)
    else:
        _lswp(ctx, idx, month, via_hub=False)


def _keep(ctx: Context, fund: str, idx: IntArray, age: int) -> None:
    """Periods stay and give a pension right by totalisation, from `age`; valued at the
    portable shares paid in (the other payers' shares are the fund's)."""
    if idx.size == 0:
        return
    pop = ctx.pop
    value, retained = _portable_value(ctx, fund, idx)
    ctx.totals.forfeited[fund] += int(retained.sum())
    when = pop.arrival[idx] + (age - pop.age_at_arrival[idx]) * 12
    ctx.totals.add_recovered("pension_right", _currency(fund), when, value)
    ctx.outcome.recovered[idx] += value


def _lswp(ctx: Context, idx: IntArray, month: int, via_hub: bool) -> None:
    if idx.size == 0:
        return
    s, t, b, pop = ctx.run.scenario, ctx.totals, ctx.bal, ctx.pop
    routes = ctx.run.agreement.exit_routes.jp_lswp
    claims = s.claims.jp
    share = s.claims.transfer.pay_worker_claim_share.value if via_hub else claims.claim_share.value
    claimed = _draw(pop.u_claim[idx], share)
    c = idx[claimed]
    when = np.full(c.size, month + claims.delay_months.value, dtype=np.int64)
    last = np.maximum(ctx.cov.host_stop[c] - 1, 0)
    result = jp_lswp(b.standard_sum[c], b.months[c], last, when, pop.start)
    left = np.full(c.size, month, dtype=np.int64)
    ok = (result.eligible == 1) & within_window(_jp_params(), JP_CLAIM_WINDOW, left, when,
                                                 pop.start)
    agent = (_draw(pop.u_agent[c], claims.agent_share.value) & routes.via_agent.value
             & (not s.policy.fees_waived.value) & (not via_hub))
    fees = np.where(agent & ok, fee(result.paid_now, routes.agent_fee_rate.value), 0)
    net = result.paid_now - fees
    t.add_recovered("refund", "JPY", when[ok], net[ok])
    t.agent_fees["JPY"] += int(fees.sum())
    tax_when = when + claims.tax_refund_delay_months.value
    reclaim = (_draw(pop.u_tax[c], s.policy.jp_tax_refund_claimed_share.value) & ok
               & within_window(_jp_params(), JP_TAX_REFUND_WINDOW, when, tax_when, pop.start))
    # The refund is the withheld tax less the tax really due (jp_jps/retirement_tax.py).
    t.add_recovered("tax_refund", "JPY", tax_when[reclaim], result.refund[reclaim])
    t.tax_unclaimed += int(result.refund[ok & ~reclaim].sum())
    t.tax_due += int((result.withheld - result.refund)[ok].sum())
    # What the LSWP does not give back stays with the fund (it can give back more: the rate is
    # half the premium times a months factor, and the factor counts whole 6-month steps).
    refunded = zeros(idx.size)
    refunded[np.flatnonzero(claimed)[ok]] = result.gross[ok]
    kept = b.employee[idx] + b.employer[idx] - refunded
    t.forfeited["JP-JPS"] += int(np.maximum(kept, 0).sum())
    ctx.outcome.recovered[c[ok]] += net[ok] + np.where(reclaim[ok], result.refund[ok], 0)
    ctx.host_state[c[ok]] = HostState.WITHDRAWN
    if via_hub:
        t.claims_via_hub += int(ok.sum())
        _messages(ctx, when[ok], s.messages.per_claim_via_hub.value)


def _th_params() -> Parameters:
    return get_adapter("TH-SSO").parameters


def _jp_params() -> Parameters:
    return get_adapter("JP-JPS").parameters


def within_window(params: Parameters, window: Param[int], start: IntArray, claim: IntArray,
                  origin: Month) -> BoolArray:
    """claim - start <= the fund's dated window (read at the claim month), row by row; month
    indexes count from `origin`. The windows are the funds' own rules (ADR 0042)."""
    out: BoolArray = np.zeros(claim.shape, dtype=np.bool_)
    for c in np.unique(claim).tolist():
        rows = claim == c
        out[rows] = (claim[rows] - start[rows]) <= params.at(window, origin.plus(int(c)))
    return out


def _messages(ctx: Context, when: IntArray, per_event: int) -> None:
    if when.size and per_event:
        inside = when[when < ctx.totals.horizon]
        np.add.at(ctx.totals.messages_monthly, inside, per_event)


def _currency(fund: str) -> str:
    return {"TH-SSO": "THB", "JP-JPS": "JPY"}[fund]
