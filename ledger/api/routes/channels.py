"""Payment channels (docs/channels.md): the registry, FX quotes, voluntary payments with signed
receipts, reversals and refunds, day files and their reconciliation, and the channel's balances.

`POST /v1/channels/{channel}/payments` takes an `Idempotency-Key` like `POST /v1/contributions`:
the same key and body get the stored answer (`Idempotent-Replayed: true`), the same key with
another body 422, while the first is still running 409. A retry under a new key is answered from
the payment's record (200, the original receipt).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, File, Path, UploadFile
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ledger.api import errors
from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.read_routing import wrote_for_worker
from ledger.api.routes.contributions import JSON, PROBLEM, IdempotencyKey, _claim, _replayed
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.demo_data import (
    DEMO_CHANNEL,
    DEMO_CHANNEL_DAY,
    DEMO_DECLARED_INCOME,
    DEMO_PAYMENT_REF,
    DEMO_REFUND_REF,
    DEMO_THIRD_WORKER,
    example_voluntary_month,
)
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Money
from ledger.limits import DAY_FILE_MAX_BYTES, PAYMENT_BATCH_MAX
from ledger.services.channels import (
    PaymentRequest,
    PreparedPayment,
    Purchase,
    QuoteRequest,
)
from ledger.services.posting import Status, UnitResult

router = APIRouter(tags=["channels"], responses=PROBLEM_RESPONSES)
EXAMPLE_REF = "mw-example-0001"


def _path(value: str) -> Any:
    return Path(openapi_examples={"demo": {"summary": "from the demo", "value": value}})


ChannelPath = Annotated[str, _path(DEMO_CHANNEL)]


class MoneyLike(BaseModel):
    """Money as on the wire; the amount is checked by the service so that a fraction, a
    number or a sign gets its own clear `invalid_amount`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount_minor": "158714", "currency": "THB"}]})
    amount_minor: str | int | float = Field(
        description="Integer minor units as a string of digits (satang, yen, dong...)")
    currency: str

    def money(self, field: str) -> Money:
        return Money.from_wire(self.model_dump(), field)


_VND: dict[str, Any] = {"amount_minor": DEMO_DECLARED_INCOME, "currency": "VND"}


