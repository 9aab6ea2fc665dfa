"""The hub's inbox: signed messages from funds, stored exactly as received, applied exactly once.

Owns intake and dispatch. For each arrival, in a batch:
1. verify (`settlement.messages.verify_message`: signature, key registry, claims, audience,
   clock); a refused token is kept in `inbox_rejections` as its hash, length and a bounded
   prefix with its reason, once per (hash, reason), and
   nothing else happens;
2. classify against what the inbox has seen, under the channel's row lock (the rules of the pure
   model `settlement/inbox.py`): same `jti` and same payload bytes → the original result; same
   `jti`, other bytes → refused (`replayed_jti`); a `seq` already consumed → refused
   (`stale_seq`); a `seq` ahead of the next expected → stored and held (`sequence_gap`, with
   the missing ranges), applied when the gap fills; two messages for one `seq` → `seq_conflict`;
3. store the exact token, then apply in-order messages by type (a handler per `typ`) and keep
   each result with the hub's signed acknowledgement (`transfer.ack`, on the hub → fund channel,
   with its own sequence numbers; one per issuer and batch, listing each message's outcome).
   A message whose handler fails is still applied once: its failure is its result.

A crash between storing and applying leaves the message `received`: the sender's retry (same jti,
same bytes) applies it then. Handlers are idempotent, so that is never twice in effect.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ledger import metrics
from ledger.db import inbox_repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal, PrincipalKind
from ledger.limits import HELD_AHEAD_MAX, MESSAGE_LIFETIME_MAX_S, REFUSAL_PREFIX_CHARS
from ledger.services.keys import KeyService
from ledger.services.posting import now_us
from ledger.services.signing import HubSigner
from ledger.services.verify_batch import verify_all
from ledger.settlement.canonical import parse_json
from ledger.settlement.inbox import FIRST_SEQ, missing_ranges
from ledger.settlement.jws import parse_compact
from ledger.settlement.keys import HUB, KeyState, Party, TrustRegistry
from ledger.settlement.messages import (
    MessageRejected,
    MessageType,
    RejectReason,
    VerifiedMessage,
    sign_message,
)

Handler = Callable[[Principal, VerifiedMessage], Awaitable[dict[str, Any]]]
# Applies a run of same-type messages at once; one {"ok": ...} result per message, in order.
BulkHandler = Callable[[list[tuple[Principal, VerifiedMessage]]],
                       Awaitable[list[dict[str, Any]]]]
ACK_TTL_S = 7 * 24 * 3600

# Inbox-level refusals (verification reasons are `messages.RejectReason`).
REPLAYED_JTI = "replayed_jti"
STALE_SEQ = "stale_seq"
SEQ_CONFLICT = "seq_conflict"
SEQ_TOO_FAR_AHEAD = "seq_too_far_ahead"
SEQUENCE_GAP = "sequence_gap"  # not a refusal: the message waits for the missing ones


class InboxRejected(DomainError):  # noqa: N818 - reads as what happened, like MessageRejected
    """A verified message the inbox refuses (replay, stale or conflicting sequence number)."""

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(ErrorCode.MESSAGE_REJECTED, message, details={"reason": reason,
                                                                        **details})
        self.reason = reason


@dataclass(slots=True)
class Receipt:
    """What became of one accepted arrival."""

    outcome: str  # processed, failed, held, duplicate
    issuer: str
    jti: str
    seq: int
    result: dict[str, Any] | None = None
    ack: str | None = None  # the hub's signed acknowledgement
    missing: list[tuple[int, int]] = field(default_factory=list)  # held: inclusive seq ranges

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome, "issuer": self.issuer, "jti": self.jti,
                               "seq": self.seq, "result": self.result, "ack": self.ack}
        if self.outcome == "held":
            out["reason"] = SEQUENCE_GAP
            out["missing"] = [list(r) for r in self.missing]
        return out


Outcome = Receipt | DomainError


class InboxService:
    def __init__(self, db: Database, keys: KeyService, signer: HubSigner,
                 handlers: dict[MessageType, Handler] | None = None,
                 clock: Callable[[], float] = time.time,
                 bulk_handlers: dict[MessageType, BulkHandler] | None = None) -> None:
        self.db = db
        self.keys = keys
        self.signer = signer
        self.handlers: dict[MessageType, Handler] = dict(handlers or {})
        self.bulk_handlers: dict[MessageType, BulkHandler] = dict(bulk_handlers or {})
        self.clock = clock
        self.audience = HUB

    async def receive(self, token: str, now: int | None = None) -> Receipt:
        outcome = (await self.receive_batch([token], now))[0]
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    async def receive_batch(self, tokens: Sequence[str], now: int | None = None
                            ) -> list[Outcome]:
        """Every token's outcome, in order: a Receipt, or the DomainError that refused it."""
        at = int(self.clock()) if now is None else now
        registry = await self.keys.registry()
        outcomes: list[Outcome | None] = [None] * len(tokens)
        verified: list[tuple[int, VerifiedMessage]] = []
        refused: list[tuple[int, str, DomainError]] = []
        verdicts = await verify_all(tokens, registry, self.audience, at, MESSAGE_LIFETIME_MAX_S)
        for index, (token, verdict) in enumerate(zip(tokens, verdicts, strict=True)):
            if isinstance(verdict, MessageRejected):
                refused.append((index, token, verdict))
            else:
                verified.append((index, verdict))
        plan = _Plan(verified, registry, at)
        await inbox_repo.intake(self.db, self.audience,
                                [(m.iss, m.jti) for _, m in verified], plan.decide)
        for index, error in plan.refused:
            refused.append((index, dict(verified)[index].token, error))
        await self._keep_refusals(refused)
        for index, _, error in refused:
            outcomes[index] = error
        for index, receipt in plan.receipts.items():
            outcomes[index] = receipt
        await self._apply(plan, outcomes)
        done = [o if o is not None else _lost() for o in outcomes]
        _count(done)
        return done

    async def _keep_refusals(self, refused: list[tuple[int, str, DomainError]]) -> None:
        """A refusal keeps the token's hash, length, reason and first REFUSAL_PREFIX_CHARS
        characters, once per (hash, reason): enough to audit and to match a sender's copy,
        without storing whatever anyone sends (one 3 MB token, ten times, added 42 MB)."""
        now = now_us()
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for _, token, error in refused:
            digest = hashlib.sha256(token.encode()).hexdigest()
            reason = str(error.details.get("reason", error.code.value))
            rows.setdefault((digest, reason), {
                "audience": self.audience, "token": token[:REFUSAL_PREFIX_CHARS],
                "token_sha256": digest, "token_length": len(token), "reason": reason,
                "detail": error.message[:REFUSAL_PREFIX_CHARS], "received_at_us": now})
        await inbox_repo.save_rejections(self.db, list(rows.values()))

    async def _apply(self, plan: _Plan, outcomes: list[Outcome | None]) -> None:
        """Apply the deliverable messages in order, then store results with signed acks."""
        done: list[tuple[str, str, str, int]] = []
        results: list[tuple[VerifiedMessage, dict[str, Any]]] = []
        for message, result in zip(plan.deliver, await self._dispatch_all(plan.deliver),
                                   strict=True):
            state = "processed" if result.get("ok") else "failed"
            done.append((message.iss, message.jti, state, len(results)))
            results.append((message, result))
        if not done:
            return
        at = int(self.clock())
        acks = await inbox_repo.finish(
            self.db, self.audience, done,
            lambda iss, seq, indexes: self._ack(iss, [results[i] for i in indexes], seq, at),
            lambda i, ack_seq: orjson.dumps({"result": results[i][1], "ack_seq": ack_seq}).decode(),
            now_us())
        by_key = {(str(m.iss), m.jti): (r, acks[str(m.iss)], state)
                  for (m, r), (_, _, state, _) in zip(results, done, strict=True)}
        for index, receipt in plan.receipts.items():
            found = by_key.get((receipt.issuer, receipt.jti))
            if found is not None:
                receipt.result, receipt.ack, receipt.outcome = found
                outcomes[index] = receipt

    async def _dispatch_all(self, messages: list[VerifiedMessage]) -> list[dict[str, Any]]:
        """In order; a run of messages of one type with a bulk handler is applied at once."""
        out: list[dict[str, Any]] = []
        start = 0
        while start < len(messages):
            typ = messages[start].typ
            bulk = self.bulk_handlers.get(typ)
            if bulk is None:
                out.append(await self._dispatch(messages[start]))
                start += 1
                continue
            end = start
            while end < len(messages) and messages[end].typ is typ:
                end += 1
            out.extend(await bulk([(_principal(m), m) for m in messages[start:end]]))
            start = end
        return out

    async def _dispatch(self, message: VerifiedMessage) -> dict[str, Any]:
        handler = self.handlers.get(message.typ)
        if handler is None:
            error = DomainError(ErrorCode.INVALID_INPUT, f"the hub takes no {message.typ} "
                                "messages", field="typ")
            return {"ok": False, "error": error.to_dict()}
        try:
            return {"ok": True, "value": await handler(_principal(message), message)}
        except DomainError as exc:
            return {"ok": False, "error": exc.to_dict()}

    def _ack(self, issuer: str, results: list[tuple[VerifiedMessage, dict[str, Any]]],
             seq: int, at: int) -> str:
        """One signed acknowledgement per issuer and batch: every message's jti, seq and
        outcome (a retry gets the same token back)."""
        body = {"acks": [{"in_reply_to": m.jti, "in_reply_to_seq": m.seq,
                          "outcome": "processed" if r.get("ok") else "failed",
                          "error_code": r.get("error", {}).get("code")} for m, r in results]}
        return sign_message(self.signer.keyring.current(at), aud=issuer,
                            typ=MessageType.TRANSFER_ACK, seq=seq, body=body, iat=at,
                            ttl_s=ACK_TTL_S)

    async def refuse_held(self, issuer: str) -> int:
        """Refuse `issuer`'s held messages that can no longer be applied (signed by a key revoked
        since, or expired while waiting) and free their sequence numbers; called when a key is
        revoked (ADR 0012: from `revoked_at` every message signed by that key is rejected).
        Returns how many were refused."""
        registry = await self.keys.registry()
        at = int(self.clock())
        dropped = []
        for row in await inbox_repo.held_messages(self.db, self.audience, issuer):
            reason = no_longer_valid(row, registry, at)
            if reason is not None:
                dropped.append((row, reason[0], reason[1]))
        await inbox_repo.drop_held(self.db, self.audience, issuer, dropped)
        return len(dropped)

    # -- reading ------------------------------------------------------------------------------
    async def messages(self, principal: Principal, issuer: str | None, state: str | None,
                       limit: int) -> list[dict[str, Any]]:
        if not principal.sees_everything:
            principal.require(principal.kind is PrincipalKind.FUND, "read the inbox")
            issuer = principal.scope
        rows = await inbox_repo.messages(self.db, self.audience, issuer, state, limit)
        return [_message_view(r) for r in rows]

    async def rejections(self, principal: Principal, limit: int) -> list[dict[str, Any]]:
        principal.require(principal.sees_everything, "read refused messages")
        rows = await inbox_repo.rejections(self.db, self.audience, limit)
        return [{k: r[k] for k in ("id", "token", "token_sha256", "token_length", "reason",
                                   "detail", "received_at_us")} for r in rows]

    async def channels(self, principal: Principal) -> list[dict[str, Any]]:
        principal.require(principal.sees_everything, "read channel positions")
        return await inbox_repo.channels(self.db)


