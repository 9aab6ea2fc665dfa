"""Who pays what, month by month, under one policy: intervals, then the adapters' amounts.

Owns `Coverage` (for each worker: the months the destination fund is paid, the Vietnamese 22%
abroad months, the s39 months from home, the months the home fund's voluntary scheme is paid
from abroad through a digital channel, certificates of coverage) and `accumulate`, which turns
those intervals into contributions with the adapters' own amounts (`contributions.PriceCache`,
one pricing per parameter epoch) and fills `Balances` and `Totals`. A certificate of coverage
(agreement `coverage`, funds.md §6 item 8) makes the destination reject contributions for up to
`posting_months_max` months from arrival; the worker keeps paying at home.

Home voluntary schemes (`HOME_VOLUNTARY`) are priced by the home fund's own rules over arrays,
the same rules `ledger/adapters/voluntary.py` applies to one payment: a share of the workers
abroad (`digital_voluntary.home_uptake_share`) pays every covered month from the agreement's
effective month, on a declared income per origin; Vietnamese workers already in the 22% abroad
regime do not. A scheme no product operates is paid only if the run's agreement opens it. The
Vietnamese state's support stops after its cap (`voluntary_si_support_months_max`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ledger.adapters.arith import IntArray
from ledger.adapters.context import WorkerContext
from ledger.adapters.registry import get_adapter
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, Payer
from ledger.domain.periods import Month
from ledger.settlement.agreement import Agreement, AgreementKind
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
# Origin -> the home fund's voluntary scheme a worker abroad can pay through a channel.
HOME_VOLUNTARY = {"KH": ("KH-NSSF", "voluntary-pension"), "LA": ("LA-LSSO", "voluntary"),
                  "MM": ("MM-SSB", "voluntary-abroad"), "VN": ("VN-VSS", "voluntary-si")}


@dataclass(frozen=True, slots=True, eq=False)
class Coverage:
    host_first: IntArray  # first month paid at the destination (after any certificate)
    host_stop: IntArray  # exclusive, clipped to the horizon
    abroad: BoolArray  # pays the Vietnamese 22% abroad regime while abroad
    certificate: BoolArray
    digital_first: IntArray  # s39 from home: [digital_first, digital_stop)
    digital_stop: IntArray
    settle: IntArray  # month the destination balance is settled (exit, or after s39)
    home_first: IntArray  # the home voluntary scheme paid from abroad: [home_first, home_stop)
    home_stop: IntArray


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
    origins = [pop.origin_of(i) for i in range(len(names))]
    payable = np.asarray([o in home_streams(run) for o in origins])[pop.corridor]
    home = (payable & ~abroad
            & (pop.u_digital < float(s.digital_voluntary.home_uptake_share.value)))
    home_first = np.where(home, np.minimum(np.maximum(pop.arrival, effective), stop), 0)
    home_stop = np.where(home, stop, 0)
    return Coverage(host_first, stop, abroad, certificate, digital_first, digital_stop, settle,
                    home_first, home_stop)


def home_streams(run: Run) -> dict[str, Stream]:
    """Origin -> its home voluntary scheme as a stream, for the origins whose scheme operates or
    is opened by the run's agreement and whose declared income the scenario gives."""
    d = run.scenario.digital_voluntary
    out: dict[str, Stream] = {}
    for origin, (fund, scheme) in HOME_VOLUNTARY.items():
        if origin not in d.home_declared_income:
            continue
        get_adapter(fund)  # a fund its folder declares (LA-LSSO) is registered when it loads
        operating = FUNDS[fund].scheme(scheme).operating
        if not operating and not _opens(run.agreement, fund, scheme):
            continue
        context = WorkerContext(support_group=d.vn_support_group.value) if origin == "VN" else (
            WorkerContext())
        out[origin] = Stream(fund, scheme, context, opened=not operating)
    return out


def _opens(agreement: Agreement, fund: str, scheme: str) -> bool:
    return any(o.fund == fund and o.scheme == scheme
               for o in agreement.opened_voluntary_schemes())


def home_income_minor(run: Run, origin: str) -> int:
    """The declared income of an origin's payers in minor units of the home fund's currency."""
    fund = HOME_VOLUNTARY[origin][0]
    value = run.scenario.digital_voluntary.home_declared_income[origin].value
    minor = value.scaleb(get_adapter(fund).currency.exponent)
    if minor != minor.to_integral_value():
        raise DomainError(ErrorCode.INVALID_INPUT, f"{value} is not a whole number of minor units",
                          field=f"digital_voluntary.home_declared_income.{origin}.value")
    return int(minor)


