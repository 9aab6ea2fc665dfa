"""Health, readiness, the Prometheus metrics and the fund registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response

from ledger import metrics
from ledger.api import views
from ledger.api.deps import OptionalPrincipalDep, PrincipalDep, ServicesDep
from ledger.db import repositories as repo
from ledger.db.migrate import current_revision, head_revision
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, get_fund
from ledger.domain.principals import PrincipalKind

STAFF = frozenset({PrincipalKind.HUB_OPERATOR, PrincipalKind.AUDITOR})

router = APIRouter(tags=["meta"])


@router.get("/v1/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/v1/ready", summary="Readiness: the database answers and is migrated", response_model=None,
    responses={503: {"description": "Not ready: the database does not answer or is not migrated",
                     "content": {"application/json": {"example": {
                         "status": "unavailable", "reason": "the database does not answer"}}}}},
)
async def ready(svc: ServicesDep, principal: OptionalPrincipalDep
                ) -> dict[str, Any] | JSONResponse:
    """Anyone learns ready or not; the hub's operator and auditor also learn why and what runs
    (the database kind and schema version tell an attacker which exploits to try)."""
    staff = principal is not None and principal.kind in STAFF
    try:
        await repo.ping(svc.db)
        revision = await current_revision(svc.db)
    except Exception as exc:  # readiness reports any failure instead of raising it
        reason = type(exc).__name__ if staff else "the database does not answer"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    if revision != head_revision():
        reason = (f"schema at {revision}, run `clmtv db upgrade`" if staff
                  else "the database is not migrated")
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    if not staff:
        return {"status": "ready"}
    standby = await svc.reads.status()  # ADR 0058: a standby that is down is no reason to wait
    return {
        "status": "ready",
        "database": svc.db.dialect,
        "schema": revision,
        "group_commit": {"batches": svc.committer.batches, "jobs": svc.committer.jobs},
        **({} if standby is None else {"standby": standby}),
    }


@router.get("/metrics", summary="Prometheus metrics (the hub's operator or auditor)",
            response_class=Response,
            responses={200: {"content": {metrics.CONTENT_TYPE: {}},
                             "description": "The Prometheus text format"}})
async def prometheus_metrics(principal: PrincipalDep) -> Response:
    """Requests and latency by route, postings, group-commit batch sizes, import rows, inbox
    messages by outcome and settlement windows (docs/operations.md). A scraper sends an
    auditor's token: read-only, and it sees no one's data here (ADR 0046)."""
    principal.require(principal.kind in STAFF, "read the metrics")
    return Response(metrics.scrape(), media_type=metrics.CONTENT_TYPE)


@router.get("/v1/funds", tags=["funds"], summary="The member funds and their schemes")
async def list_funds() -> list[dict[str, Any]]:
    return [views.fund(f) for f in FUNDS.values()]


@router.get("/v1/funds/{fund}", tags=["funds"], summary="One fund and its schemes")
async def one_fund(
    fund: Annotated[str, Path(openapi_examples={"demo": {"value": "TH-SSO"}})],
) -> dict[str, Any]:
    try:
        return views.fund(get_fund(fund))
    except DomainError as exc:
        raise DomainError(ErrorCode.NOT_FOUND, exc.message, field="fund") from None
