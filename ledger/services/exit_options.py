"""A worker's exit routes under the agreement, side by side: what each pays, who pays, by when.

Owns the comparison the worker chooses from (ADR 0044). For each portable scheme the worker has
active months in at a fund abroad, every route the agreement offers (`PortableScheme.
offered_rules`):

- `transfer_to_home_fund` (or `pay_worker` where the home fund has no pension scheme): the
  portable payers' shares move now, paid by the host fund to the home fund (or to the worker)
  through the next settlement window; the months then count at home;
- `keep_and_totalise`: the months stay and totalise with every member fund's; once the worker
  qualifies on periods, the host fund pays its pro-rata share of the theoretical pension (as if
  every totalised month were its own, EU Reg 883/2004 Art 52) monthly from its pension age,
  claimed within the fund's claim window. Without a right on the periods, what the fund's own
  rule pays at that age (the Thai lump sum).

Amounts are in the host fund's currency, from the same rules that would pay them: the ledger's
balances for a transfer, the fund adapter's pension or lump-sum rule and `totalisation.py` for
keeping. A fund whose pension formula the hub does not model says so instead of an amount.
"""

from __future__ import annotations

from typing import Any

from ledger.adapters.refunds import BenefitKind, Claim, History
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso import old_age
from ledger.adapters.th_sso.params import CLAIM_AGE, CLAIM_WINDOW
from ledger.domain.errors import DomainError
from ledger.domain.funds import FundCode, get_fund
from ledger.domain.ids import check_worker_id
from ledger.domain.money import Money
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.portability import PortabilityService, has_pension
from ledger.settlement.agreement import Agreement, AgreementKind, PortableScheme, TransferRule
from ledger.settlement.totalisation import FundTotalisation, pro_rata_benefit


async def exit_options(service: PortabilityService, principal: Principal, worker_id: str,
                       as_of: Month, age_years: int | None) -> dict[str, Any]:
    worker = check_worker_id(worker_id)
    principal.require(principal.sees_everything or (
        principal.kind is PrincipalKind.WORKER and principal.scope == worker),
        "see a worker's exit options")
    agreement = service.agreement
    out: dict[str, Any] = {"worker_id": worker, "agreement": agreement.name,
                           "as_of": str(as_of), "schemes": []}
    if agreement.kind is AgreementKind.BASELINE:
        return out  # nothing portable: each fund's own route only
    home = await service.home_fund(worker)
    totals = await service.totalisation(principal, worker, as_of, age_years)
    for portable in agreement.portable_schemes:
        if portable.fund == home or not agreement.is_member(home):
            continue
        history = await service.amounts.history(worker, portable.fund)
        active = history.active({portable.scheme})
        if not active:
            continue
        view = totals.funds.get(FundCode(portable.fund))
        routes = [await _route(service, portable, rule, worker, home, history, view, as_of,
                               age_years) for rule in portable.offered_rules]
        out["schemes"].append({"fund": portable.fund, "scheme": portable.scheme,
                               "active_months": len(active), "home_fund": home,
                               "default": portable.transfer_rule.value, "routes": routes})
    return out


async def _route(service: PortabilityService, portable: PortableScheme, rule: TransferRule,
                 worker: str, home: str, history: History, view: FundTotalisation | None,
                 as_of: Month, age_years: int | None) -> dict[str, Any]:
    host = get_fund(portable.fund)
    if rule is TransferRule.KEEP_AND_TOTALISE:
        return _keep(service.agreement, portable, history, view, as_of, age_years)
    if rule is TransferRule.TRANSFER_TO_HOME_FUND and not has_pension(home):
        rule = portable.fallback_rule or rule  # nothing at home to receive it (Myanmar)
    to_home = rule is TransferRule.TRANSFER_TO_HOME_FUND
    amount = await service.amounts.portable_amount(worker, host.code, portable.scheme)
    settlement = service.agreement.settlement
    cycle = settlement.cycle.value if settlement else "next"
    return {
        "route": rule.value, "amount": Money(amount, host.currency).to_wire(),
        "payment": "once", "payer": host.code,
        "paid_to": home if to_home else f"the worker, through {home}",
        "when": f"the first {cycle} settlement window after {home} acknowledges",
        "claim_by": None, "months_then_count_at": home if to_home else None,
        "note": "the " + " and ".join(p.value for p in portable.portable_payers)
        + f" shares of the active months move; any other payer's stay with {host.code}",
    }


def _keep(agreement: Agreement, portable: PortableScheme, history: History,
          view: FundTotalisation | None, as_of: Month, age_years: int | None) -> dict[str, Any]:
    host = get_fund(portable.fund)
    out: dict[str, Any] = {"route": TransferRule.KEEP_AND_TOTALISE.value, "payer": host.code,
                           "paid_to": "the worker", "months_then_count_at": host.code}
    if host.code != "TH-SSO" or view is None:
        return {**out, "amount": None, "payment": "pension", "when": "at the fund's pension age",
                "claim_by": None, "note": f"{host.code}'s pension formula is not modelled: "
                "the months stay and totalise; the amount is the fund's to compute"}
    params = get_adapter(host.code).parameters
    age = params.at(CLAIM_AGE, as_of)
    last = history.active(old_age.COUNTED)[-1].month
    if age_years is None:  # the month the worker turns 55 is not known: no date to promise
        entitled = max(as_of, last.plus(1))
        timing = {"when": f"from age {age}", "claim_by": None}
    else:
        at_age = as_of if age_years >= age else as_of.plus((age - age_years) * 12)
        entitled = max(at_age, last.plus(1))  # age reached and insured status ended
        window = params.at(CLAIM_WINDOW, entitled)
        timing = {"when": f"from {entitled}", "claim_by": str(entitled.plus(window))}
    claim = Claim(entitled, age_years=age, insured_status_ended=True, entitled_month=entitled)
    if view.qualifies_on_periods:
        assert agreement.totalisation is not None  # an agreement (not a baseline) has one
        benefit = pro_rata_benefit(
            view, lambda months: old_age.theoretical_pension(params, history, months, claim),
            agreement.totalisation.pro_rata_rounding)
        return {**out, **timing, "amount": benefit.amount.to_wire(), "payment": "monthly",
                "basis": {"theoretical": benefit.theoretical.to_wire(),
                          "pro_rata": f"{view.own_months}/{view.totalised_months}",
                          "totalised_months": view.totalised_months},
                "note": f"a pension: {view.own_months} of {view.totalised_months} totalised "
                        "months are Thai (EU Reg 883/2004 Art 52)"}
    try:
        (lump,) = get_adapter(host.code).withdrawal(history, claim)
    except DomainError as refused:
        return {**out, **timing, "amount": None, "payment": "none", "note": refused.message}
    assert lump.kind is BenefitKind.LUMP_SUM  # no pension on periods: the rule pays a lump sum
    return {**out, **timing, "amount": lump.gross.to_wire(), "payment": "once",
            "note": f"{view.totalised_months} of {view.threshold.months_min} totalised months: "
                    "no pension on these periods yet (more months at home count); at this age "
                    "the fund's own lump sum"}

