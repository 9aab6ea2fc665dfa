"""Revocation reaches held messages; a message may not be held too far ahead or live too long
(issue 25, finding 2; ADR 0012: from `revoked_at` every message signed by the key is rejected).

Each test leaves the TH-SSO channel with no message held, as it found it (the database is
shared by the run's tests)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from ledger.composition import Services
from ledger.db.tables import inbox_messages, inbox_rejections
from ledger.domain.errors import DomainError
from ledger.limits import HELD_AHEAD_MAX
from ledger.settlement.keys import HUB, Party, SigningKey
from ledger.settlement.messages import MessageType, sign_message
from tests.e2e.messaging import Sender
from tests.e2e.story_support import OPERATOR, story_services

pytestmark = pytest.mark.anyio
__all__ = ["story_services"]
REQ = MessageType.TRANSFER_REQUEST


async def _held(svc: Services, jti: str) -> bool:
    async with svc.db.engine.connect() as conn:
        return (await conn.execute(select(inbox_messages.c.state).where(
            inbox_messages.c.jti == jti))).scalar() == "held"


async def _rejected_reasons(svc: Services, token: str) -> list[str]:
    async with svc.db.engine.connect() as conn:
        return list((await conn.execute(select(inbox_rejections.c.reason).where(
            inbox_rejections.c.token == token))).scalars())


async def _gap_then_revoke(svc: Services, uid: str, *, hook: bool) -> None:
    th = await Sender(svc, "TH-SSO").publish()
    seq = await th.next_seq()
    compromised = SigningKey.generate(Party("TH-SSO"), kid=f"th-sso-{uid}-lost")
    await svc.keys.publish(OPERATOR, "TH-SSO", {"keys": [compromised.public_jwk()]})
    forged = await th.sign(REQ, {"action": "approve", "flow_id": f"forged-{uid}"}, seq=seq + 1,
                           key=compromised, jti=f"forged-{uid}")
    held = await svc.inbox.receive(forged)
    assert held.outcome == "held"
    hooks = list(svc.keys.on_revoke)
    if not hook:
        svc.keys.on_revoke.clear()  # the release must catch it by itself
    try:  # revoked as of a time before the message arrived
        await svc.keys.revoke(OPERATOR, "TH-SSO", compromised.kid, int(time.time()) - 3600)
    finally:
        svc.keys.on_revoke[:] = hooks
    assert await _held(svc, f"forged-{uid}") is not hook
    filler = await th.sign(REQ, {"action": "approve", "flow_id": f"filler-{uid}"}, seq=seq)
    genuine = await th.sign(REQ, {"action": "approve", "flow_id": f"genuine-{uid}"},
                            seq=seq + 1)
    first, second = await svc.inbox.receive_batch([filler, genuine])
    assert not isinstance(first, DomainError) and first.outcome == "failed"  # unknown flow
    assert not isinstance(second, DomainError), second  # its seq was freed, not stale
    assert second.jti != f"forged-{uid}" and second.outcome == "failed"
    assert await th.next_seq() == seq + 2
    assert not await _held(svc, f"forged-{uid}")
    assert await _rejected_reasons(svc, forged) == ["key_revoked"]


async def test_revoking_a_key_refuses_its_held_messages_and_frees_their_seq(
    story_services: Services, uid: str
) -> None:
    await _gap_then_revoke(story_services, uid, hook=True)


async def test_a_held_message_is_checked_again_when_released(story_services: Services,
                                                             uid: str) -> None:
    await _gap_then_revoke(story_services, uid, hook=False)


async def test_a_message_may_not_live_for_a_century(story_services: Services) -> None:
    th = await Sender(story_services, "TH-SSO").publish()
    token = sign_message(th.key, aud=HUB, typ=REQ, seq=await th.next_seq(),
                         body={"action": "approve", "flow_id": "x"}, iat=int(time.time()),
                         ttl_s=100 * 365 * 24 * 3600)
    with pytest.raises(DomainError) as refused:
        await story_services.inbox.receive(token)
    assert refused.value.details["reason"] == "lifetime_too_long"


async def test_a_message_may_not_wait_too_far_ahead(story_services: Services) -> None:
    th = await Sender(story_services, "TH-SSO").publish()
    next_seq = await th.next_seq()
    far = await th.sign(REQ, {"action": "approve", "flow_id": "x"},
                        seq=next_seq + HELD_AHEAD_MAX + 1)
    with pytest.raises(DomainError) as refused:
        await story_services.inbox.receive(far)
    assert refused.value.details["reason"] == "seq_too_far_ahead"
    assert refused.value.details["expected_seq"] == next_seq
