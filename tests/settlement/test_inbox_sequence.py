"""InboxState: in-order delivery, gaps, duplicates, replay conflicts, stale and reused seqs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from settlement_support import HUB, KH, NOW, TH, Parties

from ledger.settlement.inbox import (
    InboxDecision,
    InboxOutcome,
    InboxState,
    SeenMessage,
    missing_ranges,
)
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
    verified = [verify_message(token, parties.registry, HUB, NOW) for token in tokens]
    for message in reversed(verified):
        inbox.observe_message(message)
    assert inbox.expected_seq(TH_HUB) == 3
    for message in verified:  # recorded under the payload's own hash
        seen = inbox.seen(TH, message.jti)
        assert seen is not None and seen.payload_sha256 == message.payload_sha256


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


# -- decisions and records field by field ---------------------------------------------------------


def test_each_decision_carries_every_field() -> None:
    inbox = InboxState()
    assert inbox.classify(TH_HUB, 1, "a", h("a")) == InboxDecision(
        InboxOutcome.IN_ORDER, TH_HUB, 1, "a", h("a"), 1, (), None)
    assert inbox.classify(TH_HUB, 3, "c", h("c")) == InboxDecision(
        InboxOutcome.GAP, TH_HUB, 3, "c", h("c"), 1, ((1, 2),), None)
    inbox.observe(TH_HUB, 1, "a", h("a"))
    assert inbox.classify(TH_HUB, 1, "z", h("z")) == InboxDecision(
        InboxOutcome.STALE, TH_HUB, 1, "z", h("z"), 2, (), None)
    original = SeenMessage(TH_HUB, 1, "a", h("a"), delivered=True)
    assert inbox.classify(KH_HUB, 1, "a", h("a")).outcome is InboxOutcome.IN_ORDER  # other iss
    assert inbox.classify(TH_HUB, 7, "a", h("a")) == InboxDecision(
        InboxOutcome.DUPLICATE, TH_HUB, 7, "a", h("a"), 2, (), original)
    assert inbox.classify(TH_HUB, 7, "a", h("b")) == InboxDecision(
        InboxOutcome.REPLAY_CONFLICT, TH_HUB, 7, "a", h("b"), 2, (), original)


def test_accepted_is_exactly_in_order_and_gap() -> None:
    accepted = {o for o in InboxOutcome
                if InboxDecision(o, TH_HUB, 1, "a", h("a"), 1).accepted}
    assert accepted == {InboxOutcome.IN_ORDER, InboxOutcome.GAP}


def test_a_held_message_is_seen_undelivered_then_released_delivered() -> None:
    inbox = InboxState()
    _, released = inbox.observe(TH_HUB, 2, "b", h("b"))
    assert released == []
    assert inbox.seen(TH, "b") == SeenMessage(TH_HUB, 2, "b", h("b"), delivered=False)
    assert inbox.expected_seq(TH_HUB) == 1
    _, released = inbox.observe(TH_HUB, 1, "a", h("a"))
    assert released == [SeenMessage(TH_HUB, 1, "a", h("a"), delivered=True),
                        SeenMessage(TH_HUB, 2, "b", h("b"), delivered=True)]
    assert inbox.seen(TH, "a") == released[0] and inbox.seen(TH, "b") == released[1]


def test_release_stops_at_the_next_gap() -> None:
    inbox = InboxState()
    for seq in (2, 4):
        inbox.observe(TH_HUB, seq, f"m{seq}", h(str(seq)))
    _, released = inbox.observe(TH_HUB, 1, "m1", h("1"))
    assert [m.seq for m in released] == [1, 2]
    assert (inbox.expected_seq(TH_HUB), inbox.held_seqs(TH_HUB)) == (3, [4])


def test_an_outdated_decision_and_an_unknown_result_say_what_is_wrong() -> None:
    inbox = InboxState()
    stale_view = inbox.classify(TH_HUB, 1, "a", h("a"))
    inbox.observe(TH_HUB, 1, "x", h("x"))
    with pytest.raises(ValueError, match=r"^decision is out of date: classify again$"):
        inbox.apply(stale_view)
    with pytest.raises(KeyError) as unknown:
        inbox.record_result(TH, "nope", None)
    assert unknown.value.args == ("no message 'nope' from 'TH-SSO'",)


def test_a_recorded_result_is_kept_with_the_message() -> None:
    inbox = InboxState()
    inbox.observe(TH_HUB, 1, "a", h("a"))
    inbox.record_result(TH, "a", "ok")
    assert inbox.seen(TH, "a") == SeenMessage(TH_HUB, 1, "a", h("a"), delivered=True,
                                              result="ok")


@pytest.mark.parametrize(("expected", "seq", "held", "ranges"), [
    (1, 2, [], ((1, 1),)),
    (1, 5, [1], ((2, 4),)),
    (1, 5, [4], ((1, 3),)),
    (3, 8, [1, 2, 9, 12], ((3, 7),)),  # held outside [expected, seq) changes nothing
    (3, 8, [8], ((3, 7),)),
    (3, 8, [3, 4, 5, 6, 7], ()),
    (3, 8, [7, 5, 3], ((4, 4), (6, 6))),  # in any order
])
def test_missing_ranges_cover_exactly_what_is_neither_held_nor_delivered(
    expected: int, seq: int, held: list[int], ranges: tuple[tuple[int, int], ...]
) -> None:
    assert missing_ranges(expected, seq, held) == ranges
