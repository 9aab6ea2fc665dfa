"""Exactly-once, in-order intake of verified messages: replay and sequence classification.

Owns `InboxState`, an in-memory model of what an inbox has seen, per channel (iss, aud): the next
expected `seq`, messages held because they arrived ahead of a gap, and every (iss, jti) with the
SHA-256 of its payload bytes. `classify` says what a new arrival is without changing anything;
`apply` records an accepted one. The database-backed inbox implements the same decisions over
its tables (and prunes `seen` after `exp`); this model is its specification and test oracle.

Outcomes
- IN_ORDER: seq is the next expected: process it (then any held successors, `apply` returns them).
- GAP: seq is ahead: hold it, ask the sender for `missing` (inclusive ranges).
- DUPLICATE: jti known with the same payload hash: a retry; answer with the original result.
- REPLAY_CONFLICT: jti known with a different payload: reject, and alert.
- SEQ_CONFLICT: seq already held for another jti: the sender reused a number; reject.
- STALE: seq below the expected one and jti unknown: a number already consumed; reject.

The payload hash (not the whole token's) identifies a message: the same claims re-signed after a
key rotation are a retry, not a conflict.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from ledger.settlement.messages import Channel, VerifiedMessage

FIRST_SEQ = 1


class InboxOutcome(StrEnum):
    IN_ORDER = "in_order"
    GAP = "gap"
    DUPLICATE = "duplicate"
    REPLAY_CONFLICT = "replay_conflict"
    SEQ_CONFLICT = "seq_conflict"
    STALE = "stale"


ACCEPTED_OUTCOMES = frozenset({InboxOutcome.IN_ORDER, InboxOutcome.GAP})


@dataclass(frozen=True, slots=True)
class SeenMessage:
    channel: Channel
    seq: int
    jti: str
    payload_sha256: str
    delivered: bool  # False while held behind a gap
    result: Any = None  # what processing returned; handed back to duplicates


@dataclass(frozen=True, slots=True)
class InboxDecision:
    outcome: InboxOutcome
    channel: Channel
    seq: int
    jti: str
    payload_sha256: str
    expected_seq: int  # the channel's next expected seq when classified
    missing: tuple[tuple[int, int], ...] = ()  # GAP: inclusive ranges not yet received
    original: SeenMessage | None = None  # DUPLICATE / REPLAY_CONFLICT / SEQ_CONFLICT

    @property
    def accepted(self) -> bool:
        return self.outcome in ACCEPTED_OUTCOMES


class InboxState:
    """What one inbox (one audience) has seen. Not thread-safe: one writer, like the DB row lock."""

    def __init__(self) -> None:
        self._next_seq: dict[Channel, int] = {}
        self._held: dict[Channel, dict[int, SeenMessage]] = {}
        self._seen: dict[tuple[str, str], SeenMessage] = {}  # (iss, jti)

    def expected_seq(self, channel: Channel) -> int:
        return self._next_seq.get(channel, FIRST_SEQ)

    def held_seqs(self, channel: Channel) -> list[int]:
        return sorted(self._held.get(channel, {}))

    def seen(self, iss: str, jti: str) -> SeenMessage | None:
        return self._seen.get((iss, jti))

    def classify(
        self, channel: Channel, seq: int, jti: str, payload_sha256: str
    ) -> InboxDecision:
        """What this arrival is. Pure: state is unchanged."""
        expected = self.expected_seq(channel)

        def decide(outcome: InboxOutcome, **extra: Any) -> InboxDecision:
            return InboxDecision(outcome, channel, seq, jti, payload_sha256, expected, **extra)

        # jti first: a retry of an old message must get its original answer, not "stale".
        original = self._seen.get((channel.iss, jti))
        if original is not None:
            same = original.payload_sha256 == payload_sha256
            outcome = InboxOutcome.DUPLICATE if same else InboxOutcome.REPLAY_CONFLICT
            return decide(outcome, original=original)
        if seq < expected:
            return decide(InboxOutcome.STALE)
        if seq == expected:
            return decide(InboxOutcome.IN_ORDER)
        held = self._held.get(channel, {})
        if seq in held:
            return decide(InboxOutcome.SEQ_CONFLICT, original=held[seq])
        return decide(InboxOutcome.GAP, missing=missing_ranges(expected, seq, held))

    def apply(self, decision: InboxDecision) -> list[SeenMessage]:
        """Record an accepted decision; return the messages now deliverable, in seq order.

        IN_ORDER returns the message itself followed by any held successors it unblocks; GAP
        returns nothing (the message is held). Other outcomes change nothing.
        """
        if not decision.accepted:
            return []
        if decision.expected_seq != self.expected_seq(decision.channel):
            raise ValueError("decision is out of date: classify again")
        channel = decision.channel
        seen = SeenMessage(channel, decision.seq, decision.jti, decision.payload_sha256,
                           delivered=False)
        if decision.outcome is InboxOutcome.GAP:
            self._held.setdefault(channel, {})[decision.seq] = seen
            self._seen[(channel.iss, decision.jti)] = seen
            return []
        released = [seen]
        held = self._held.get(channel, {})
        next_seq = decision.seq + 1
        while next_seq in held:
            released.append(held.pop(next_seq))
            next_seq += 1
        self._next_seq[channel] = next_seq
        delivered = [replace(m, delivered=True) for m in released]
        for message in delivered:
            self._seen[(channel.iss, message.jti)] = message
        return delivered

    def observe(
        self, channel: Channel, seq: int, jti: str, payload_sha256: str
    ) -> tuple[InboxDecision, list[SeenMessage]]:
        decision = self.classify(channel, seq, jti, payload_sha256)
        return decision, self.apply(decision)

    def observe_message(
        self, message: VerifiedMessage
    ) -> tuple[InboxDecision, list[SeenMessage]]:
        return self.observe(message.channel, message.seq, message.jti, message.payload_sha256)

    def record_result(self, iss: str, jti: str, result: Any) -> None:
        """Attach what processing a message produced, for answering its duplicates."""
        key = (iss, jti)
        if key not in self._seen:
            raise KeyError(f"no message {jti!r} from {iss!r}")
        self._seen[key] = replace(self._seen[key], result=result)


def missing_ranges(expected: int, seq: int, held: Collection[int]
                   ) -> tuple[tuple[int, int], ...]:
    """Inclusive ranges of [expected, seq) not already held. Walks held seqs, not the whole gap,
    so a sender jumping far ahead costs nothing."""
    ranges: list[tuple[int, int]] = []
    start = expected
    for held_seq in sorted(s for s in held if expected <= s < seq):
        if held_seq > start:
            ranges.append((start, held_seq - 1))
        start = held_seq + 1
    if start < seq:
        ranges.append((start, seq - 1))
    return tuple(ranges)
