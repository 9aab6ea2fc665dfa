"""POST /v1/contributions (one) and /v1/contributions/batch, with Idempotency-Key semantics:
same key + same body -> the stored response; same key + another body -> 422; the same key while
its first request is still running -> 409; no key -> 400."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import Response
from pydantic import BaseModel

from ledger.api import views
from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.read_routing import wrote_for_worker
from ledger.api.schemas import PROBLEM_RESPONSES, ContributionBatchIn, ContributionIn
from ledger.domain.contributions import Contribution, ContributionInput
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Money
from ledger.domain.principals import Principal
from ledger.limits import IDEMPOTENCY_KEY_MAX_LENGTH
from ledger.services.contributions import BatchRejectedError
from ledger.services.posting import IdempotencyClaim, Status, UnitResult

router = APIRouter(tags=["contributions"])
JSON = "application/json"
PROBLEM = "application/problem+json"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Unique per intended request; retry with the "
        "same key and body to get the original response",
        examples=["demo-key-0001"],
    ),
]


def _claim(principal: Principal, key: str | None, body: BaseModel) -> IdempotencyClaim:
    if not key:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_KEY_MISSING,
            "the Idempotency-Key header is required",
            field="Idempotency-Key",
        )
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"Idempotency-Key is longer than {IDEMPOTENCY_KEY_MAX_LENGTH}",
            field="Idempotency-Key",
        )
    digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    return IdempotencyClaim(principal.name, key, digest)


def to_input(item: ContributionIn) -> ContributionInput:
    return ContributionInput(
        worker_id=item.worker_id,
        fund=item.fund,
        scheme=item.scheme,
        month=item.month,
        wage_base=Money.from_wire(item.wage_base.model_dump(), "wage_base"),
        shares=[
            (s.payer.value, Money.from_wire(s.amount.model_dump(), f"shares[{i}].amount"))
            for i, s in enumerate(item.shares)
        ],
        kind=item.kind.value,
        id=item.id,
        reasons={s.payer.value: s.reason.value for s in item.shares if s.reason is not None},
        facts=dict(item.worker_facts),
    )


def _inputs(items: list[ContributionIn]) -> list[ContributionInput]:
    out: list[ContributionInput] = []
    errors: list[DomainError] = []
    for index, item in enumerate(items):
        try:
            out.append(to_input(item))
        except DomainError as exc:
            errors.append(exc.at(index))
    if errors:
        if len(items) == 1:
            raise DomainError(errors[0].code, errors[0].message, field=errors[0].field)
        raise BatchRejectedError(errors)
    return out


def _replayed(results: list[UnitResult]) -> Response | None:
    first = results[0]
    if first.status is Status.REPLAYED and first.stored is not None:
        media = JSON if first.stored.status_code < 400 else PROBLEM
        return Response(
            first.stored.response,
            status_code=first.stored.status_code,
            media_type=media,
            headers={"Idempotent-Replayed": "true"},
        )
    if first.error is not None and first.error.code in (
        ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT,
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
    ):
        raise first.error
    return None


@router.post(
    "/v1/contributions",
    status_code=201,
    responses={
        200: {"description": "Already recorded with the same fields: nothing changed"},
        **PROBLEM_RESPONSES,
    },
    summary="Record one contribution",
)
async def post_contribution(
    body: ContributionIn,
    principal: PrincipalDep,
    svc: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """One contribution becomes one linked batch of transfers (a transfer per payer share, into
    the worker's member account) plus the insurance-period row, in one database transaction."""
    claim = _claim(principal, idempotency_key, body)
    (contribution,) = await svc.contributions.validate(principal, _inputs([body]))

    def render(results: list[UnitResult]) -> tuple[int, str]:
        status, out = views.contribution_result(contribution, results[0])
        return status, orjson.dumps(out).decode()

    return await _post(svc, [contribution], claim, render, partial=False)


async def _post(
    svc: ServicesDep, contributions: list[Contribution], claim: IdempotencyClaim,
    render: Callable[[list[UnitResult]], tuple[int, str]], partial: bool,
) -> Response:
    """Post, then answer with what is stored under the key: the same bytes a retry will get."""
    results = await svc.contributions.post(contributions, claim=claim, render=render,
                                           partial=partial)
    wrote_for_worker(*{c.worker_id for c in contributions})  # their statements must show it
    replay = _replayed(results)
    if replay is not None:
        return replay
    status, text = render(results)
    return Response(text, status_code=status, media_type=JSON if status < 400 else PROBLEM)


def _batch_body(contributions: list[Contribution], results: list[UnitResult]) -> tuple[int, str]:
    items: list[dict[str, Any]] = []
    for index, (c, r) in enumerate(zip(contributions, results, strict=True)):
        status, out = views.contribution_result(c, r)
        items.append({"index": index, "http_status": status, **out})
    counts = {
        s.value: sum(1 for r in results if r.status is s)
        for s in (Status.CREATED, Status.EXISTS, Status.FAILED)
    }
    failed = counts[Status.FAILED.value]
    status = 422 if failed == len(results) else (207 if failed else 200)
    return status, orjson.dumps({"counts": counts, "results": items}).decode()


@router.post(
    "/v1/contributions/batch",
    responses={
        207: {"description": "partial=true and some items failed: see each result"},
        **PROBLEM_RESPONSES,
    },
    summary="Record up to batch_size_max contributions at once",
)
async def post_batch(
    body: ContributionBatchIn,
    principal: PrincipalDep,
    svc: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """All items are validated first; any invalid item rejects the request (422, every bad item
    listed with index, field and reason) and nothing is posted. Otherwise the batch is posted as
    one linked job (all or none) unless `partial` is true."""
    claim = _claim(principal, idempotency_key, body)
    contributions = await svc.contributions.validate(principal, _inputs(body.contributions))

    def render(results: list[UnitResult]) -> tuple[int, str]:
        return _batch_body(contributions, results)

    return await _post(svc, contributions, claim, render, partial=body.partial)