class QuoteIn(BaseModel):
    """A rate from the wallet currency into a fund's; with a worker, scheme and months, also
    the price of that payment (fee included, as the worker must be shown it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "currency": "THB", "fund": "VN-VSS", "worker_id": DEMO_THIRD_WORKER,
        "scheme": "voluntary-si", "months": [example_voluntary_month()],
        "declared_income": dict(_VND)}]})
    currency: str = Field(description="The wallet currency the worker pays in")
    fund: str
    worker_id: str | None = None
    scheme: str | None = None
    months: list[str] | None = Field(None, min_length=1, max_length=60)
    declared_income: MoneyLike | None = None
    support_group: str | None = Field(None, max_length=32)


_PAYMENT_EXAMPLE: dict[str, Any] = {
    "channel_ref": EXAMPLE_REF, "worker_id": DEMO_THIRD_WORKER, "fund": "VN-VSS",
    "scheme": "voluntary-si", "months": [example_voluntary_month()],
    "declared_income": dict(_VND),
    "contribution": {"amount_minor": "1100000", "currency": "VND"},
    "paid": {"amount_minor": "158714", "currency": "THB"}}


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_PAYMENT_EXAMPLE]})
    channel_ref: str = Field(description="The channel's own reference, unique per channel "
                             "(1-48 of A-Z a-z 0-9 . _ : -); the day file names it")
    worker_id: str
    fund: str
    scheme: str
    months: list[str] = Field(min_length=1, max_length=60,
                              description="The months (or contract, or year starts) paid")
    declared_income: MoneyLike | None = Field(None, description="For income-based schemes")
    support_group: str | None = Field(None, max_length=32,
                                      description="Vietnamese voluntary SI: the state's support")
    contribution: MoneyLike = Field(description="The worker's part at the fund, home currency")
    paid: MoneyLike = Field(description="What the worker paid, wallet currency: principal + fee")
    quote_id: str | None = Field(None, max_length=64,
                                 description="A quote's locked rate; without one, the rate in "
                                 "force when the payment is made")


class PaymentBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "payments": [_PAYMENT_EXAMPLE]}]})
    payments: list[PaymentIn] = Field(
        min_length=1, max_length=PAYMENT_BATCH_MAX,
        description="Independent payments (the taps a channel gathered): each is checked, "
        "booked and answered on its own; each is idempotent by its channel_ref")


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "the worker asked for the money back"}]})
    reason: str = Field(min_length=1, max_length=500)


def _purchase(body: QuoteIn | PaymentIn) -> Purchase:
    return Purchase(body.fund, body.scheme, body.months or [],
                    body.declared_income.money("declared_income")
                    if body.declared_income else None, body.support_group)


# -- the registry ---------------------------------------------------------------------------------
@router.get("/v1/channels", summary="Payment channels: operators, currencies, schemes, fees")
async def list_channels(principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return {"channels": svc.channels.listing(principal)}


@router.get("/v1/channels/{channel}", summary="One channel, with the fee schedule a worker sees")
async def get_channel(channel: ChannelPath, principal: PrincipalDep, svc: ServicesDep
                      ) -> dict[str, Any]:
    return svc.channels.channel(principal, channel, write=False).public(svc.channels.terms)


@router.get("/v1/channels/{channel}/balances",
            summary="The channel's accounts (wallet, fees, FX, collections per fund, position)")
async def balances(channel: ChannelPath, principal: PrincipalDep, svc: ServicesDep
                   ) -> dict[str, Any]:
    return await svc.channel_days.balances(principal, channel)


# -- quotes and payments --------------------------------------------------------------------------
@router.post("/v1/channels/{channel}/quotes", status_code=201,
             summary="Lock a rate (and price a payment) until the quote expires")
async def quote(channel: ChannelPath, body: QuoteIn, principal: PrincipalDep,
                svc: ServicesDep) -> dict[str, Any]:
    purchase = None
    if body.scheme is not None or body.months is not None:
        if body.scheme is None or body.months is None or body.worker_id is None:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              "to price a payment give worker_id, scheme and months",
                              field="scheme" if body.scheme is None else "months"
                              if body.months is None else "worker_id")
        purchase = _purchase(body)
    return await svc.channels.quote(principal, channel, QuoteRequest(
        body.currency, body.fund, body.worker_id, purchase))


@router.post("/v1/channels/{channel}/payments", status_code=201,
             responses={200: {"description": "This payment exists already: its record"}},
             summary="A worker's voluntary payment: booked, with a signed receipt")
async def pay(channel: ChannelPath, body: PaymentIn, principal: PrincipalDep,
              svc: ServicesDep, idempotency_key: IdempotencyKey = None) -> Response:
    """Checked against the channel (schemes, currencies), the quote (unknown, expired), the
    fund's rule (months, declared income, the contribution) and the price (`paid` must be the
    principal at the locked rate plus the fee); then booked in one transaction: fee, principal,
    FX difference, one contribution and voluntary period per month, and the payment's record
    with the receipt (a JWS by the hub's key: `clmtv verify`)."""
    claim = _claim(principal, idempotency_key, body)
    prepared = await svc.channels.prepare(principal, channel, _payment_request(body))

    def render(results: list[UnitResult]) -> tuple[int, str]:
        return _payment_answer(prepared, results)

    results = await svc.channels.post(prepared, claim, render)
    wrote_for_worker(body.worker_id)  # the worker's statement right after must show it
    replay = _replayed(results)
    if replay is not None:
        return replay
    if _maybe_booked(results):
        # Booked already under this reference (a retry under a new key), or the reference is
        # taken by another payment: the record says which field differs.
        stored = (await svc.channels.stored_many([prepared])).get(prepared.payment_id)
        if stored is not None:
            _same_payment(stored, prepared)
        if all(r.status is Status.EXISTS for r in results):
            if stored is None:
                raise DomainError(ErrorCode.UNKNOWN_PAYMENT,
                                  f"no record of payment {body.channel_ref}",
                                  field="channel_ref")
            return Response(orjson.dumps({"status": "exists", "payment": stored}), 200,
                            media_type=JSON)
    status, text = render(results)
    return Response(text, status_code=status, media_type=JSON if status < 400 else PROBLEM)


def _payment_request(body: PaymentIn) -> PaymentRequest:
    return PaymentRequest(body.channel_ref, body.worker_id, _purchase(body),
                          body.paid.money("paid"), body.contribution.money("contribution"),
                          body.quote_id)


class PaymentBatchOut(BaseModel):
    """Every payment of a batch answered in order: `{"index", "http_status", "status"
    (created | exists | failed), "payment" | "problem"}`."""

    counts: dict[str, int] = Field(description="created, exists and failed payments")
    results: list[dict[str, Any]] = Field(max_length=PAYMENT_BATCH_MAX)


@router.post("/v1/channels/{channel}/payments/batch",
             responses={200: {"model": PaymentBatchOut,
                              "description": "Every payment booked, or booked already"},
                        207: {"model": PaymentBatchOut,
                              "description": "Some payments failed: see each result"},
                        422: {"model": PaymentBatchOut, "description": "Every payment failed "
                              "(each result says why), or the request itself is invalid "
                              "(a problem)"}},
             summary=f"Up to {PAYMENT_BATCH_MAX} payments a channel gathered, booked together")
async def pay_batch(channel: ChannelPath, body: PaymentBatchIn, principal: PrincipalDep,
                    svc: ServicesDep) -> Response:
    """For a channel that gathers its workers' taps for a moment and sends them together: each
    payment is checked, priced and booked exactly as `POST .../payments` does (its legs,
    contribution and period all or none, its own signed receipt) but they share one
    transaction, and one bad payment fails only itself. No `Idempotency-Key`: a payment's
    `channel_ref` makes it idempotent, so a retried batch books nothing twice and answers each
    payment booked already with its record (`exists`, the original receipt); the same
    reference with another worker, scheme or amount is `id_conflict`. 200 when every payment
    is booked or existed, 207 when some failed, 422 when all did."""
    requests: list[PaymentRequest | DomainError] = []
    for payment in body.payments:
        try:
            requests.append(_payment_request(payment))
        except DomainError as exc:  # an amount that is not money: this payment alone
            requests.append(exc)
    valid = [r for r in requests if not isinstance(r, DomainError)]
    prepared = iter(await svc.channels.prepare_many(principal, channel, valid))
    outcomes = [r if isinstance(r, DomainError) else next(prepared) for r in requests]
    ready = [p for p in outcomes if isinstance(p, PreparedPayment)]
    booked = iter(await svc.channels.post_many(ready))
    wrote_for_worker(*{p.row["worker_id"] for p in ready})  # their statements must show it
    results = {id(p): next(booked) for p in ready}
    existing = [p for p in ready if _maybe_booked(results[id(p)])]
    stored = await svc.channels.stored_many(existing) if existing else {}
    items: list[bytes] = []
    counts = {"created": 0, "exists": 0, "failed": 0}
    for index, outcome in enumerate(outcomes):
        status, kind, text = _batch_item(outcome, results, stored)
        counts[kind] += 1
        items.append(b'{"index":%d,"http_status":%d,%s' % (index, status, text[1:]))
    failed = counts["failed"]
    code = 422 if failed == len(outcomes) else 207 if failed else 200
    return Response(b'{"counts":%s,"results":[%s]}' % (orjson.dumps(counts), b",".join(items)),
                    status_code=code, media_type=JSON)


def _batch_item(outcome: PreparedPayment | DomainError, results: dict[int, list[UnitResult]],
                stored: dict[str, dict[str, Any]]) -> tuple[int, str, bytes]:
    """One payment's answer in a batch: (HTTP status it would have alone, created / exists /
    failed, `{"status": ..., "payment" | "problem": ...}`)."""
    if isinstance(outcome, DomainError):
        return _failed_item(outcome)
    unit_results = results[id(outcome)]
    found = stored.get(outcome.payment_id)
    if found is not None:
        try:
            _same_payment(found, outcome)
        except DomainError as exc:
            return _failed_item(exc)
    if all(r.status is Status.EXISTS for r in unit_results):
        if found is None:  # its transfers without its record: never written apart (`whole`)
            return _failed_item(DomainError(
                ErrorCode.UNKNOWN_PAYMENT, f"no record of payment {outcome.row['channel_ref']}",
                field="channel_ref"))
        return 200, "exists", orjson.dumps({"status": "exists", "payment": found})
    status, text = _payment_answer(outcome, unit_results)
    if status >= 400:
        return status, "failed", b'{"status":"failed","problem":%s}' % text.encode()
    return status, "created", text.encode()


def _maybe_booked(results: list[UnitResult]) -> bool:
    """Whether the payment's reference may be booked already: its units all existed, or one
    conflicted with what is booked (then the record says which field differs)."""
    return all(r.status is Status.EXISTS for r in results) or any(
        r.error is not None and r.error.code is ErrorCode.ID_CONFLICT for r in results)


def _failed_item(error: DomainError) -> tuple[int, str, bytes]:
    status, body = errors.problem_body(error)
    return status, "failed", b'{"status":"failed","problem":%s}' % body


def _payment_answer(prepared: PreparedPayment, results: list[UnitResult]) -> tuple[int, str]:
    failed = [(i, r.error) for i, r in enumerate(results) if r.error is not None]
    if failed:
        index, error = next(((i, e) for i, e in failed
                             if e.code is not ErrorCode.LINKED_EVENT_FAILED), failed[0])
        if index > 0 and error.code is ErrorCode.ID_CONFLICT:
            month = prepared.job.units[index].contribution
            error = DomainError(
                ErrorCode.ID_CONFLICT,
                f"{month.month if month else 'a month'} of {prepared.row['fund']} "
                f"{prepared.row['scheme']} is already paid for {prepared.row['worker_id']} "
                f"by another payment", field="months", details={"ledger": error.message})
        status, body = errors.problem_body(error)
        return status, body.decode()
    return 201, prepared.created


def _same_payment(stored: dict[str, Any], prepared: PreparedPayment) -> None:
    """A retry under a new key must be the same payment, not another one under its ref."""
    row = prepared.row
    for field in ("worker_id", "fund", "scheme"):
        if stored[field] != row[field]:
            raise DomainError(ErrorCode.ID_CONFLICT,
                              f"payment {row['channel_ref']} exists with another {field}",
                              field=field)
    if stored["paid"]["amount_minor"] != str(row["paid_minor"]):
        raise DomainError(ErrorCode.ID_CONFLICT,
                          f"payment {row['channel_ref']} exists with another amount",
                          field="paid.amount_minor")


@router.get("/v1/channels/{channel}/payments/{channel_ref}",
            summary="A payment's record, its receipt, and its reversal or refund if any")
async def get_payment(channel: ChannelPath, channel_ref: Annotated[str, _path(DEMO_PAYMENT_REF)],
                      principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.channels.stored(principal, channel, channel_ref)


@router.post("/v1/channels/{channel}/payments/{channel_ref}/reversal", status_code=201,
             summary="Reverse a payment (the channel's mistake): every leg, the fee too")
async def reverse(channel: ChannelPath, channel_ref: Annotated[str, _path(EXAMPLE_REF)],
                  body: Annotated[UndoIn, Body(openapi_examples={"mistake": {
                      "summary": "a duplicate charge", "value": {
                          "reason": "charged twice by the wallet"}}})],
                  principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.channels.undo(principal, channel, channel_ref, False, body.reason)


@router.post("/v1/channels/{channel}/payments/{channel_ref}/refund", status_code=201,
             summary="Refund a payment (the worker's money back): all but the channel's fee")
async def refund(channel: ChannelPath, channel_ref: Annotated[str, _path(DEMO_REFUND_REF)],
                 body: UndoIn, principal: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.channels.undo(principal, channel, channel_ref, True, body.reason)


# -- days -----------------------------------------------------------------------------------------
DayPath = Annotated[str, _path(DEMO_CHANNEL_DAY)]


@router.post("/v1/channels/{channel}/days/{day}",
             summary="Send the day file: reconciled line by line; the net per fund is settled")
async def send_day_file(
    channel: ChannelPath, day: DayPath,
    file: Annotated[UploadFile, File(description="The day file (docs/channels.md: CSV)")],
    principal: PrincipalDep, svc: ServicesDep,
) -> dict[str, Any]:
    """A file with any bad line is refused whole (`day_file_rejected`, every bad line listed).
    Otherwise the report lists every discrepancy (`channel_only`, `hub_only`,
    `amount_differs`, `details_differ`); the day's first file also books its obligations."""
    data = await file.read(DAY_FILE_MAX_BYTES + 1)
    if len(data) > DAY_FILE_MAX_BYTES:
        raise DomainError(ErrorCode.BODY_TOO_LARGE, f"a day file is at most {DAY_FILE_MAX_BYTES}"
                          " bytes", field="file")
    return await svc.channel_days.receive(principal, channel, day, data)


@router.get("/v1/channels/{channel}/days/{day}",
            summary="The latest reconciliation report of a day, and its obligations")
async def day_report(channel: ChannelPath, day: DayPath, principal: PrincipalDep,
                     svc: ServicesDep) -> dict[str, Any]:
    return await svc.channel_days.report(principal, channel, day)


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"  # what the document declares, too


@router.get("/v1/channels/{channel}/days/{day}/ledger.csv", response_class=CsvResponse,
            summary="The hub's view of a day, in the day file's format")
async def hub_day_file(channel: ChannelPath, day: DayPath, principal: PrincipalDep,
                       svc: ServicesDep) -> CsvResponse:
    return CsvResponse(await svc.channel_days.hub_file(principal, channel, day))
