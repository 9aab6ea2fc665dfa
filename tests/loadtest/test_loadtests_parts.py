"""The Locust side's own parts, without Locust running: pacing, the latency recorder, the fund
signer (checked by the ledger's verifier), the shapes' plans and verdicts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ledger.settlement.keys import Party, SigningKey, TrustRegistry
from ledger.settlement.messages import MessageRejected, verify_message
from loadtests.data import Payer
from loadtests.gathering import (
    GatherConfig,
    PriceBook,
    Tap,
    Windows,
    gather,
    price_key,
    read_answer,
    resend_problems,
)
from loadtests.pacing import Pace, Pacer
from loadtests.plans import (
    MonthConfig,
    MonthPlan,
    Progress,
    SteppedPlan,
    StepsConfig,
    payment_mix,
    users_for,
)
from loadtests.recorder import Recorder, percentile
from loadtests.signing import FundSigner, canonical


def test_a_pacer_hands_out_slots_one_interval_apart() -> None:
    p = Pacer()
    p.set_rate(10.0, now=100.0)
    waits = [p.claim(100.0) for _ in range(11)]
    assert waits == pytest.approx([k / 10 for k in range(11)])
    assert p.claim(100.0) is None  # the next slot is more than a second away
    assert p.offered == 11 and p.missed == 0


def test_slots_that_pass_while_every_user_is_busy_are_missed() -> None:
    p = Pacer()
    p.set_rate(10.0, now=0.0)
    assert p.claim(0.0) == 0
    assert p.claim(2.0) == 0  # 2 s later: the slots at 0.1 .. 1.9 s never left
    assert p.missed == pytest.approx(19.0)


def test_a_batching_user_takes_every_due_slot_at_once() -> None:
    p = Pacer()
    p.set_rate(4.0, now=0.0)
    assert p.take_due(1.0, most=100) == 5  # 0, .25, .5, .75, 1.0
    assert p.take_due(1.1, most=100) == 0
    assert p.take_due(3.0, most=3) == 3 and p.missed == 5  # 8 were due, 3 taken


def test_the_pace_splits_rates_between_processes_but_not_the_singletons() -> None:
    pace = Pace()
    pace.apply({"step": "2", "workers": 4, "rates": {"statement_read": 40.0,
                                                     "fund_message": 9.0},
                "events": {"window_close": 1}}, now=0.0)
    assert pace.pacer("statement_read").rate == 10.0
    assert pace.pacer("fund_message").rate == 9.0
    assert pace.event_due("window_close") and not pace.event_due("window_close")
    pace.apply({"step": "3", "workers": 4, "rates": {}}, now=1.0)
    assert pace.pacer("statement_read").rate == 0.0  # left out: idle


def test_recorder_percentiles_merge_and_drain() -> None:
    worker, master = Recorder(), Recorder()
    for ms in range(1, 101):
        worker.add("0", "GET x", float(ms), None)
    worker.add("0", "GET x", 5.0, "500: boom")
    master.merge(worker.drain())
    assert worker.steps == {}
    s = master.summary("0")
    assert s["n"] == 101 and s["failures"] == 1
    assert s["p50_ms"] == pytest.approx(50, rel=0.03)
    assert s["p99_ms"] == pytest.approx(99, rel=0.03)
    assert percentile({}, 0.5) is None


def test_a_fund_signed_message_passes_the_ledgers_verifier() -> None:
    key = SigningKey.generate(Party("TH-SSO"))
    signer = FundSigner("TH-SSO", key.private_jwk())
    registry = TrustRegistry()
    registry.load_jwks("TH-SSO", {"keys": [key.public_jwk()]})
    now = int(time.time())
    token = signer.sign(aud="HUB", typ="transfer.request", seq=7, iat=now,
                        body={"action": "approve", "flow_id": "pt-x", "note": "ช่วย"})
    message = verify_message(token, registry, "HUB", now)
    assert (message.iss, message.seq, message.body["flow_id"]) == ("TH-SSO", 7, "pt-x")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(MessageRejected):
        verify_message(tampered, registry, "HUB", now)


def test_canonical_json_refuses_what_it_cannot_canonicalise() -> None:
    assert canonical({"b": 1, "a": "x"}) == b'{"a":"x","b":1}'
    with pytest.raises(TypeError, match="float"):
        canonical({"amount": 1.5})
    with pytest.raises(TypeError):
        canonical({"n": 2**60})


CONFIG = StepsConfig(rates=[10.0, 20.0, 30.0], seconds=10.0,
                     mix={"statement_read": 0.9, "fund_message": 0.1, "window_close": 0.0})


def _stepped(p99: float) -> SteppedPlan:
    shape = SteppedPlan(CONFIG, Recorder(), Progress(None))
    for _ in range(200):
        shape.recorder.add("0", "GET x", p99, None)
    shape.recorder.add_pacing("0", {"statement_read": {"offered": 200, "missed": 0}})
    return shape


def test_steps_rates_users_and_a_window_each_step() -> None:
    shape = _stepped(10.0)
    plan = shape.plan(3.0)
    assert plan is not None and plan.step == "0"
    assert plan.rates["statement_read"] == pytest.approx(9.0)
    assert plan.users == 5 + 1 + 1  # ceil(9 x 0.5 s) + 1 readers, and the funds' user
    assert plan.events == {"window_close": 0}
    assert shape.plan(6.0).events == {"window_close": 1}  # type: ignore[union-attr]


def test_a_step_is_judged_after_the_reports_arrive_and_a_failed_one_stops_the_ramp() -> None:
    shape = _stepped(80.0)  # over the 50 ms target
    assert shape.plan(11.0).step == "1"  # type: ignore[union-attr]
    assert 0 not in shape.judged  # 1 s after: too early
    shape.plan(14.5)
    assert shape.judged[0]["held"] is False
    assert shape.plan(15.0) is None  # stop_on_fail
    assert [e["event"] for e in shape.progress.lines] == ["verdict"]


def test_a_held_step_lets_the_ramp_go_on() -> None:
    shape = _stepped(10.0)
    shape.plan(14.5)
    assert shape.judged[0]["held"] is True
    assert shape.plan(15.0).step == "1"  # type: ignore[union-attr]


def test_the_month_plays_each_hour_for_its_compressed_share_of_time(outcome: Any) -> None:
    from ledger.app.loadtest.traffic import busiest_month, month_counts, month_shape

    data = month_shape(month_counts(outcome, busiest_month(outcome))).to_json()
    config = MonthConfig(minutes=12.0, scale=2.0, shape=data,
                         kinds=("statement_read", "window_close"))
    shape = MonthPlan(config, Progress(None), users=5)
    hour_s = config.hour_s
    assert hour_s == pytest.approx(12 * 60 / (data["days"] * 24))
    plan = shape.plan(hour_s * (24 * 14 + 20) + 0.01)  # day 15, 20:00
    assert plan is not None and plan.step == "day-15"
    assert plan.rates["statement_read"] == pytest.approx(
        2 * data["rates"]["statement_read"][14][20])
    assert plan.events == {"window_close": 0}
    last = shape.plan(hour_s * (24 * data["days"]) - 0.01)
    assert last is not None and last.events == {"window_close": 1}
    assert shape.plan(hour_s * 24 * data["days"] + 0.01) is None
    assert config.needs()["statement_read"] >= 1


# -- a channel's server gathering taps into batches (loadtests/gathering.py) -------------------

def _payer(channel: str, n: int = 0) -> Payer:
    return Payer(f"wkr_t{n:08d}", channel, "THB", "VN-VSS", "voluntary-si", "5000000", "VND")


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _taps(channels: list[str]) -> Any:
    made = iter(range(10_000))

    def next_tap() -> Tap | None:
        n = next(made)
        return Tap(_payer(channels[n % len(channels)], n), "2026-12", f"r{n}")
    return next_tap


def test_a_window_closes_when_it_holds_size_payments() -> None:
    clock = _Clock()
    pacer = Pacer()
    pacer.set_rate(1000.0, now=clock.now)  # a tap every millisecond
    windows = Windows(GatherConfig(size=5, window_ms=20))
    batch = gather(windows, pacer, _taps(["mw"]), clock, clock.sleep)
    assert batch is not None
    channel, taps = batch
    assert channel == "mw" and [t.ref for t in taps] == ["r0", "r1", "r2", "r3", "r4"]
    assert clock.now - 100.0 == pytest.approx(0.004)  # the fifth tap, 4 ms in: before 20 ms
    again = gather(windows, pacer, _taps(["mw"]), clock, clock.sleep)
    assert again is not None and len(again[1]) == 5  # the next window, nothing lost between


def test_a_window_closes_its_time_after_its_first_tap() -> None:
    clock = _Clock()
    pacer = Pacer()
    pacer.set_rate(100.0, now=clock.now)  # a tap every 10 ms
    windows = Windows(GatherConfig(size=20, window_ms=25))
    batch = gather(windows, pacer, _taps(["mw"]), clock, clock.sleep)
    assert batch is not None and len(batch[1]) == 3  # taps at 0, 10, 20 ms; closed at 25 ms
    assert clock.now - 100.0 == pytest.approx(0.025)
    assert pacer.offered == 3 and pacer.missed == 0


def test_each_channel_gathers_its_own_window() -> None:
    clock = _Clock()
    pacer = Pacer()
    pacer.set_rate(1000.0, now=clock.now)
    windows = Windows(GatherConfig(size=3, window_ms=50))
    batches = [gather(windows, pacer, _taps(["mw", "sk"]), clock, clock.sleep)
               for _ in range(2)]
    assert [(c, [t.payer.channel for t in taps]) for c, taps in batches  # type: ignore[misc]
            ] == [("mw", ["mw"] * 3), ("sk", ["sk"] * 3)]


def test_a_round_with_no_taps_ends_idle_and_taps_left_behind_are_missed() -> None:
    clock = _Clock()
    pacer = Pacer()
    windows = Windows(GatherConfig())
    assert gather(windows, pacer, _taps(["mw"]), clock, clock.sleep) is None  # rate 0
    assert clock.now - 100.0 == pytest.approx(0.5)
    pacer.set_rate(100.0, now=clock.now)
    clock.now += 1.0  # every gatherer busy for a second: taps older than a window never left
    assert pacer.take_backlog(clock.now, 0.02, 200) == 3  # 20 ms of backlog at 100/s: 3 slots
    assert pacer.missed == pytest.approx(98.0)


def test_payers_running_dry_send_what_was_gathered() -> None:
    clock = _Clock()
    pacer = Pacer()
    pacer.set_rate(1000.0, now=clock.now)
    left = iter([Tap(_payer("mw"), "2026-12", "only")])
    batch = gather(Windows(GatherConfig()), pacer, lambda: next(left, None), clock, clock.sleep)
    assert batch is not None and [t.ref for t in batch[1]] == ["only"]


@pytest.mark.parametrize(("given", "field"), [({"size": 0}, "batch"), ({"size": 201}, "batch"),
                                              ({"window_ms": 0}, "window"),
                                              ({"resend_share": 1.5}, "resent")])
def test_impossible_gathering_is_refused(given: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        GatherConfig(**given)


def test_the_gathering_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLMTV_LT_BATCH", '{"size": 50, "window_ms": 10}')
    assert GatherConfig.from_env() == GatherConfig(size=50, window_ms=10.0, resend_share=0.05)


def test_a_price_is_asked_again_before_its_quote_expires() -> None:
    book = PriceBook()
    key = price_key(_payer("mw"), "2026-12")
    assert book.get(key, 0.0) is None
    price = book.put(key, {"quote_id": "qt_1", "expires_at": "2026-12-07T12:05:00Z",
                           "price": {"contribution": {"amount_minor": "1", "currency": "VND"},
                                     "total": {"amount_minor": "2", "currency": "THB"}}})
    assert book.get(key, price.expires_at - 61) == price
    assert book.get(key, price.expires_at - 59) is None  # within the margin: ask again


def test_a_batch_answer_is_read_per_payment_and_a_resend_checked() -> None:
    taps = [Tap(_payer("mw", n), "2026-12", f"r{n}") for n in range(3)]

    def record(n: int, receipt: str = "jws") -> dict[str, Any]:
        return {"payment_id": f"mw/r{n}", "channel_ref": f"r{n}", "receipt": receipt}

    answer = read_answer(taps, {"results": [
        {"status": "created", "payment": record(0)}, {"status": "exists", "payment": record(1)},
        {"status": "failed", "problem": {"code": "quote_expired", "field": "quote_id"}}]})
    assert [t.ref for t, _ in answer.acknowledged] == ["r0", "r1"] and answer.created == 1
    assert answer.failure_text(207) == ("207: 1 of the batch's payments failed: "
                                        "1 x quote_expired (quote_id)")
    assert read_answer(taps, {"detail": "refused whole"}).failures == {"answered 0 of 3": 3}
    same = {"results": [{"status": "exists", "payment": record(0)},
                        {"status": "exists", "payment": record(1)}]}
    assert resend_problems(answer, same) == []
    changed = {"results": [{"status": "created", "payment": record(0)},
                           {"status": "exists", "payment": record(1, "another")}]}
    assert resend_problems(answer, changed) == [
        "r0: answered created, not exists",
        "r1: answered as mw/r1, first mw/r1, or with another receipt"]


def test_batches_carry_the_months_payments_and_their_users_are_batches_in_flight() -> None:
    assert payment_mix({"voluntary_payment": 0.2, "statement_read": 0.8},
                       ("channel_batch", "statement_read")) == {"channel_batch": 0.2,
                                                                 "statement_read": 0.8}
    both = payment_mix({"voluntary_payment": 0.2}, ("voluntary_payment", "channel_batch"))
    assert both == {"voluntary_payment": 0.1, "channel_batch": 0.1}
    # 1,000 taps/s in batches of 20 or 20 ms (3 channels): at most 50 + 150 batches/s.
    config = GatherConfig(size=20, window_ms=20)
    assert config.batches_per_s(1000.0) == pytest.approx(200.0)
    assert config.batches_per_s(2.0) == 2.0  # never more batches than taps
    assert users_for({"channel_batch": 1000.0}, config) == {"channel_batch": 101}
    assert users_for({"voluntary_payment": 1000.0}) == {"voluntary_payment": 501}


def test_recorded_payments_merge_into_the_steps_summary() -> None:
    worker, master = Recorder(), Recorder()
    worker.add("0", "POST batch", 12.0, None, payments=20)
    worker.add("0", "POST batch", 15.0, "207: 1 of the batch's payments failed", payments=19)
    master.merge(worker.drain())
    assert master.summary("0")["payments"] == 39
    assert master.to_json()["steps"]["0"]["POST batch"]["payments"] == 39


def test_the_month_plays_its_payments_as_batches_when_they_are_sent(outcome: Any) -> None:
    from ledger.app.loadtest.traffic import busiest_month, month_counts, month_shape

    data = month_shape(month_counts(outcome, busiest_month(outcome))).to_json()
    paying = data["rates"]["voluntary_payment"][14][20]
    alone = MonthConfig(minutes=12.0, scale=1.0, shape=data, kinds=("channel_batch",))
    assert alone.rates(14, 20) == {"channel_batch": pytest.approx(paying)}
    both = MonthConfig(minutes=12.0, scale=1.0, shape=data,
                       kinds=("voluntary_payment", "channel_batch"))
    assert both.rates(14, 20) == {"voluntary_payment": pytest.approx(paying / 2),
                                  "channel_batch": pytest.approx(paying / 2)}
