"""verify_all: a batch verified on worker threads gives exactly the verdicts of a plain loop,
in order, and leaves the event loop free while it runs."""

from __future__ import annotations

import time

import pytest
from settlement_support import HUB, NOW, Parties, claims

import ledger.services.verify_batch as verify_batch
from ledger.limits import VERIFY_INLINE_MAX
from ledger.settlement.messages import (
    MessageRejected,
    MessageType,
    RejectReason,
    VerifiedMessage,
    sign_message,
)
from tests.event_loop import with_tick_gaps

pytestmark = pytest.mark.anyio


def _tokens(parties: Parties, count: int) -> list[str]:
    """Every third token is tampered with, every fifth addressed to someone else."""
    tokens = []
    for seq in range(1, count + 1):
        token = sign_message(parties.th, aud=HUB if seq % 5 else "KH-NSSF",
                             typ=MessageType.TRANSFER_REQUEST, seq=seq, body=claims()["body"],
                             iat=NOW, jti=f"msg-{seq:04d}")
        if seq % 3 == 0:
            head, payload, signature = token.split(".")
            token = ".".join((head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA"
                                                                else "BA")))
        tokens.append(token)
    return tokens


def _outcome(verdict: VerifiedMessage | MessageRejected) -> tuple[str, str | int]:
    if isinstance(verdict, MessageRejected):
        return ("rejected", verdict.reason.value)
    return ("verified", verdict.seq)


async def test_threaded_batch_gives_the_loops_verdicts_in_order(parties: Parties) -> None:
    tokens = _tokens(parties, 4 * VERIFY_INLINE_MAX + 7)
    verdicts = await verify_batch.verify_all(tokens, parties.registry, HUB, NOW)
    expected = verify_batch.verify_slice(tokens, parties.registry, HUB, NOW)
    assert [_outcome(v) for v in verdicts] == [_outcome(v) for v in expected]
    reasons = {v.reason for v in verdicts if isinstance(v, MessageRejected)}
    assert reasons == {RejectReason.SIGNATURE_INVALID, RejectReason.WRONG_AUDIENCE}
    assert [v.seq for v in verdicts if isinstance(v, VerifiedMessage)][:3] == [1, 2, 4]


async def test_a_large_batch_does_not_block_the_event_loop(
    parties: Parties, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each verification is made to burn 20 ms of CPU: 100 of them inline would hold the event
    loop for 2 s; on worker threads a 5 ms ticker keeps ticking."""
    real = verify_batch.verify_message

    def slow(*args: object, **kwargs: object) -> VerifiedMessage:
        until = time.perf_counter() + 0.02
        while time.perf_counter() < until:
            pass
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(verify_batch, "verify_message", slow)
    tokens = _tokens(parties, 100)
    verdicts, gaps = await with_tick_gaps(
        verify_batch.verify_all(tokens, parties.registry, HUB, NOW))
    assert len(verdicts) == 100
    assert len(gaps) > 20 and max(gaps) < 0.5, max(gaps)