def _principal(message: VerifiedMessage) -> Principal:
    """The verified issuer acts: a fund can do by message what its own token could do."""
    return _issuer_principal(message.iss)


@functools.cache  # immutable, one per issuing fund: not one object per message
def _issuer_principal(issuer: str) -> Principal:
    return Principal(f"message:{issuer}", PrincipalKind.FUND, issuer)


def _message_view(row: dict[str, Any]) -> dict[str, Any]:
    stored = json.loads(row["result"]) if row["result"] else {}
    return {"issuer": row["issuer"], "jti": row["jti"], "seq": row["seq"], "typ": row["typ"],
            "state": row["state"], "payload_sha256": row["payload_sha256"],
            "token": row["token"], "result": stored.get("result"), "ack": row["ack"],
            "received_at_us": row["received_at_us"],
            "processed_at_us": row["processed_at_us"]}


def _count(outcomes: Sequence[Outcome]) -> None:
    """One increment per outcome kind and batch: a refusal (bad signature, replay, ...) is
    `refused`."""
    by_kind: dict[str, int] = {}
    for outcome in outcomes:
        kind = "refused" if isinstance(outcome, DomainError) else outcome.outcome
        by_kind[kind] = by_kind.get(kind, 0) + 1
    for kind, count in by_kind.items():
        metrics.INBOX_MESSAGES.labels(kind).inc(count)


