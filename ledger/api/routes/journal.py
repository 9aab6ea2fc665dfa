"""The tamper-evident journal (ADR 0050): signed tree heads, and inclusion and consistency proofs
a fund checks offline (`clmtv audit check FILE --jwks URL`). Funds, the operator and the auditor
may read them; an inclusion proof shows a transfer, so it follows the transfer's own rule (a fund
sees the transfers of its accounts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.domain.principals import Principal, PrincipalKind
from ledger.limits import ID_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX

router = APIRouter(tags=["journal"], responses=PROBLEM_RESPONSES)
READERS = (PrincipalKind.HUB_OPERATOR, PrincipalKind.AUDITOR, PrincipalKind.FUND)
TreeSize = Annotated[int | None, Query(ge=1, le=ID_MAX)]


def _reader(principal: Principal, what: str) -> None:
    principal.require(principal.kind in READERS, what)


@router.get("/v1/journal/tree-heads", summary="Signed tree heads of the journal, oldest first")
async def tree_heads(
    principal: PrincipalDep, svc: ServicesDep,
    after_size: Annotated[int, Query(ge=0, le=ID_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
) -> dict[str, Any]:
    """Each head's `token` is a JWS the hub signed (`journal.tree_head`); keep them: every later
    head must be consistent with each one you hold (`/v1/journal/consistency`)."""
    _reader(principal, "read the journal's tree heads")
    heads = await svc.journal.tree_heads(after_size, limit)
    return {"tree_heads": heads,
            "next_after_size": heads[-1]["tree_size"] if len(heads) == limit else None}


@router.get("/v1/journal/tree-heads/latest", summary="The newest signed tree head")
async def latest_tree_head(principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    _reader(principal, "read the journal's tree heads")
    return await svc.journal.latest()


@router.get("/v1/journal/transfers/{transfer_id:path}/inclusion",
            summary="Proof that a transfer, as stored now, is in a signed tree head")
async def inclusion(
    transfer_id: Annotated[str, Path(openapi_examples={
        "demo": {"summary": "from the demo", "value": "demo-move-1"}})],
    principal: PrincipalDep, svc: ServicesDep,
    tree_size: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
) -> dict[str, Any]:
    """The id may hold slashes, as a contribution's transfers do (`ctb:…/employee`). The
    latest tree head unless `tree_size` names another. A transfer committed after the
    last seal is sealed first (without `tree_size`); 409 `not_sealed_yet` if it still cannot
    be (a transaction older than it is still running)."""
    _reader(principal, "read inclusion proofs")
    await svc.transfers.get(principal, transfer_id)  # 404 unless the caller may see it
    return await svc.journal.inclusion(transfer_id, tree_size)


@router.get("/v1/journal/consistency",
            summary="Proof that an older tree head is a prefix of a newer one")
async def consistency(
    principal: PrincipalDep, svc: ServicesDep, first: TreeSize = None, second: TreeSize = None,
) -> dict[str, Any]:
    """`first` defaults to the oldest tree head, `second` to the newest: pass the size of the
    newest head you keep as `first` to check the hub's latest against it."""
    _reader(principal, "read consistency proofs")
    return await svc.journal.consistency(first, second)
