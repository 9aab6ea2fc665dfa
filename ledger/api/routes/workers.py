"""Workers, their memberships at funds, member look-up, and the worker's statement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from ledger.api import views
from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES, MemberSearchIn, MembershipIn, WorkerIn
from ledger.demo_data import DEMO_SECOND_WORKER, DEMO_WORKER
from ledger.services.workers import NewWorker

router = APIRouter(tags=["workers"], responses=PROBLEM_RESPONSES)


def _example(value: str) -> Any:
    return Path(openapi_examples={"demo": {"summary": "from the demo", "value": value}})


WorkerPath = Annotated[str, _example(DEMO_WORKER)]


@router.post("/v1/workers", status_code=201, summary="Register a worker (and memberships)")
async def create_worker(
    body: WorkerIn, principal: PrincipalDep, svc: ServicesDep
) -> dict[str, Any]:
    """Identity and member numbers are stored only as a keyed hash and encrypted; responses show
    them in clear only to the hub operator, the worker, and the fund of that membership."""
    view = await svc.workers.create(
        principal,
        NewWorker(
            nationality=body.nationality,
            memberships=[(m.fund, m.member_number) for m in body.memberships],
            identity_kind=body.identity.kind if body.identity else None,
            identity_number=body.identity.number if body.identity else None,
            id=body.id,
        ),
    )
    return views.worker(view)


@router.get("/v1/workers/{worker_id}", summary="A worker and the memberships you may see")
async def get_worker(
    worker_id: WorkerPath, principal: PrincipalDep, svc: ServicesDep
) -> dict[str, Any]:
    return views.worker(await svc.workers.get(principal, worker_id))


@router.post(
    "/v1/workers/{worker_id}/memberships", status_code=201, summary="Add a membership at a fund"
)
async def add_membership(
    worker_id: Annotated[str, _example(DEMO_SECOND_WORKER)],
    body: MembershipIn,
    principal: PrincipalDep,
    svc: ServicesDep,
) -> dict[str, Any]:
    return views.worker(
        await svc.workers.add_membership(principal, worker_id, body.fund, body.member_number)
    )


@router.post("/v1/funds/{fund}/members/search", summary="Find a worker by member number")
async def find_member(
    fund: Annotated[str, _example("TH-SSO")],
    body: MemberSearchIn,
    principal: PrincipalDep,
    svc: ServicesDep,
) -> dict[str, Any]:
    """The number travels in the body, never in the URL: paths and query strings end up in
    access logs, proxy logs, browser history and metric labels (ADR 0040). 404 when the fund
    has no such member (or the caller may not see them)."""
    return views.worker(await svc.workers.find(principal, fund, body.member_number))


@router.get("/v1/workers/{worker_id}/statement", summary="What was paid, by whom, where")
async def statement(
    worker_id: WorkerPath, principal: PrincipalDep, svc: ServicesDep
) -> dict[str, Any]:
    """Balances per fund, scheme, payer and currency; months per fund; contributions; totals.
    A fund sees only its part; the worker and the hub see every fund."""
    return await svc.statements.statement(principal, worker_id)


@router.get(
    "/v1/workers/{worker_id}/statement.jws",
    summary="The same statement, signed by the hub (compact JWS, verifiable offline)",
    response_class=Response,
    responses={200: {"content": {"application/jose": {}},
                     "description": "JWS compact serialisation, alg Ed25519"}},
)
async def signed_statement(worker_id: WorkerPath, principal: PrincipalDep, svc: ServicesDep
                           ) -> Response:
    """Verify with `clmtv verify FILE` or any JOSE library and the keys at
    `/.well-known/jwks.json`. The payload is the RFC 8785 form of the statement claims."""
    statement = await svc.statements.statement(principal, worker_id)
    return Response(svc.signer.sign_statement(worker_id, statement),
                    media_type="application/jose")
