"""Who pays what, month by month, under one policy: intervals, then the adapters' amounts.

Owns `Coverage` (for each worker: the months the destination fund is paid, the Vietnamese 22%
abroad months, the s39 months from home, certificates of coverage) and `accumulate`, which turns
those intervals into contributions with the adapters' own amounts (`contributions.PriceCache`,
one pricing per parameter epoch) and fills `Balances` and `Totals`. A certificate of coverage
(agreement `coverage`, funds.md §6 item 8) makes the destination reject contributions for up to
`posting_months_max` months from arrival; the worker keeps paying at home.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ledger.adapters.arith import IntArray
from ledger.adapters.context import WorkerContext
from ledger.domain.funds import Payer
from ledger.domain.periods import Month
from ledger.settlement.agreement import AgreementKind
from simulator.contributions import Epoch, PriceCache, Stream, month_index_sum, overlap
from simulator.policy import Run
from simulator.population import BoolArray, Exit, Population
from simulator.state import Balances, Totals, zeros

TH_STREAMS = (Stream("TH-SSO", "s33-sickness"), Stream("TH-SSO", "s33-old-age"),
              Stream("TH-SSO", "s33-unemployment"))
S39 = Stream("TH-SSO", "s39-voluntary")
EPI = Stream("JP-JPS", "epi")
VN_ABROAD = Stream("VN-VSS", "retirement-survivorship", WorkerContext(regime="abroad"))
MY_STREAMS = (Stream("MY-SOCSO", "employment-injury"),)  # foreign workers: injury cover only
HOST_STREAMS = {"TH-SSO": TH_STREAMS, "JP-JPS": (EPI,), "MY-SOCSO": MY_STREAMS}
LONG_TERM = {"TH-SSO": "s33-old-age", "JP-JPS": "epi"}
S39_MIN_S33_MONTHS = 12  # funds.md §1.4: s39 is open after 12 months under s33


@dataclass(frozen=True, slots=True, eq=False)
class Coverage:
    host_first: IntArray  # first month paid at the destination (after any certificate)
    host_stop: IntArray  # exclusive, clipped to the horizon
    abroad: BoolArray  # pays the Vietnamese 22% abroad regime while abroad
    certificate: BoolArray
    digital_first: IntArray  # s39 from home: [digital_first, digital_stop)
    digital_stop: IntArray
    settle: IntArray  # month the destination balance is settled (exit, or after s39)


def agreement_from(run: Run, pop: Population) -> int:
    """Month index from which the agreement's rules apply (never, for a baseline)."""
    if run.agreement.kind is AgreementKind.BASELINE:
        return pop.horizon
    return max(0, pop.start.months_until(Month.of(run.agreement.effective)))


def coverage(run: Run, pop: Population) -> Coverage:
    s = run.scenario
    names = pop.corridors
    h = pop.horizon
    stop = np.minimum(pop.exit, h)
    share = np.asarray([float(s.corridors[c].double_contribution_share.value) for c in names])
    is_vn = np.asarray([c.startswith("VN-") for c in names])[pop.corridor]
    abroad = is_vn & (pop.u_double < share[pop.corridor])
    agreement = run.agreement
    rule = agreement.coverage
    host_member = np.asarray([agreement.is_member(pop.fund_of(i)) for i in range(len(names))])
    cert_ok = rule is not None and agreement.is_member("VN-VSS")
    effective = agreement_from(run, pop)
    certificate = (abroad & host_member[pop.corridor] & cert_ok & (pop.arrival >= effective)
                   & (pop.u_cert < float(s.policy.certificate_share.value)))
    posting = rule.posting_months_max if rule is not None else 0
    host_first = np.minimum(pop.arrival + np.where(certificate, posting, 0), stop)
    s33_months = stop - host_first
    is_th = np.asarray([pop.fund_of(i) == "TH-SSO" for i in range(len(names))])[pop.corridor]
    digital = (is_th & (pop.u_digital < float(s.digital_voluntary.uptake_share.value))
               & (s33_months >= S39_MIN_S33_MONTHS) & (pop.exit < h)
               & (pop.reason != Exit.DEATH))
    months = s.digital_voluntary.months.value
    digital_first = np.where(digital, pop.exit, 0)
    digital_stop = np.where(digital, np.minimum(pop.exit + months, h), 0)
    settle = np.where(digital, pop.exit + months, pop.exit)
    return Coverage(host_first, stop, abroad, certificate, digital_first, digital_stop, settle)


