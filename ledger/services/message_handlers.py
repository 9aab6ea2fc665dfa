"""What each message type means to the hub: its body, and the service call it becomes.

Owns the bodies funds sign (the message envelope is `settlement/messages.py`):

- `transfer.request` — `{"action": "approve", "flow_id": ...}` (the host fund approves a flow),
  `{"action": "refuse", "flow_id": ..., "reason": ...}`, or `{"action": "request", "worker_id":
  ..., "host_fund": ..., "scheme": ..., "reason": "return_home", "flow": "transfer"}`;
- `transfer.ack` — `{"flow_id": ..., "accepted": true}` (the home fund acknowledges: posted) or
  `{"flow_id": ..., "accepted": false, "reason": ...}` (rejected: voided);
- `settlement.confirmation` — `{"window_id": ..., "statement_sha256": ..., "position_minor":
  "..."}`: a fund confirms the hub's settlement statement and its own net position.

The issuer of the verified message is the acting principal: a fund can only do what it could do
through the API with its own token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ledger.adapters.refunds import Claim
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.periods import Month
from ledger.domain.principals import Principal
from ledger.services.portability import FlowRequest, PortabilityService, Reason
from ledger.services.settlement import SettlementService
from ledger.settlement.legs import Flow
from ledger.settlement.messages import MessageType, VerifiedMessage

Handler = Callable[[Principal, VerifiedMessage], Awaitable[dict[str, Any]]]
BulkHandler = Callable[[list[tuple[Principal, VerifiedMessage]]],
                       Awaitable[list[dict[str, Any]]]]


def _text(body: dict[str, Any], name: str, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value:
        raise DomainError(ErrorCode.INVALID_INPUT, f"body.{name} must be a non-empty string",
                          field=f"body.{name}")
    return value


def _choice(enum: Any, body: dict[str, Any], name: str) -> Any:
    value = _text(body, name)
    try:
        return enum(value)
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT, f"body.{name}: unknown value {value!r}",
                          field=f"body.{name}") from None


def _claim(body: dict[str, Any]) -> Claim | None:
    raw = body.get("claim")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise DomainError(ErrorCode.INVALID_INPUT, "body.claim must be an object",
                          field="body.claim")
    left = raw.get("left_country_month")
    age = raw.get("age_years")
    if age is not None and type(age) is not int:
        raise DomainError(ErrorCode.INVALID_INPUT, "age_years is an integer",
                          field="body.claim.age_years")
    return Claim(claim_month=Month.parse(raw.get("claim_month"), "body.claim.claim_month"),
                 age_years=age, insured_status_ended=True,
                 left_country_month=Month.parse(left, "body.claim.left_country_month")
                 if left is not None else None)


def portability_handlers(service: PortabilityService) -> dict[MessageType, Handler]:
    async def request(principal: Principal, message: VerifiedMessage) -> dict[str, Any]:
        body = message.body
        action = _text(body, "action")
        if action == "approve":
            return await service.approve(principal, _text(body, "flow_id"))
        if action == "refuse":
            return await service.refuse(principal, _text(body, "flow_id"), _text(body, "reason"))
        if action == "request":
            return await service.request(principal, FlowRequest(
                worker_id=_text(body, "worker_id"), host_fund=_text(body, "host_fund"),
                scheme=_text(body, "scheme"), reason=_choice(Reason, body, "reason"),
                flow=_choice(Flow, body, "flow") if "flow" in body else Flow.TRANSFER,
                flow_id=_text(body, "flow_id", required=False) or None, claim=_claim(body)))
        raise DomainError(ErrorCode.INVALID_INPUT, "body.action is approve, refuse or request",
                          field="body.action")

    async def ack(principal: Principal, message: VerifiedMessage) -> dict[str, Any]:
        body = message.body
        accepted = body.get("accepted")
        if type(accepted) is not bool:
            raise DomainError(ErrorCode.INVALID_INPUT, "body.accepted is true or false",
                              field="body.accepted")
        flow_id = _text(body, "flow_id")
        if accepted:
            return await service.acknowledge(principal, flow_id)
        return await service.reject(principal, flow_id, _text(body, "reason"))

    return {MessageType.TRANSFER_REQUEST: request, MessageType.TRANSFER_ACK: ack}


def portability_bulk_handlers(service: PortabilityService) -> dict[MessageType, BulkHandler]:
    """Acknowledgements in bulk: every accepted one of a run posts in one posting job."""

    async def acks(items: list[tuple[Principal, VerifiedMessage]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{} for _ in items]
        accepted: list[tuple[int, Principal, str]] = []
        for index, (principal, message) in enumerate(items):
            body = message.body
            try:
                if body.get("accepted") is True:
                    accepted.append((index, principal, _text(body, "flow_id")))
                else:
                    out[index] = _ok(await _single_ack(service, principal, body))
            except DomainError as exc:
                out[index] = {"ok": False, "error": exc.to_dict()}
        outcomes = await service.acknowledge_many([(p, f) for _, p, f in accepted])
        for (index, _, _), outcome in zip(accepted, outcomes, strict=True):
            out[index] = ({"ok": False, "error": outcome.to_dict()}
                          if isinstance(outcome, DomainError) else _ok(outcome))
        return out

    return {MessageType.TRANSFER_ACK: acks}


def _ok(value: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "value": value}


async def _single_ack(service: PortabilityService, principal: Principal,
                      body: dict[str, Any]) -> dict[str, Any]:
    if type(body.get("accepted")) is not bool:
        raise DomainError(ErrorCode.INVALID_INPUT, "body.accepted is true or false",
                          field="body.accepted")
    return await service.reject(principal, _text(body, "flow_id"), _text(body, "reason"))


def settlement_handlers(service: SettlementService) -> dict[MessageType, Handler]:
    async def confirmation(principal: Principal, message: VerifiedMessage) -> dict[str, Any]:
        return await service.confirm(principal, message)

    return {MessageType.SETTLEMENT_CONFIRMATION: confirmation}