def _lost() -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, "no outcome (internal error)")


def no_longer_valid(row: dict[str, Any], registry: TrustRegistry, at: int
                    ) -> tuple[str, str] | None:
    """Why a held message may no longer be applied, or None. Checked again when it would be
    released: its key revoked meanwhile (whatever the revocation's date), or its own `exp`
    passed while it waited. A key that merely expired does not undo a message received in good
    time."""
    jws = parse_compact(row["token"])
    kid = str(jws.header["kid"])
    key = registry.get(kid, str(parse_json(jws.payload, integers_only=True)["iss"]))
    if key is None or key.state_at(at) is KeyState.REVOKED:
        return (RejectReason.KEY_REVOKED.value,
                f"held message {row['jti']} was signed by key {kid}, revoked before its release")
    exp = parse_json(jws.payload, integers_only=True)["exp"]
    if exp <= at:
        return (RejectReason.MESSAGE_EXPIRED.value,
                f"held message {row['jti']} expired at {exp} before its release")
    return None


class _Plan:
    """Classification of a batch against the locked snapshot, in arrival order."""

    def __init__(self, verified: list[tuple[int, VerifiedMessage]], registry: TrustRegistry,
                 at: int) -> None:
        self.verified = verified
        self.registry = registry
        self.at = at
        self.receipts: dict[int, Receipt] = {}
        self.refused: list[tuple[int, DomainError]] = []
        self.deliver: list[VerifiedMessage] = []
        self.by_key: dict[tuple[str, str], VerifiedMessage] = {}

    def decide(self, snap: inbox_repo.Snapshot) -> inbox_repo.Intake:
        self.receipts, self.refused, self.deliver = {}, [], []  # the intake may be re-run
        out = inbox_repo.Intake()
        next_seq = dict(snap.next_seq)
        held = {k: dict(v) for k, v in snap.held.items()}
        seen = dict(snap.seen)
        now = now_us()
        for index, m in self.verified:
            channel = (m.iss, HUB)
            expected = next_seq.get(channel, FIRST_SEQ)
            receipt = Receipt("held", m.iss, m.jti, m.seq)
            original = seen.get((m.iss, m.jti))
            if original is not None:
                if original["payload_sha256"] != m.payload_sha256:
                    self.refused.append((index, InboxRejected(
                        REPLAYED_JTI, f"jti {m.jti} was already used for another message",
                        jti=m.jti)))
                    continue
                self.receipts[index] = _duplicate(original, receipt, m)
                if original["state"] == "received":  # stored, never applied: apply now
                    self.deliver.append(m)
                continue
            if m.seq < expected:
                self.refused.append((index, InboxRejected(
                    STALE_SEQ, f"seq {m.seq} of {m.iss} was already used (next is {expected})",
                    expected_seq=expected)))
                continue
            if m.seq > expected + HELD_AHEAD_MAX:
                self.refused.append((index, InboxRejected(
                    SEQ_TOO_FAR_AHEAD, f"seq {m.seq} of {m.iss} is more than {HELD_AHEAD_MAX} "
                    f"ahead of the next expected ({expected})", expected_seq=expected)))
                continue
            row = _row(m, now)
            held_here = held.setdefault(channel, {})
            if m.seq > expected:
                if m.seq in held_here:  # a held one that may no longer apply frees its seq
                    self._drop_if_invalid(held_here, m.seq, out, seen)
                if m.seq in held_here:
                    self.refused.append((index, InboxRejected(
                        SEQ_CONFLICT, f"seq {m.seq} of {m.iss} is held for another message")))
                    continue
                held_here[m.seq] = row
                seen[(m.iss, m.jti)] = row
                out.inserts.append(row)
                receipt.missing = list(missing_ranges(expected, m.seq, held_here))
                self.receipts[index] = receipt
                continue
            row["state"] = "received"
            out.inserts.append(row)
            seen[(m.iss, m.jti)] = row
            self.deliver.append(m)
            receipt.outcome = "processed"
            self.receipts[index] = receipt
            after = m.seq + 1
            while after in held_here and not self._drop_if_invalid(held_here, after, out, seen):
                released = held_here.pop(after)
                if released in out.inserts:
                    released["state"] = "received"
                else:
                    out.delivered.append((m.iss, released["jti"]))
                self.deliver.append(_from_row(released))
                after += 1
            next_seq[channel] = after
        out.next_seq = {k: v for k, v in next_seq.items() if v != snap.next_seq.get(k)}
        return out

    def _drop_if_invalid(self, held_here: dict[int, dict[str, Any]], seq: int,
                         out: inbox_repo.Intake, seen: dict[tuple[str, str], Any]) -> bool:
        """Refuse the message held at `seq` if it may no longer be applied (only rows stored by
        an earlier batch: this batch's were verified now); True when it was dropped."""
        row = held_here[seq]
        if row in out.inserts:
            return False
        reason = no_longer_valid(row, self.registry, self.at)
        if reason is None:
            return False
        held_here.pop(seq)
        seen.pop((row["issuer"], row["jti"]), None)
        out.dropped.append((row, reason[0], reason[1]))
        return True