def accumulate(run: Run, pop: Population, cov: Coverage, cache: PriceCache,
               bal: Balances, totals: Totals) -> None:
    """Every contribution of the horizon, into per-worker balances and run totals."""
    h = pop.horizon
    n_corridors = len(pop.corridors)
    for fund, rows in pop.slices.items():
        wages = pop.wage_minor[rows]
        first, stop = cov.host_first[rows], cov.host_stop[rows]
        where = Where(pop.corridor[rows], n_corridors)
        for stream in HOST_STREAMS[fund]:
            _stream(stream, rows, wages, first, stop, cache, bal, totals, h, where)
        if fund == "TH-SSO":
            _stream(S39, rows, wages, cov.digital_first[rows], cov.digital_stop[rows], cache,
                    bal, totals, h, where)
        spell_first = pop.arrival[rows]
        spell_stop = np.where(cov.abroad[rows], cov.host_stop[rows], spell_first)
        _stream(VN_ABROAD, rows, wages, spell_first, spell_stop, cache, bal, totals, h, where,
                double=(first, stop))
    streams = home_streams(run)
    for index in range(len(pop.corridors)):
        home = streams.get(pop.origin_of(index))
        idx = np.flatnonzero((pop.corridor == index) & (cov.home_stop > cov.home_first))
        if home is not None and idx.size:
            _home_voluntary(run, home, pop.origin_of(index), idx, cov, cache, bal, totals, h,
                            Where(pop.corridor[idx], n_corridors))
    totals.certificates = int(cov.certificate.sum())


@dataclass(frozen=True, slots=True, eq=False)
class Where:
    """Each row's corridor, for the contributions per corridor and month."""

    corridor: IntArray
    count: int


def _by_corridor(totals: Totals, stream: Stream, payer: Payer, where: Where, lo: IntArray,
                 months: IntArray, amounts: IntArray) -> None:
    """Add each row's monthly `amounts` over [lo, lo + months) to its corridor's months."""
    key = (stream.fund, stream.scheme, payer.value)
    table = totals.contributions_by_corridor.get(key)
    if table is None:
        table = totals.contributions_by_corridor[key] = np.zeros(
            (where.count, totals.horizon + 1), dtype=np.int64)
    live = months > 0
    np.add.at(table, (where.corridor[live], lo[live]), amounts[live])
    np.add.at(table, (where.corridor[live], (lo + months)[live]), -amounts[live])


def _home_voluntary(run: Run, stream: Stream, origin: str, idx: IntArray, cov: Coverage,
                    cache: PriceCache, bal: Balances, totals: Totals, horizon: int,
                    where: Where) -> None:
    """Every month of the home voluntary scheme paid from abroad by the workers `idx`. Everyone
    of an origin declares the same income, so each epoch is priced once for one worker."""
    income = home_income_minor(run, origin)
    first, stop = cov.home_first[idx], cov.home_stop[idx]
    cap = _support_cap(stream, cache.start)
    if cap is not None:  # the state's support ends after `cap` months: the rest pays it all
        middle = np.minimum(first + cap, stop)
        plain = Stream(stream.fund, stream.scheme, WorkerContext(), stream.opened)
        _home_months(stream, idx, income, first, middle, cache, bal, totals, horizon, where)
        _home_months(plain, idx, income, middle, stop, cache, bal, totals, horizon, where)
        return
    _home_months(stream, idx, income, first, stop, cache, bal, totals, horizon, where)


def _support_cap(stream: Stream, start: Month) -> int | None:
    """The months of state support a payer gets, as in force at the run's start (None: the
    scheme has no support, or cannot be priced then)."""
    if stream.context.support_group is None:
        return None
    try:
        terms = get_adapter(stream.fund).voluntary_terms(stream.scheme, start)
    except DomainError:
        return None
    return terms.support_months_max if terms is not None else None


def _home_months(stream: Stream, idx: IntArray, income: int, first: IntArray, stop: IntArray,
                 cache: PriceCache, bal: Balances, totals: Totals, horizon: int,
                 where: Where) -> None:
    monthly = totals.contributions_monthly.setdefault(stream.fund, zeros(horizon + 1))
    wage = np.asarray([income], dtype=np.int64)
    for epoch in cache.epochs(stream):
        months = overlap(first, stop, epoch)
        if epoch.plan is None or not months.any():
            continue
        shares = cache.shares(stream, epoch, income, wage)
        lo = np.clip(first, epoch.first, epoch.stop)
        live = months > 0
        per_month = 0
        for payer, amounts in shares.items():
            amount = int(amounts[0])
            per_month += amount
            totals.contributions[(stream.fund, stream.scheme, payer.value)] += amount * int(
                months.sum())
            if payer is Payer.VOLUNTARY:
                bal.home_voluntary[idx] += amount * months
            _by_corridor(totals, stream, payer, where, lo, months,
                         np.full(months.size, amount, dtype=np.int64))
        np.add.at(monthly, lo[live], per_month)
        np.add.at(monthly, (lo + months)[live], -per_month)
        bal.home_voluntary_months[idx] += months


def _stream(stream: Stream, rows: slice, wages: IntArray, first: IntArray, stop: IntArray,
            cache: PriceCache, bal: Balances, totals: Totals, horizon: int, where: Where,
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
            _by_corridor(totals, stream, payer, where, lo, months,
                         np.broadcast_to(amounts, months.shape).astype(np.int64))
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
