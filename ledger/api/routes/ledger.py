"""Accounts, balances and transfers: linked batches, post/void of pending ones, reversals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from ledger.api import views
from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.read_routing import routed
from ledger.api.schemas import (
    PROBLEM_RESPONSES,
    AccountIn,
    ResolveIn,
    ReversalIn,
    TransferBatchIn,
)
from ledger.domain.accounts import AccountCode
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import get_fund
from ledger.domain.ids import check_worker_id
from ledger.domain.ledger import AccountFlags, TransferFlags
from ledger.domain.money import Money, parse_amount_minor
from ledger.domain.principals import PrincipalKind
from ledger.limits import ID_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ledger.services.posting import UnitResult

router = APIRouter(tags=["ledger"], responses=PROBLEM_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)]


def _example_path(value: str) -> Any:
    return Path(openapi_examples={"demo": {"summary": "from the demo", "value": value}})


AccountId = Annotated[int, Path(ge=1, le=ID_MAX, openapi_examples={
    "demo": {"summary": "from the demo", "value": "1"}})]


def _example_body(value: dict[str, Any]) -> Any:
    return Body(openapi_examples={"demo": {"summary": "from the demo", "value": value}})


def _flags(names: list[str]) -> AccountFlags:
    flags = AccountFlags.NONE
    for index, name in enumerate(names):
        try:
            flags |= AccountFlags[name.upper()]
        except KeyError:
            raise DomainError(
                ErrorCode.INVALID_INPUT, f"unknown account flag {name!r}", field=f"flags[{index}]"
            ) from None
    return flags


@router.post("/v1/accounts", status_code=201, summary="Open an account (hub operator)")
async def open_account(
    body: AccountIn, principal: PrincipalDep, svc: ServicesDep
) -> dict[str, Any]:
    view = await svc.transfers.open_account(
        principal, body.key, body.code, body.currency, _flags(body.flags), body.fund
    )
    return views.account(view)


@router.get("/v1/accounts", summary="List accounts (a fund sees its own)")
async def list_accounts(
    principal: PrincipalDep,
    svc: ServicesDep,
    fund: str | None = None,
    worker_id: str | None = None,
    code: AccountCode | None = None,
    after_id: Annotated[int, Query(ge=0, le=ID_MAX)] = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> dict[str, Any]:
    # A filter that names no fund or worker there can be is refused, not answered empty: the
    # document says which values exist (issue 16 item 5).
    if fund is not None:
        get_fund(fund)
    if worker_id is not None:
        check_worker_id(worker_id)
    rows = await routed(svc, principal, worker_id, lambda g: g.transfers.accounts(
        principal, fund=fund, worker_id=worker_id, code=code.value if code else None,
        after_id=after_id, limit=limit))
    return {
        "accounts": [views.account(r) for r in rows],
        "next_after_id": rows[-1].id if len(rows) == limit else None,
    }


@router.get("/v1/accounts/{account_id}", summary="One account and its balances")
async def get_account(
    account_id: AccountId, principal: PrincipalDep, svc: ServicesDep
) -> dict[str, Any]:
    return views.account(await routed(svc, principal, None,
                                      lambda g: g.transfers.account(principal, account_id)))


@router.get("/v1/accounts/{account_id}/transfers", summary="An account's journal, oldest first")
async def account_transfers(
    account_id: AccountId,
    principal: PrincipalDep,
    svc: ServicesDep,
    after: Annotated[int, Query(ge=0, le=ID_MAX)] = 0,
    limit: Limit = PAGE_SIZE_DEFAULT,
) -> dict[str, Any]:
    records, cursor = await routed(svc, principal, None, lambda g: g.transfers.account_transfers(
        principal, account_id, after, limit))
    return {
        "transfers": [views.transfer(r) for r in records],
        "next_after": cursor if len(records) == limit else None,
    }


def _outcome(results: list[UnitResult]) -> dict[str, Any]:
    result = results[0]
    if result.error is not None:
        raise result.error
    return {
        "status": result.status.value,
        "transfers": [views.transfer(t) for t in result.transfers],
    }


@router.post("/v1/transfers", status_code=201, summary="Create a linked batch of transfers")
async def create_transfers(
    body: TransferBatchIn, principal: PrincipalDep, svc: ServicesDep
) -> dict[str, Any]:
    """All transfers apply or none does; an error names the index of the first that failed.
    The same ids with the same fields again change nothing (status `exists`)."""
    planned = []
    for index, t in enumerate(body.transfers):
        try:
            money = Money.from_wire(t.amount.model_dump(), "amount")
        except DomainError as exc:
            raise exc.at(index, f"transfers[{index}]") from None
        planned.append(
            PlannedTransfer(
                t.id,
                t.debit_account_id,
                t.credit_account_id,
                money.amount_minor,
                money.currency,
                TransferFlags.PENDING if t.pending else TransferFlags.NONE,
                code=t.code,
            )
        )
    return _outcome(await svc.transfers.create(principal, planned))


@router.get("/v1/transfers/{transfer_id}", summary="Look up a transfer")
async def get_transfer(
    transfer_id: Annotated[str, _example_path("demo-move-1")],
    principal: PrincipalDep,
    svc: ServicesDep,
) -> dict[str, Any]:
    return views.transfer(await svc.transfers.get(principal, transfer_id))


async def _resolve(
    transfer_id: str, body: ResolveIn, post: bool, principal: PrincipalDep, svc: ServicesDep
) -> dict[str, Any]:
    amount = parse_amount_minor(body.amount_minor) if body.amount_minor else 0
    return _outcome([await svc.transfers.resolve(principal, transfer_id, body.id, post, amount)])


@router.post(
    "/v1/transfers/{transfer_id}/post",
    status_code=201,
    summary="Post a pending transfer (all or part)",
)
async def post_pending(
    transfer_id: Annotated[str, _example_path("demo-move-1")],
    body: Annotated[ResolveIn, _example_body({"id": "demo-move-1-post"})],
    principal: PrincipalDep,
    svc: ServicesDep,
) -> dict[str, Any]:
    return await _resolve(transfer_id, body, True, principal, svc)


@router.post("/v1/transfers/{transfer_id}/void", status_code=201, summary="Void a pending transfer")
async def void_pending(
    transfer_id: Annotated[str, _example_path("demo-move-2")],
    body: Annotated[ResolveIn, _example_body({"id": "demo-move-2-void"})],
    principal: PrincipalDep,
    svc: ServicesDep,
) -> dict[str, Any]:
    return await _resolve(transfer_id, body, False, principal, svc)


@router.post(
    "/v1/transfers/{transfer_id}/reversal", status_code=201, summary="Reverse a posted transfer"
)
async def reverse(
    transfer_id: Annotated[str, _example_path("demo-move-1-post")],
    body: Annotated[ReversalIn, _example_body({"id": "demo-move-1-reversal"})],
    principal: PrincipalDep,
    svc: ServicesDep,
) -> dict[str, Any]:
    """Transfers are never edited: a correction is a new transfer with the accounts swapped."""
    return _outcome([await svc.transfers.reverse(principal, transfer_id, body.id)])


@router.get("/v1/ledger/contribution-totals",
            summary="Contributions booked by fund, scheme and payer (files and API alike)")
async def contribution_totals(principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    principal.require(
        principal.kind in (PrincipalKind.HUB_OPERATOR, PrincipalKind.AUDITOR),
        "read contribution totals",
    )
    rows = await routed(svc, principal, None, lambda g: g.transfers.contribution_totals())
    return {"totals": [
        {"fund": f, "scheme": s, "payer": p, "amount_minor": str(v)}
        for (f, s, p), v in sorted(rows.items())
    ]}


@router.get("/v1/ledger/totals", summary="Posted debits and credits per currency (must match)")
async def totals(principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    principal.require(
        principal.kind in (PrincipalKind.HUB_OPERATOR, PrincipalKind.AUDITOR), "read ledger totals"
    )
    rows = await routed(svc, principal, None, lambda g: g.transfers.totals())
    return {
        "currencies": [
            {"currency": cur, "debits_posted": str(d), "credits_posted": str(c), "balanced": d == c}
            for cur, (d, c) in sorted(rows.items())
        ]
    }