def accumulate(run: Run, pop: Population, cov: Coverage, cache: PriceCache,
               bal: Balances, totals: Totals) -> None:
    """Every contribution of the horizon, into per-worker balances and run totals."""
    h = pop.horizon
    for fund, rows in pop.slices.items():
        wages = pop.wage_minor[rows]
        first, stop = cov.host_first[rows], cov.host_stop[rows]
        for stream in HOST_STREAMS[fund]:
            _stream(stream, rows, wages, first, stop, cache, bal, totals, h)
        if fund == "TH-SSO":
            _stream(S39, rows, wages, cov.digital_first[rows], cov.digital_stop[rows], cache,
                    bal, totals, h)
        spell_first = pop.arrival[rows]
        spell_stop = np.where(cov.abroad[rows], cov.host_stop[rows], spell_first)
        _stream(VN_ABROAD, rows, wages, spell_first, spell_stop, cache, bal, totals, h,
                double=(first, stop))
    totals.certificates = int(cov.certificate.sum())


def _stream(stream: Stream, rows: slice, wages: IntArray, first: IntArray, stop: IntArray,
            cache: PriceCache, bal: Balances, totals: Totals, horizon: int,
            double: tuple[IntArray, IntArray] | None = None) -> None:
    monthly = totals.contributions_monthly.setdefault(stream.fund, zeros(horizon + 1))
    key = rows.start or 0
    for epoch in cache.epochs(stream):
        months = overlap(first, stop, epoch)
        if epoch.plan is None or not months.any():
            continue
        shares = cache.shares(stream, epoch, key, wages)
        lo = np.clip(first, epoch.first, epoch.stop)
        live = months > 0
        per_month = zeros(months.size)
        for payer, amounts in shares.items():
            per_month += amounts
            totals.contributions[(stream.fund, stream.scheme, payer.value)] += int(
                (amounts * months).sum())
            _balances(stream, payer, amounts, months, first, stop, epoch, rows, bal)
        np.add.at(monthly, lo[live], per_month[live])
        np.add.at(monthly, (lo + months)[live], -per_month[live])
        if stream is S39:
            bal.voluntary_months[rows] += months
        elif stream is VN_ABROAD:
            bal.abroad_months[rows] += months
            assert double is not None
            both = overlap(np.maximum(first, double[0]), np.minimum(stop, double[1]), epoch)
            bal.double_months[rows] += both
            totals.double_value += int((per_month * both).sum())
        elif stream.scheme == LONG_TERM.get(stream.fund):
            bal.months[rows] += months
            if stream.fund == "JP-JPS" and epoch.plan is not None:
                base = epoch.plan.base.array(wages, {})
                bal.standard_sum[rows] += base * months


def _balances(stream: Stream, payer: Payer, amounts: IntArray, months: IntArray,
              first: IntArray, stop: IntArray, epoch: Epoch, rows: slice, bal: Balances) -> None:
    if stream is S39:
        bal.voluntary[rows] += amounts * months
        return
    if stream.scheme != LONG_TERM.get(stream.fund):
        return
    paid = amounts * months
    if payer is Payer.EMPLOYEE:
        bal.employee[rows] += paid
        bal.employee_m[rows] += amounts * month_index_sum(first, stop, epoch)
    elif payer is Payer.EMPLOYER:
        bal.employer[rows] += paid
        bal.employer_m[rows] += amounts * month_index_sum(first, stop, epoch)
    elif payer is Payer.GOVERNMENT:
        bal.government[rows] += paid
