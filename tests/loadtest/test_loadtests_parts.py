"""The Locust side's own parts, without Locust running: pacing, the latency recorder, the fund
signer (checked by the ledger's verifier), the shapes' plans and verdicts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ledger.settlement.keys import Party, SigningKey, TrustRegistry
from ledger.settlement.messages import MessageRejected, verify_message
from loadtests.pacing import Pace, Pacer
from loadtests.plans import MonthConfig, MonthPlan, Progress, SteppedPlan, StepsConfig
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
