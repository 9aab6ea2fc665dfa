"""InboxState: in-order delivery, gaps, duplicates, replay conflicts, stale and reused seqs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from settlement_support import HUB, KH, NOW, TH, Parties

from ledger.settlement.inbox import InboxDecision, InboxOutcome, InboxState
from ledger.settlement.keys import SigningKey, TrustRegistry, Validity
from ledger.settlement.messages import Channel, sign_message, verify_message

TH_HUB = Channel(TH, HUB)
KH_HUB = Channel(KH, HUB)


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_first_message_is_in_order_and_delivered() -> None:
    inbox = InboxState()
    assert inbox.expected_seq(TH_HUB) == 1
    decision, delivered = inbox.observe(TH_HUB, 1, "a", h("a"))
    assert decision.outcome is InboxOutcome.IN_ORDER
    assert decision.accepted
    assert [(m.seq, m.jti, m.delivered) for m in delivered] == [(1, "a", True)]
    assert inbox.expected_seq(TH_HUB) == 2


def test_duplicate_returns_the_original_result() -> None:
    inbox = InboxState()
    inbox.observe(TH_HUB, 1, "a", h("a"))
    inbox.record_result(TH, "a", {"transfer": "tr-1", "status": "pending"})
    decision, delivered = inbox.observe(TH_HUB, 1, "a", h("a"))
    assert decision.outcome is InboxOutcome.DUPLICATE
    assert decision.original is not None
    assert decision.original.result == {"transfer": "tr-1", "status": "pending"}
    assert delivered == []
    assert inbox.expected_seq(TH_HUB) == 2


def test_replay_conflict_same_jti_other_bytes() -> None:
    inbox = InboxState()
    inbox.observe(TH_HUB, 1, "a", h("a"))
    decision, delivered = inbox.observe(TH_HUB, 2, "a", h("a, altered"))
    assert decision.outcome is InboxOutcome.REPLAY_CONFLICT
    assert not decision.accepted
    assert decision.original is not None
    assert decision.original.payload_sha256 == h("a")
    assert delivered == []
    assert inbox.expected_seq(TH_HUB) == 2


def test_gap_reports_the_missing_range_and_holds_until_filled() -> None:
    inbox = InboxState()
    inbox.observe(TH_HUB, 1, "m1", h("1"))
    decision, delivered = inbox.observe(TH_HUB, 4, "m4", h("4"))
    assert decision.outcome is InboxOutcome.GAP
    assert decision.accepted
    assert decision.missing == ((2, 3),)
    assert delivered == []
    assert inbox.held_seqs(TH_HUB) == [4]

    decision, delivered = inbox.observe(TH_HUB, 3, "m3", h("3"))
    assert decision.outcome is InboxOutcome.GAP
    assert decision.missing == ((2, 2),)

    decision, delivered = inbox.observe(TH_HUB, 2, "m2", h("2"))
    assert decision.outcome is InboxOutcome.IN_ORDER
    assert [m.seq for m in delivered] == [2, 3, 4]
    assert all(m.delivered for m in delivered)
    assert inbox.expected_seq(TH_HUB) == 5
    assert inbox.held_seqs(TH_HUB) == []
    seen = inbox.seen(TH, "m4")
    assert seen is not None
    assert seen.delivered


def test_gap_missing_ranges_skip_what_is_already_held() -> None:
    inbox = InboxState()
    for seq in (5, 7):
        inbox.observe(TH_HUB, seq, f"m{seq}", h(str(seq)))
    decision = inbox.classify(TH_HUB, 9, "m9", h("9"))
    assert decision.missing == ((1, 4), (6, 6), (8, 8))


def test_far_jump_reports_one_range() -> None:
    decision = InboxState().classify(TH_HUB, 10**12, "far", h("far"))
    assert decision.outcome is InboxOutcome.GAP
    assert decision.missing == ((1, 10**12 - 1),)


def test_stale_seq_below_expected_with_unknown_jti() -> None:
    inbox = InboxState()
    inbox.observe(TH_HUB, 1, "a", h("a"))
    decision, delivered = inbox.observe(TH_HUB, 1, "b", h("b"))
    assert decision.outcome is InboxOutcome.STALE
    assert delivered == []


def test_seq_conflict_when_a_held_seq_is_reused_by_another_jti() -> None:
    inbox = InboxState()
    inbox.observe(TH_HUB, 3, "x", h("x"))
    decision, _ = inbox.observe(TH_HUB, 3, "y", h("y"))
    assert decision.outcome is InboxOutcome.SEQ_CONFLICT
    assert decision.original is not None
    assert decision.original.jti == "x"


def test_duplicate_of_a_held_message_is_a_duplicate_not_yet_processed() -> None:
    inbox = InboxState()
    inbox.observe(TH_HUB, 3, "x", h("x"))
    decision, _ = inbox.observe(TH_HUB, 3, "x", h("x"))
    assert decision.outcome is InboxOutcome.DUPLICATE
    assert decision.original is not None
    assert not decision.original.delivered
    assert decision.original.result is None


def test_channels_are_independent_and_jti_is_scoped_by_issuer() -> None:
    inbox = InboxState()
    inbox.observe(TH_HUB, 1, "same-jti", h("th"))
    decision, _ = inbox.observe(KH_HUB, 1, "same-jti", h("kh"))
    assert decision.outcome is InboxOutcome.IN_ORDER
    assert inbox.expected_seq(TH_HUB) == inbox.expected_seq(KH_HUB) == 2


def test_classify_is_pure_and_apply_refuses_an_outdated_decision() -> None:
    inbox = InboxState()
    first = inbox.classify(TH_HUB, 1, "a", h("a"))
    again = inbox.classify(TH_HUB, 1, "a", h("a"))
    assert first == again
    assert inbox.expected_seq(TH_HUB) == 1
    inbox.apply(first)
    with pytest.raises(ValueError, match="out of date"):
        inbox.apply(InboxDecision(InboxOutcome.IN_ORDER, TH_HUB, 2, "b", h("b"), expected_seq=1))


def test_rejected_decisions_change_nothing() -> None:
    inbox = InboxState()
    inbox.observe(TH_HUB, 1, "a", h("a"))
    stale = inbox.classify(TH_HUB, 1, "b", h("b"))
    assert inbox.apply(stale) == []
    assert inbox.seen(TH, "b") is None


def test_record_result_for_unknown_message_is_an_error() -> None:
    with pytest.raises(KeyError):
        InboxState().record_result(TH, "nope", None)


def test_verified_messages_feed_the_inbox(parties: Parties) -> None:
    inbox = InboxState()
    tokens = [
        sign_message(parties.th, aud=HUB, typ="transfer.request", seq=seq, body={"n": seq},
                     iat=NOW, jti=f"t{seq}")
        for seq in (1, 2)
    ]
    for token in reversed(tokens):
        inbox.observe_message(verify_message(token, parties.registry, HUB, NOW))
    assert inbox.expected_seq(TH_HUB) == 3


def test_same_claims_resigned_after_rotation_are_a_duplicate(parties: Parties) -> None:
    new_key = SigningKey.generate(TH, kid="th-2026-02", validity=Validity(NOW - 60))
    registry = TrustRegistry([*parties.registry, new_key.trusted()])

    def signed(key: SigningKey) -> str:
        return sign_message(key, aud=HUB, typ="transfer.request", seq=1, body={"n": 1},
                            iat=NOW, jti="t1")

    inbox = InboxState()
    first, second = signed(parties.th), signed(new_key)
    assert first != second
    inbox.observe_message(verify_message(first, registry, HUB, NOW))
    decision, _ = inbox.observe_message(verify_message(second, registry, HUB, NOW))
    assert decision.outcome is InboxOutcome.DUPLICATE


@given(st.lists(st.integers(1, 12), min_size=1, max_size=40))
def test_any_arrival_order_with_retries_delivers_each_seq_once_in_order(
    arrivals: list[int],
) -> None:
    inbox = InboxState()
    delivered: list[int] = []
    for seq in arrivals:
        decision, released = inbox.observe(TH_HUB, seq, f"m{seq}", h(str(seq)))
        assert decision.outcome in {
            InboxOutcome.IN_ORDER, InboxOutcome.GAP, InboxOutcome.DUPLICATE,
        }
        delivered.extend(m.seq for m in released)
    # The model: exactly the unbroken prefix 1..k of what arrived, each once, in order.
    prefix = 0
    while prefix + 1 in set(arrivals):
        prefix += 1
    assert delivered == list(range(1, prefix + 1))
    assert inbox.expected_seq(TH_HUB) == prefix + 1
    assert inbox.held_seqs(TH_HUB) == sorted(s for s in set(arrivals) if s > prefix + 1)
