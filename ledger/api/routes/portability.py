"""Agreements, reference rates, portability transfers (claims) and a worker's totalisation.

A flow moves a worker's value from a host fund to the home fund (or to the worker through it):
`POST /v1/portability/transfers` requests it; `POST .../{flow_id}/transitions` moves it — the
host fund approves (`pending`: legs reserved in the ledger) or refuses, the home fund
acknowledges (`posted`) or rejects (`voided`). Funds usually do this by signed message
(`POST /v1/inbox/messages`); these endpoints are the same operations for an API client.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ledger.adapters.refunds import Claim
from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.demo_data import DEMO_WORKER
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ids import check_worker_id
from ledger.domain.periods import Month
from ledger.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ledger.services import exit_options as options
from ledger.services.portability import FlowRequest, FlowState, Reason
from ledger.settlement.agreement import AGREEMENTS_DIR, bundled_agreement
from ledger.settlement.legs import Flow

router = APIRouter(tags=["portability"], responses=PROBLEM_RESPONSES)
EXAMPLE_FLOW = "pt-example-thai"


def _path(value: str) -> Any:
    return Path(openapi_examples={"demo": {"summary": "from the demo", "value": value}})


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"claim_month": "2026-09", "age_years": 35, "left_country_month": "2026-08"}]})
    claim_month: str = Field(description="YYYY-MM")
    age_years: StrictInt | None = Field(None, ge=0, le=130)
    left_country_month: str | None = Field(None, description="YYYY-MM the worker left")
    entitled_month: str | None = Field(
        None, description="YYYY-MM the right arose (Thai old age: age 55 reached and insured "
        "status ended); the fund's claim window runs from it")


class FlowIn(BaseModel):
    """A request to move a worker's value out of a host fund's scheme."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id": EXAMPLE_FLOW, "worker_id": DEMO_WORKER, "host_fund": "TH-SSO",
         "scheme": "s33-old-age", "reason": "return_home", "flow": "transfer"}]})
    id: str | None = Field(None, description="Caller-chosen id (default: derived)")
    worker_id: str
    host_fund: str
    scheme: str
    reason: Reason
    flow: Literal["transfer", "lump_sum"] = "transfer"
    claim: ClaimIn | None = Field(None, description="Required for a lump sum")


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"to": "pending"}]})
    to: Literal["pending", "refused", "posted", "voided"] = Field(
        description="pending: host approves; refused: host refuses; posted: home fund "
        "acknowledges; voided: home fund rejects")
    reason: str | None = Field(None, max_length=500, description="Required to refuse or reject")


class RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"rate": "0.028", "source": "Bank of Thailand reference rate, 2026-10-30"}]})
    # fx_rates.rate holds 48 characters: a longer rate was a database error (a 500).
    rate: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$", max_length=48,
                      description="Units of quote per unit of base, a decimal string")
    source: str = Field(min_length=1, max_length=500)


