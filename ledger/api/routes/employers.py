"""An employer's employees at a fund: the employment relation an employer client is bound to
(issue 25 finding 4). The fund or the hub registers and ends it; the employer reads its own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.demo_data import DEMO_EMPLOYER, DEMO_SECOND_WORKER

router = APIRouter(tags=["employers"], responses=PROBLEM_RESPONSES)

FundPath = Annotated[str, Path(openapi_examples={"demo": {"value": "TH-SSO"}})]
EmployerPath = Annotated[str, Path(max_length=64, openapi_examples={
    "demo": {"summary": "the Thai sample file's employer", "value": DEMO_EMPLOYER}})]


class EmployeeIn(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"worker_id": DEMO_SECOND_WORKER}]})
    worker_id: str = Field(min_length=1, max_length=64)


@router.post("/v1/funds/{fund}/employers/{employer}/employees", status_code=201,
             summary="Register a worker as an employer's employee (the fund, the hub)",
             responses={200: {"description": "Already registered: nothing changed"}})
async def add_employee(fund: FundPath, employer: EmployerPath, body: EmployeeIn,
                       principal: PrincipalDep, svc: ServicesDep) -> JSONResponse:
    """From then on the employer's token may post contributions and declare file rows for this
    worker (a member of the fund); for no one else."""
    created = await svc.employments.register(principal, fund, employer, body.worker_id)
    return JSONResponse({"fund": fund, "employer": employer, "worker_id": body.worker_id},
                        status_code=201 if created else 200)


@router.get("/v1/funds/{fund}/employers/{employer}/employees",
            summary="An employer's employees (the fund, the hub, the employer itself)")
async def list_employees(fund: FundPath, employer: EmployerPath, principal: PrincipalDep,
                         svc: ServicesDep) -> dict[str, Any]:
    return {"fund": fund, "employer": employer,
            "worker_ids": await svc.employments.employees(principal, fund, employer)}


@router.delete("/v1/funds/{fund}/employers/{employer}/employees/{worker_id}", status_code=204,
               summary="End an employment (the fund, the hub)")
async def end_employee(
    fund: FundPath, employer: EmployerPath,
    worker_id: Annotated[str, Path(max_length=64, openapi_examples={
        "demo": {"value": DEMO_SECOND_WORKER}})],
    principal: PrincipalDep, svc: ServicesDep,
) -> Response:
    """The employer may no longer post for this worker; what it posted stays booked."""
    await svc.employments.end(principal, fund, employer, worker_id)
    return Response(status_code=204)
