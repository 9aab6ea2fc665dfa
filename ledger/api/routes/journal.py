"""The tamper-evident journal (ADR 0050): signed tree heads, and inclusion and consistency proofs
a fund checks offline (`clmtv audit check FILE --jwks URL`). Funds, the operator and the auditor
may read them; an inclusion proof shows a transfer, so it follows the transfer's own rule (a fund
sees the transfers of its accounts). The period state changes have a log of their own (ADR 0059):
`log=periods` on the tree heads and consistency, and an inclusion proof for one period change,
which a fund may ask for its own periods only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal, PrincipalKind
from ledger.limits import ID_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ledger.services.journal import JournalService

router = APIRouter(tags=["journal"], responses=PROBLEM_RESPONSES)
READERS = (PrincipalKind.HUB_OPERATOR, PrincipalKind.AUDITOR, PrincipalKind.FUND)
TreeSize = Annotated[int | None, Query(ge=1, le=ID_MAX)]
LogName = Annotated[Literal["transfers", "periods"], Query(
    description="which log: the transfers' or the period state changes' (ADR 0059)")]


def _reader(principal: Principal, what: str) -> None:
    principal.require(principal.kind in READERS, what)


def _log(svc: Any, log: str) -> JournalService:
    journal: JournalService = svc.period_journal if log == "periods" else svc.journal
    return journal


@router.get("/v1/journal/tree-heads", summary="Signed tree heads of the journal, oldest first")
async def tree_heads(
    principal: PrincipalDep, svc: ServicesDep,
    after_size: Annotated[int, Query(ge=0, le=ID_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
    log: LogName = "transfers",
) -> dict[str, Any]:
    """Each head's `token` is a JWS the hub signed (`journal.tree_head`); keep them: every later
    head must be consistent with each one you hold (`/v1/journal/consistency`)."""
    _reader(principal, "read the journal's tree heads")
    heads = await _log(svc, log).tree_heads(after_size, limit)
    return {"tree_heads": heads,
            "next_after_size": heads[-1]["tree_size"] if len(heads) == limit else None}


@router.get("/v1/journal/tree-heads/latest", summary="The newest signed tree head")
async def latest_tree_head(principal: PrincipalDep, svc: ServicesDep,
                           log: LogName = "transfers") -> dict[str, Any]:
    _reader(principal, "read the journal's tree heads")
    return await _log(svc, log).latest()


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
    log: LogName = "transfers",
) -> dict[str, Any]:
    """`first` defaults to the oldest tree head, `second` to the newest: pass the size of the
    newest head you keep as `first` to check the hub's latest against it."""
    _reader(principal, "read consistency proofs")
    return await _log(svc, log).consistency(first, second)


@router.get("/v1/journal/periods/{change_id:path}/inclusion",
            summary="Proof that a period state change, as recorded now, is in a signed tree head")
async def period_inclusion(
    change_id: Annotated[str, Path(openapi_examples={
        "demo": {"summary": "from the demo",
                 "value": "wkr_demo0001/TH-SSO/s33-old-age/2012-01/active"}})],
    principal: PrincipalDep, svc: ServicesDep,
    tree_size: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
) -> dict[str, Any]:
    """A change is named `worker/fund/scheme/YYYY-MM/state` (a period is created `active`,
    then may be `withdrawn` or `transferred`, once). A fund may ask for its own periods only.
    The latest tree head of the period log unless `tree_size` names another; a change made
    after the last seal is sealed first (409 `not_sealed_yet` if it cannot be yet)."""
    _reader(principal, "read inclusion proofs")
    parts = change_id.split("/")
    if principal.kind is PrincipalKind.FUND and (len(parts) < 2 or parts[1] != principal.scope):
        raise DomainError(ErrorCode.NOT_FOUND, f"no period change {change_id}")
    journal: JournalService = svc.period_journal
    return await journal.inclusion(change_id, tree_size)