@router.get("/v1/agreements", summary="The agreements this hub knows (bundled YAML files)")
async def agreements(principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    names = sorted(p.stem for p in AGREEMENTS_DIR.glob("*.yaml"))
    return {"in_force": svc.portability.agreement.name, "agreements": names}


@router.get("/v1/agreements/{name}", summary="One agreement: members, schemes, rules, sources")
async def agreement(name: Annotated[str, _path("clmtv-2019-pilot")],
                    principal: PrincipalDep) -> dict[str, Any]:
    try:
        found = bundled_agreement(name)
    except DomainError as exc:
        raise DomainError(ErrorCode.NOT_FOUND, f"no agreement {name}", field="name") from exc
    # Month and Fraction are plain validators: written out here as YYYY-MM and "p/q".
    data: dict[str, Any] = found.model_dump(mode="json", warnings=False)
    for fund, specs in found.eligibility.items():
        for index, spec in enumerate(specs):
            start = spec.effective_from
            data["eligibility"][fund][index]["effective_from"] = str(start) if start else None
    return data


@router.get("/v1/fx-rates", summary="Reference rates in force")
async def rates(principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return {"rates": await svc.portability.rates()}


@router.put("/v1/fx-rates/{base}/{quote}", summary="Set a reference rate (hub operator)")
async def set_rate(base: Annotated[str, _path("THB")], quote: Annotated[str, _path("USD")],
                   body: RateIn, principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.portability.set_rate(principal, base, quote, body.rate, body.source)


@router.post("/v1/portability/transfers", status_code=201,
             summary="Request a portability transfer or a lump sum through the home fund")
async def request_flow(body: FlowIn, principal: PrincipalDep, svc: ServicesDep
                       ) -> dict[str, Any]:
    claim = None
    if body.claim is not None:
        left, entitled = body.claim.left_country_month, body.claim.entitled_month
        claim = Claim(claim_month=Month.parse(body.claim.claim_month, "claim.claim_month"),
                      age_years=body.claim.age_years, insured_status_ended=True,
                      left_country_month=Month.parse(left, "claim.left_country_month")
                      if left else None,
                      entitled_month=Month.parse(entitled, "claim.entitled_month")
                      if entitled else None)
    return await svc.portability.request(principal, FlowRequest(
        body.worker_id, body.host_fund, body.scheme, body.reason, Flow(body.flow), body.id,
        claim))


@router.get("/v1/portability/transfers", summary="Flows visible to the caller")
async def list_flows(principal: PrincipalDep, svc: ServicesDep, worker_id: str | None = None,
                     state: FlowState | None = None,
                     limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
                     ) -> dict[str, Any]:
    """Oldest first, at most `limit`."""
    if worker_id is not None:
        check_worker_id(worker_id)
    return {"transfers": await svc.portability.find(
        principal, worker_id, state.value if state else None, limit)}


@router.get("/v1/portability/transfers/{flow_id}", summary="One flow, its amounts and legs")
async def get_flow(flow_id: Annotated[str, _path("pt-demo-lswp")], principal: PrincipalDep,
                   svc: ServicesDep) -> dict[str, Any]:
    return await svc.portability.get(principal, flow_id)


@router.post("/v1/portability/transfers/{flow_id}/transitions",
             summary="Approve, refuse (host fund), acknowledge or reject (home fund)")
async def move_flow(
    flow_id: Annotated[str, _path(EXAMPLE_FLOW)],
    body: Annotated[TransitionIn, Body(openapi_examples={
        "approve": {"summary": "host fund approves", "value": {"to": "pending"}},
        "acknowledge": {"summary": "home fund acknowledges", "value": {"to": "posted"}},
        "reject": {"summary": "home fund rejects", "value": {"to": "voided",
                                                               "reason": "unknown member"}}})],
    principal: PrincipalDep, svc: ServicesDep,
) -> dict[str, Any]:
    service = svc.portability
    if body.to == "pending":
        return await service.approve(principal, flow_id)
    if body.to == "posted":
        return await service.acknowledge(principal, flow_id)
    reason = body.reason or ""
    if body.to == "refused":
        return await service.refuse(principal, flow_id, reason)
    return await service.reject(principal, flow_id, reason)


@router.get("/v1/workers/{worker_id}/totalisation",
            summary="The worker's months at every fund, counted under the agreement")
async def totalisation(
    worker_id: Annotated[str, _path(DEMO_WORKER)], principal: PrincipalDep, svc: ServicesDep,
    as_of: Annotated[str | None, Query(description="YYYY-MM; default this month")] = None,
    age_years: Annotated[int | None, Query(ge=0, le=130)] = None,
) -> dict[str, Any]:
    month = (Month.parse(as_of, "as_of") if as_of is not None
             else Month.of(datetime.now(UTC).date()))
    result = await svc.portability.totalisation(principal, worker_id, month, age_years)
    return {"as_of": str(result.as_of), "totalised_months": len(result.union_months),
            "funds": [{"fund": f.fund, "member": f.member, "own_months": f.own_months,
                       "totalised_months": f.totalised_months,
                       "threshold_months": f.threshold.months_min,
                       "qualifies_on_periods": f.qualifies_on_periods,
                       "age_condition_met": f.age_condition_met,
                       "pro_rata": f"{f.pro_rata.numerator}/{f.pro_rata.denominator}",
                       "short_period": f.short_period} for f in result.funds.values()]}


@router.get("/v1/workers/{worker_id}/receivables",
            summary="Money still owed to the worker by someone else (e.g. Japan's tax refund)")
async def receivables(worker_id: Annotated[str, _path(DEMO_WORKER)], principal: PrincipalDep,
                      svc: ServicesDep) -> dict[str, Any]:
    check_worker_id(worker_id)  # a worker id there cannot be is refused, not answered empty
    return {"receivables": await svc.portability.receivables(principal, worker_id)}


@router.get("/v1/workers/{worker_id}/exit-options",
            summary="Each exit route the agreement offers the worker: amount, payer, when")
async def exit_options(
    worker_id: Annotated[str, _path(DEMO_WORKER)], principal: PrincipalDep, svc: ServicesDep,
    as_of: Annotated[str | None, Query(description="YYYY-MM; default this month")] = None,
    age_years: Annotated[int | None, Query(ge=0, le=130)] = None,
) -> dict[str, Any]:
    """For each portable scheme the worker has months in abroad, every route the agreement
    offers (ADR 0047): move the balance home now, or keep the months, totalise, and be paid the
    fund's pro-rata share at its pension age. The worker chooses; a transfer is then requested
    with `POST /v1/portability/transfers`."""
    month = Month.parse(as_of, "as_of") if as_of else Month.of(datetime.now(UTC).date())
    return await options.exit_options(svc.portability, principal, worker_id, month, age_years)
