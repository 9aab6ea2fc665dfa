"""The hub's inbox: funds post signed messages (compact JWS); each gets its own outcome.

`POST /v1/inbox/messages` takes a batch of tokens and answers 200 with one outcome per token, in
order: `processed` or `failed` (applied once; a retry is a `duplicate` with the original result
and acknowledgement), `held` (`sequence_gap`: waits for the missing sequence numbers), or
`rejected` with the precise reason (bad signature, unknown/expired/revoked key, wrong audience,
expired, replayed jti, stale seq...). Nothing of a rejected message is applied; its exact bytes
are not kept: a refusal keeps the hash, length, reason and first 512 characters, once
(`GET /v1/inbox/rejections`). Only funds and the hub operator may deliver.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.domain.errors import DomainError
from ledger.domain.funds import get_fund
from ledger.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, REQUEST_BODY_MAX_BYTES

router = APIRouter(tags=["inbox"], responses=PROBLEM_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)]
MESSAGES_PER_REQUEST_MAX = 1000
# A well-formed token whose key no fund has published: the example of a hub that does not trust
# the demo's example key (a precise refusal). The demo's document carries a message signed when
# it is read, which the inbox accepts (ledger/api/examples.py).
EXAMPLE_MESSAGE = (
    "eyJhbGciOiJFZDI1NTE5Iiwia2lkIjoiZXhhbXBsZSIsInR5cCI6ImNsbXR2LW1zZytqd3QifQ"
    ".eyJhdWQiOiJIVUIifQ"
    ".c2lnbmF0dXJlLW9mLWFuLWV4YW1wbGUtb25seS1rZXktbm90LXB1Ymxpc2hlZC1hbnl3aGVyZQ"
)


class MessagesIn(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"tokens": [EXAMPLE_MESSAGE]}]})
    # Each token is bounded by the body's own limit (a longer one cannot arrive: 413); said
    # in the document, not checked again, so that a refused token is kept as a refusal.
    tokens: list[Annotated[str, Field(json_schema_extra={"maxLength": REQUEST_BODY_MAX_BYTES})]
                 ] = Field(min_length=1, max_length=MESSAGES_PER_REQUEST_MAX,
                           description="Compact JWS messages, in the order sent")


@router.post("/v1/inbox/messages", summary="Deliver signed messages (one outcome per token)")
async def deliver(body: MessagesIn, principal: PrincipalDep, svc: ServicesDep
                  ) -> dict[str, Any]:
    # The signature says who sent a message; the bearer must still be a fund or the operator, or
    # anyone could make the hub verify and store their junk (issue 25 finding 5).
    principal.require(principal.may_send_messages, "deliver signed messages")
    outcomes = await svc.inbox.receive_batch(body.tokens)
    out = []
    for outcome in outcomes:
        if isinstance(outcome, DomainError):
            out.append({"outcome": "rejected", "reason": outcome.details.get("reason"),
                        "detail": outcome.message})
        else:
            out.append(outcome.to_dict())
    return {"outcomes": out}


@router.get("/v1/inbox/messages", summary="Messages received (a fund sees its own)")
async def messages(principal: PrincipalDep, svc: ServicesDep, issuer: str | None = None,
                   state: Literal["held", "received", "processed", "failed"] | None = None,
                   limit: Limit = PAGE_SIZE_DEFAULT) -> dict[str, Any]:
    if issuer is not None:  # messages come from funds: any other issuer is refused
        get_fund(issuer, "issuer")
    return {"messages": await svc.inbox.messages(principal, issuer, state, limit)}


@router.get("/v1/inbox/rejections", summary="Refused arrivals: hash, length, prefix and reason")
async def rejections(principal: PrincipalDep, svc: ServicesDep,
                     limit: Limit = PAGE_SIZE_DEFAULT) -> dict[str, Any]:
    return {"rejections": await svc.inbox.rejections(principal, limit)}


@router.get("/v1/inbox/channels",
            summary="Next sequence number per channel (a fund sees its own)")
async def channels(principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return {"channels": await svc.inbox.channels(principal)}
