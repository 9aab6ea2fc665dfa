"""The database-backed inbox: exact bytes kept, exactly-once, sequence gaps, signed acks, and every
refusal reason through the service — with nothing posted for any refused message."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey
from sqlalchemy import insert, select

from ledger.composition import Services
from ledger.db import repositories
from ledger.db.tables import inbox_messages, inbox_rejections
from ledger.domain.errors import DomainError
from ledger.domain.periods import Month
from ledger.limits import REFUSAL_PREFIX_CHARS, REFUSAL_RETENTION_DAYS
from ledger.services.portability import FlowRequest, Reason
from ledger.services.posting import now_us
from ledger.settlement.jws import b64url_decode, b64url_encode
from ledger.settlement.keys import HUB, Party, SigningKey, Validity
from ledger.settlement.messages import MessageRejected, MessageType, verify_message
from tests.e2e.messaging import Sender, hub_registry
from tests.e2e.story_support import OPERATOR, E, G, R, contribute, enrol, story_services

pytestmark = pytest.mark.anyio
__all__ = ["story_services"]
REQ, ACK = MessageType.TRANSFER_REQUEST, MessageType.TRANSFER_ACK


async def vietnamese_worker(services: Services, uid: str) -> str:
    worker = await enrol(services, uid, "VN", ("TH-SSO", "VN-VSS"))
    await contribute(services, worker, "TH-SSO", "s33-old-age", Month(2024, 1), 12, 1_500_000,
                     {E: 45_000, R: 45_000, G: 15_050})
    return worker


async def requested_flow(services: Services, uid: str) -> str:
    worker = await vietnamese_worker(services, uid)
    flow = await services.portability.request(OPERATOR, FlowRequest(
        worker, "TH-SSO", "s33-old-age", Reason.RETURN_HOME))
    return str(flow["id"])


async def state(services: Services) -> tuple[Any, ...]:
    totals = await repositories.posted_totals_by_currency(services.db)
    async with services.db.engine.connect() as conn:
        pending = (await conn.execute(select(inbox_messages.c.jti).where(
            inbox_messages.c.state != "held"))).all()
    return tuple(sorted(totals.items())), len(pending)


async def test_messages_drive_a_flow_exactly_once_with_signed_acks(
    story_services: Services, uid: str
) -> None:
    svc = story_services
    flow_id = await requested_flow(svc, uid)
    th, vn = await Sender(svc, "TH-SSO").publish(), await Sender(svc, "VN-VSS").publish()

    approve = await th.sign(REQ, {"action": "approve", "flow_id": flow_id})
    first = await svc.inbox.receive(approve)
    assert first.outcome == "processed" and first.result is not None
    assert first.result["value"]["state"] == "pending"
    ack = verify_message(first.ack or "", hub_registry(svc), "TH-SSO", int(time.time()))
    assert ack.iss == HUB and ack.body["acks"][0]["in_reply_to"] == first.jti
    assert ack.body["acks"][0]["outcome"] == "processed"

    before = await state(svc)
    again = await svc.inbox.receive(approve)  # the sender retries: same jti, same bytes
    assert again.outcome == "duplicate"
    assert (again.result, again.ack) == (first.result, first.ack)
    assert await state(svc) == before  # nothing applied twice

    async with svc.db.engine.connect() as conn:
        stored = (await conn.execute(select(inbox_messages.c.token).where(
            inbox_messages.c.jti == first.jti))).scalar()
    assert stored == approve  # the exact bytes

    done = await svc.inbox.receive(await vn.sign(ACK, {"flow_id": flow_id, "accepted": True}))
    assert done.result is not None and done.result["value"]["state"] == "posted"
    # The hub's acknowledgement is a standard JWS: joserfc verifies it with the published JWKS.
    decoded = jwt.decode(done.ack or "", OKPKey.import_key(svc.signer.jwks()["keys"][0]),
                         algorithms=["Ed25519"])
    assert decoded.claims["aud"] == "VN-VSS"


async def test_one_signed_acknowledgement_answers_a_batch(
    story_services: Services, uid: str
) -> None:
    th = await Sender(story_services, "TH-SSO").publish()
    seq = await th.next_seq()
    tokens = [await th.sign(REQ, {"action": "approve", "flow_id": f"none-{uid}-{i}"},
                            seq=seq + i) for i in range(3)]
    receipts = await story_services.inbox.receive_batch(tokens)
    acks = {r.ack for r in receipts if not isinstance(r, DomainError)}
    assert len(acks) == 1
    body = verify_message(acks.pop() or "", hub_registry(story_services), "TH-SSO",
                          int(time.time())).body
    assert [a["in_reply_to_seq"] for a in body["acks"]] == [seq, seq + 1, seq + 2]
    assert {a["outcome"] for a in body["acks"]} == {"failed"}  # unknown flows: applied once


async def test_a_failing_message_is_applied_once_with_its_failure(
    story_services: Services, uid: str
) -> None:
    th = await Sender(story_services, "TH-SSO").publish()
    token = await th.sign(REQ, {"action": "approve", "flow_id": f"no-such-flow-{uid}"})
    receipt = await story_services.inbox.receive(token)
    assert receipt.outcome == "failed" and receipt.result is not None
    assert receipt.result["error"]["code"] == "unknown_flow"
    assert (await story_services.inbox.receive(token)).outcome == "duplicate"


async def test_sequence_gap_holds_until_filled_then_applies_in_order(
    story_services: Services, uid: str
) -> None:
    svc = story_services
    flow_id = await requested_flow(svc, uid)
    th = await Sender(svc, "TH-SSO").publish()
    seq = await th.next_seq()
    approve = await th.sign(REQ, {"action": "approve", "flow_id": flow_id}, seq=seq + 1)
    before = await state(svc)

    held = await svc.inbox.receive(approve)
    assert held.outcome == "held" and held.to_dict()["reason"] == "sequence_gap"
    assert held.missing == [(seq, seq)]
    assert await state(svc) == before  # nothing posted
    assert (await svc.portability.get(OPERATOR, flow_id))["state"] == "requested"

    filler = await th.sign(REQ, {"action": "approve", "flow_id": f"nothing-{uid}"}, seq=seq)
    receipts = await svc.inbox.receive_batch([filler])
    assert not isinstance(receipts[0], DomainError) and receipts[0].outcome == "failed"
    assert (await svc.portability.get(OPERATOR, flow_id))["state"] == "pending"  # released, applied
    assert await th.next_seq() == seq + 2


def _tamper_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["body"]["flow_id"] = "someone-else"
    forged = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    return ".".join((header, b64url_encode(forged), signature))


def _tamper_header(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(b64url_decode(header))
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    return ".".join((b64url_encode(json.dumps(data).encode()), payload, signature))


async def test_every_refusal_reason_through_the_service_posts_nothing(
    story_services: Services, uid: str
) -> None:
    svc = story_services
    flow_id = await requested_flow(svc, uid)
    th = await Sender(svc, "TH-SSO").publish()
    now = int(time.time())
    body = {"action": "approve", "flow_id": flow_id}
    expired_key = SigningKey.generate(Party("TH-SSO"), validity=Validity(now - 7200, now - 3600))
    revoked_key = SigningKey.generate(Party("TH-SSO"))
    await svc.keys.publish(OPERATOR, "TH-SSO", {"keys": [expired_key.public_jwk(),
                                                            revoked_key.public_jwk()]})
    await svc.keys.revoke(OPERATOR, "TH-SSO", revoked_key.kid, now - 10)
    stranger = SigningKey.generate(Party("TH-SSO"))  # never published
    good = await th.sign(REQ, body)
    cases: dict[str, str] = {
        "signature_invalid": _tamper_payload(good),
        "alg_not_allowed": _tamper_header(good, alg="HS256"),
        "header_rejected": _tamper_header(good, jku="https://evil.example/jwks"),
        "unknown_key": await th.sign(REQ, body, key=stranger),
        "key_expired": await th.sign(REQ, body, key=expired_key, iat=now - 5000),
        "key_revoked": await th.sign(REQ, body, key=revoked_key),
        "wrong_audience": await th.sign(REQ, body, aud="KH-NSSF"),
        "message_expired": await th.sign(REQ, body, iat=now - 4000),
    }
    _, payload, _ = good.split(".")
    none_header = b64url_encode(json.dumps({"alg": "none", "kid": th.key.kid,
                                            "typ": "clmtv-msg+jwt"}).encode())
    cases["alg_not_allowed/none"] = f"{none_header}.{payload}."
    before = await state(svc)
    for expected, token in cases.items():
        with pytest.raises(MessageRejected) as refused:
            await svc.inbox.receive(token)
        assert refused.value.reason.value == expected.split("/")[0], expected
    assert await state(svc) == before
    assert (await svc.portability.get(OPERATOR, flow_id))["state"] == "requested"
    async with svc.db.engine.connect() as conn:
        kept = {(r[0], r[1], r[2]) for r in (await conn.execute(select(
            inbox_rejections.c.token_sha256, inbox_rejections.c.token_length,
            inbox_rejections.c.token))).all()}
    for token in cases.values():  # every refusal kept: hash, length and a bounded prefix
        assert (hashlib.sha256(token.encode()).hexdigest(), len(token),
                token[:REFUSAL_PREFIX_CHARS]) in kept

    # Inbox-level refusals of authentic messages: a replayed jti with other bytes, a stale seq.
    applied = await svc.inbox.receive(good)
    assert applied.outcome == "processed"
    after = await state(svc)
    replay = await th.sign(REQ, {"action": "refuse", "flow_id": flow_id, "reason": "x"},
                           jti=applied.jti)
    stale = await th.sign(REQ, {"action": "refuse", "flow_id": flow_id, "reason": "x"},
                          seq=applied.seq)
    for token, reason in ((replay, "replayed_jti"), (stale, "stale_seq")):
        with pytest.raises(DomainError) as refused_again:
            await svc.inbox.receive(token)
        assert refused_again.value.details["reason"] == reason
    assert await state(svc) == after
    assert (await svc.portability.get(OPERATOR, flow_id))["state"] == "pending"



async def test_a_crash_after_storing_applies_on_the_senders_retry(
    story_services: Services, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = story_services
    flow_id = await requested_flow(svc, uid)
    th = await Sender(svc, "TH-SSO").publish()
    token = await th.sign(REQ, {"action": "approve", "flow_id": flow_id})
    handler = svc.inbox.handlers[REQ]

    async def crash(*_: Any) -> dict[str, Any]:
        raise RuntimeError("power cut")

    monkeypatch.setitem(svc.inbox.handlers, REQ, crash)
    with pytest.raises(RuntimeError):
        await svc.inbox.receive(token)
    stored = await svc.inbox.messages(OPERATOR, "TH-SSO", "received", 10)
    assert [m["token"] for m in stored] == [token]  # kept before anything was applied
    assert (await svc.portability.get(OPERATOR, flow_id))["state"] == "requested"

    monkeypatch.setitem(svc.inbox.handlers, REQ, handler)
    retried = await svc.inbox.receive(token)
    assert retried.outcome == "processed"
    assert (await svc.portability.get(OPERATOR, flow_id))["state"] == "pending"
    assert (await svc.inbox.receive(token)).outcome == "duplicate"


async def test_a_large_batch_is_stored_byte_for_byte_and_answered_once(
    story_services: Services, uid: str
) -> None:
    """Enough messages for the bulk store path (COPY on PostgreSQL): each kept exactly as sent,
    each with its result, one acknowledgement for the batch."""
    from ledger.db.inbox_repo import COPY_FROM

    th = await Sender(story_services, "TH-SSO").publish()
    seq = await th.next_seq()
    count = COPY_FROM + 6
    tokens = [await th.sign(REQ, {"action": "approve", "flow_id": f"none-{uid}-{i}"},
                            seq=seq + i) for i in range(count)]
    receipts = await story_services.inbox.receive_batch(tokens)
    assert [getattr(r, "outcome", r) for r in receipts] == ["failed"] * count
    async with story_services.db.engine.connect() as conn:
        stored = dict((await conn.execute(select(inbox_messages.c.seq, inbox_messages.c.token)
                                          .where(inbox_messages.c.issuer == "TH-SSO",
                                                 inbox_messages.c.seq >= seq))).all())
    assert [stored[seq + i] for i in range(count)] == tokens
    assert len({getattr(r, "ack", None) for r in receipts}) == 1


async def test_a_refusal_keeps_a_bounded_prefix_once(story_services: Services) -> None:
    """Issue 25 finding 5: every refused token was stored whole (one request stored 3 MB)."""
    junk = "x" * 2_000_000
    for _ in range(3):
        with pytest.raises(MessageRejected):
            await story_services.inbox.receive(junk)
    digest = hashlib.sha256(junk.encode()).hexdigest()
    async with story_services.db.engine.connect() as conn:
        rows = (await conn.execute(select(inbox_rejections).where(
            inbox_rejections.c.token_sha256 == digest))).all()
    assert len(rows) == 1  # the same refusal, once
    assert rows[0].token_length == 2_000_000 and rows[0].token == junk[:REFUSAL_PREFIX_CHARS]


async def test_refusals_are_kept_for_the_retention_then_deleted(
        story_services: Services) -> None:
    """Issue 25 finding 5: refusals are kept REFUSAL_RETENTION_DAYS, by age. A refusal older
    than that is deleted by the next one; one a day younger is kept."""
    day_us = 86_400 * 1_000_000
    now = now_us()
    old, young = (f"retention-{secrets.token_hex(4)}-{k}" for k in ("old", "young"))
    rows = [{"audience": "HUB", "token": name, "token_sha256": name, "token_length": len(name),
             "reason": "malformed", "detail": "planted",
             "received_at_us": now - (REFUSAL_RETENTION_DAYS + 1 - k) * day_us}
            for k, name in ((0, old), (2, young))]
    async with story_services.db.engine.begin() as conn:
        await conn.execute(insert(inbox_rejections), rows)
    with pytest.raises(MessageRejected):
        await story_services.inbox.receive(f"junk-{secrets.token_hex(4)}")
    async with story_services.db.engine.connect() as conn:
        kept = {r.token_sha256 for r in (await conn.execute(select(inbox_rejections).where(
            inbox_rejections.c.token_sha256.in_([old, young])))).all()}
    assert kept == {young}
