"""Workers, their memberships at funds, member look-up, the worker's statement, what the worker
can still claim, and who the worker let read it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from ledger.api import views
from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.read_routing import routed
from ledger.api.schemas import PROBLEM_RESPONSES, MemberSearchIn, MembershipIn, WorkerIn
from ledger.demo_data import DEMO_SECOND_WORKER, DEMO_WORKER
from ledger.limits import PAGE_SIZE_MAX
from ledger.services.claimables import WorkerClaims
from ledger.services.read_routing import ReadGraph
from ledger.services.statements import DetailPage
from ledger.services.workers import NewWorker

router = APIRouter(tags=["workers"], responses=PROBLEM_RESPONSES)


def _example(value: str) -> Any:
    return Path(openapi_examples={"demo": {"summary": "from the demo", "value": value}})


WorkerPath = Annotated[str, _example(DEMO_WORKER)]
STATEMENT_PAGE_DEFAULT = 50  # contributions a statement lists unless asked: about 12 KB
ID_MAX_CHARS = 200
# The demo worker's first contribution (demo.py: Thai s33 from 2012-01), for "Try it out".
DEMO_FIRST_CONTRIBUTION = f"ctb:{DEMO_WORKER}:TH-SSO:s33-old-age:2012-01"


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
    return views.worker(await routed(svc, principal, worker_id,
                                     lambda g: g.workers.get(principal, worker_id)))


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
    worker_id: WorkerPath, principal: PrincipalDep, svc: ServicesDep,
    limit: Annotated[int, Query(
        ge=0, le=PAGE_SIZE_MAX,
        description="Contributions listed in this page of the detail (0: the summary alone)",
    )] = STATEMENT_PAGE_DEFAULT,
    after: Annotated[str | None, Query(
        max_length=ID_MAX_CHARS, description="List the contributions after this one (the "
        "previous page's `detail.next`)",
        openapi_examples={"demo": {"summary": "the demo worker's first Thai month",
                                   "value": DEMO_FIRST_CONTRIBUTION}})] = None,
    fund: Annotated[str | None, Query(description="List only this fund's contributions")
                    ] = None,
    scheme: Annotated[str | None, Query(description="List only this scheme's contributions")
                      ] = None,
) -> dict[str, Any]:
    """The summary, whole: per fund and scheme the balance, what each payer paid, the months
    and their states; totals per currency. The detail, paged: the contributions in the order
    fund, month, scheme, id, `limit` at a time; `detail` says how many there are, how many this
    page lists and where the next page starts (`next`, for `after`; null on the last page).
    A fund sees only its part; the worker and the hub see every fund. The signed statement
    (`statement.jws`) holds the whole detail."""
    page = DetailPage(limit, after, fund, scheme)
    return await routed(svc, principal, worker_id,
                        lambda g: g.statements.statement(principal, worker_id, page))


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
    statement = await routed(svc, principal, worker_id,
                             lambda g: g.statements.statement(principal, worker_id,
                                                              what="signed"))
    return Response(svc.signer.sign_statement(worker_id, statement),
                    media_type="application/jose")


@router.get("/v1/workers/{worker_id}/claimable",
            summary="What is still claimable, from whom, by when (by the funds' own rules)")
async def claimable(worker_id: WorkerPath, principal: PrincipalDep, svc: ServicesDep
                    ) -> dict[str, Any]:
    """Each option's amount is the fund's rule applied to the worker's history for a claim this
    month; `deadline` is the last day to claim where the rules fix one; `warn` is true when it
    is within 90 days. Assumes the worker left a host country after their last month there."""
    async def read(g: ReadGraph) -> WorkerClaims:
        statement = await g.statements.statement(principal, worker_id)
        return await g.claimables.for_worker(worker_id, statement["scope"]["funds"])

    return views.claims(await routed(svc, principal, worker_id, read))


@router.get("/v1/workers/{worker_id}/consents",
            summary="Who the worker lets read their statement, and who read it")
async def consents(worker_id: WorkerPath, principal: PrincipalDep, svc: ServicesDep
                   ) -> dict[str, Any]:
    """The worker (and the hub's staff) see every grant, ended ones too, and each read of the
    statement by someone else. A worker grants and revokes on the statement page (/web)."""
    return await svc.consent.overview(principal, worker_id)
