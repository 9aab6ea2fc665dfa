"""Workers, their memberships at funds, member look-up, the worker's statement, what the worker
can still claim, and who the worker let read it."""

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
    statement = await svc.statements.statement(principal, worker_id, what="signed")
    return Response(svc.signer.sign_statement(worker_id, statement),
                    media_type="application/jose")


@router.get("/v1/workers/{worker_id}/claimable",
            summary="What is still claimable, from whom, by when (by the funds' own rules)")
async def claimable(worker_id: WorkerPath, principal: PrincipalDep, svc: ServicesDep
                    ) -> dict[str, Any]:
    """Each option's amount is the fund's rule applied to the worker's history for a claim this
    month; `deadline` is the last day to claim where the rules fix one; `warn` is true when it
    is within 90 days. Assumes the worker left a host country after their last month there."""
    statement = await svc.statements.statement(principal, worker_id)
    claims = await svc.claimables.for_worker(worker_id, statement["scope"]["funds"])
    return views.claims(claims)


@router.get("/v1/workers/{worker_id}/consents",
            summary="Who the worker lets read their statement, and who read it")
async def consents(worker_id: WorkerPath, principal: PrincipalDep, svc: ServicesDep
                   ) -> dict[str, Any]:
    """The worker (and the hub's staff) see every grant, ended ones too, and each read of the
    statement by someone else. A worker grants and revokes on the statement page (/web)."""
    return await svc.consent.overview(principal, worker_id)
