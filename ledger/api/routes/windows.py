"""Settlement windows: open, close (net and sign), settle (post and reconcile), abort.

Funds confirm a closed window's statement by signed `settlement.confirmation` message through
`POST /v1/inbox/messages`; settling needs every participant's confirmation.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.domain.money import Currency
from ledger.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX

router = APIRouter(tags=["settlement"], responses=PROBLEM_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)]


def _path(value: str) -> Any:
    return Path(openapi_examples={"demo": {"summary": "from the demo", "value": value}})


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"currency": "USD"}]})
    currency: str = Field(description="Settlement currency (the agreement's: USD)")


class WindowTransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"to": "closed"}]})
    to: Literal["closed", "settled", "aborted"]
    reason: str | None = Field(None, max_length=500, description="Required to abort")


@router.post("/v1/windows", summary="The open window of a currency (opened if none)")
async def open_window(body: WindowIn, principal: PrincipalDep, svc: ServicesDep
                      ) -> dict[str, Any]:
    return await svc.settlement.open_window(principal, body.currency)


@router.get("/v1/windows", summary="Windows, newest first")
async def list_windows(principal: PrincipalDep, svc: ServicesDep,
                       currency: Currency | None = None,
                       limit: Limit = PAGE_SIZE_DEFAULT) -> dict[str, Any]:
    return {"windows": await svc.settlement.find(principal, currency.value if currency else None,
                                                 limit)}


@router.get("/v1/windows/{window_id}",
            summary="One window: netting, signed statements, confirmations, reconciliation")
async def get_window(window_id: Annotated[str, _path("USD-000001")], principal: PrincipalDep,
                     svc: ServicesDep) -> dict[str, Any]:
    return await svc.settlement.get(principal, window_id)


@router.post("/v1/windows/{window_id}/transitions", summary="Close, settle or abort a window")
async def move_window(
    window_id: Annotated[str, _path("USD-000002")],
    body: Annotated[WindowTransitionIn, Body(openapi_examples={
        "close": {"summary": "close: net and sign statements", "value": {"to": "closed"}},
        "settle": {"summary": "settle: post and reconcile", "value": {"to": "settled"}},
        "abort": {"summary": "abort", "value": {"to": "aborted", "reason": "fund offline"}}})],
    principal: PrincipalDep, svc: ServicesDep,
) -> dict[str, Any]:
    if body.to == "closed":
        return await svc.settlement.close(principal, window_id)
    if body.to == "settled":
        return await svc.settlement.settle(principal, window_id)
    return await svc.settlement.abort(principal, window_id, body.reason or "")