def _row(m: VerifiedMessage, now: int) -> dict[str, Any]:
    return {"audience": HUB, "issuer": m.iss, "jti": m.jti, "seq": m.seq, "typ": m.typ.value,
            "payload_sha256": m.payload_sha256, "token": m.token, "state": "held",
            "result": None, "received_at_us": now, "processed_at_us": None}


def _from_row(row: dict[str, Any]) -> VerifiedMessage:
    """A held message, re-read from the token stored when it arrived. It was verified then;
    its key may have expired since, which does not undo a message received in good time."""
    jws = parse_compact(row["token"])
    claims = parse_json(jws.payload, integers_only=True)
    return VerifiedMessage(
        iss=Party(claims["iss"]), aud=Party(claims["aud"]), iat=claims["iat"],
        exp=claims["exp"], jti=claims["jti"], seq=claims["seq"], typ=MessageType(claims["typ"]),
        body=claims["body"], kid=str(jws.header["kid"]), alg=str(jws.header["alg"]),
        token=row["token"], payload=jws.payload)


def _duplicate(original: dict[str, Any], receipt: Receipt, m: VerifiedMessage) -> Receipt:
    receipt.outcome = "duplicate" if original["state"] in ("processed", "failed") else (
        "held" if original["state"] == "held" else "processed")
    if original.get("result"):
        receipt.result, receipt.ack = json.loads(original["result"])["result"], original["ack"]
    return receipt
