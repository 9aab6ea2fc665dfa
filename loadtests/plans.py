"""What a traffic shape asks for at time t, without Locust: the pure half of `shapes.py`.

Owns `SteppedPlan` (each total rate of a stepped ramp held for `seconds`, split by a mix, a
settlement window closed in the middle of each step, each step judged a few seconds after it
ends: p99 and errors against the target, and whether the generator kept up; the ramp stops after
the first step that does not hold) and `MonthPlan` (`shape.json`'s real per-second rates by day
and hour, the calendar compressed into `minutes` and scaled from the simulated population to
`workers`; paydays and the declaration deadline are its peaks; the window closes at the end of
the last day). A `Plan` is one tick's answer: the step, each kind's rate for the whole test,
events due so far, and the users that carry it (`users_for`: users are concurrency).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.gathering import KIND as BATCH_KIND
from loadtests.gathering import GatherConfig
from loadtests.pacing import EVENT_KINDS, SINGLETON_KINDS
from loadtests.recorder import Recorder

# Seconds of latency the users of a kind absorb before the generator falls behind its rate.
CONCURRENCY_S = {"voluntary_payment": 0.5, "statement_read": 0.5, "declaration_upload": 4.0,
                 "fund_batch": 4.0, BATCH_KIND: 0.5}
# The kinds that send the month's voluntary payments: one by one, or gathered into batches.
PAYMENT_KINDS = ("voluntary_payment", BATCH_KIND)


def users_for(rates: Mapping[str, float], gathering: GatherConfig | None = None
              ) -> dict[str, int]:
    """Users per (non-singleton) kind that can carry `rates` (actions per second); a batching
    kind's users are its batches in flight, not its payments."""
    gathering = gathering or GatherConfig()
    return {k: math.ceil((gathering.batches_per_s(r) if k == BATCH_KIND else r)
                         * CONCURRENCY_S.get(k, 0.5)) + 1 for k, r in rates.items()
            if r > 0 and k not in SINGLETON_KINDS}


def payment_mix(mix: Mapping[str, float], kinds: tuple[str, ...] | set[str]
                ) -> dict[str, float]:
    """A mix for the kinds sent: the month's voluntary payments go to the batching kind when it
    is sent, split evenly with single payments when both are."""
    out = dict(mix)
    sending = [k for k in PAYMENT_KINDS if k in kinds]
    if BATCH_KIND in sending and BATCH_KIND not in mix:
        share = float(out.pop("voluntary_payment", 0.0))
        for kind in sending:
            out[kind] = share / len(sending)
    return out


@dataclass(frozen=True, slots=True)
class Plan:
    step: str
    rates: dict[str, float]  # whole test, per second
    events: dict[str, int]  # due so far
    users: int
    target: float | None = None  # the step's mean actions/s, when its rates vary within it


@dataclass(slots=True)
class Progress:
    """`progress.ndjson` in the output directory: what the runner follows while the test runs."""

    path: Path | None
    lines: list[dict[str, Any]] = field(default_factory=list)

    def write(self, **event: Any) -> None:
        event = {"t": time.time(), **event}
        self.lines.append(event)
        if self.path is not None:
            with self.path.open("a") as handle:
                handle.write(json.dumps(event) + "\n")


@dataclass(slots=True)
class StepsConfig:
    rates: list[float]  # total actions per second, one per step
    seconds: float
    mix: dict[str, float]
    p99_ms: float = 50.0
    error_pct: float = 0.1
    missed_pct: float = 5.0  # at most this share of the offered slots may be missed
    stop_on_fail: bool = True
    settle_s: float = 4.0  # worker reports arrive every 3 s: judge a step this long after it
    gathering: GatherConfig = field(default_factory=GatherConfig)

    def step_rates(self, k: int) -> dict[str, float]:
        return {kind: self.rates[k] * share for kind, share in self.mix.items()}


class SteppedPlan:
    def __init__(self, config: StepsConfig, recorder: Recorder, progress: Progress,
                 singletons: int = 1) -> None:
        self.config = config
        self.recorder = recorder
        self.progress = progress
        self.singletons = singletons  # fixed-count users (the funds' messenger)
        self.judged: dict[int, dict[str, Any]] = {}
        self.failed_at: int | None = None

    def plan(self, t: float) -> Plan | None:
        c = self.config
        k = int(t // c.seconds)
        if k >= 1:
            self._judge(k - 1, t - k * c.seconds)
        if k >= len(c.rates) or (self.failed_at is not None and c.stop_on_fail):
            if k - 1 not in self.judged and k - 1 >= 0 and t - k * c.seconds < c.settle_s:
                return Plan(f"wait-{k - 1}", {}, self._events(k, t), self.singletons)
            return None
        rates = c.step_rates(k)
        users = sum(users_for(rates, c.gathering).values()) + self.singletons
        return Plan(str(k), rates, self._events(k, t), users)

    def _events(self, k: int, t: float) -> dict[str, int]:
        """One of each event per step: a day file a third of the way in, the window halfway."""
        c = self.config
        into = t - k * c.seconds
        out = {}
        for kind, at in (("day_file", 1 / 3), ("window_close", 1 / 2)):
            if kind in c.mix:
                out[kind] = min(k + int(into >= c.seconds * at), len(c.rates))
        return out

    def _judge(self, k: int, since: float) -> None:
        c = self.config
        if k in self.judged or k >= len(c.rates) or since < c.settle_s:
            return
        s = self.recorder.summary(str(k))
        pacing = self.recorder.pacing.get(str(k), {})
        offered = sum(v.get("offered", 0) for v in pacing.values())
        missed = sum(v.get("missed", 0) for v in pacing.values())
        missed_pct = 100 * missed / (offered + missed) if offered + missed else 0.0
        error_pct = 100 * s["failures"] / s["n"] if s["n"] else 0.0
        p99 = s["p99_ms"]
        held = (s["n"] > 0 and p99 is not None and p99 <= c.p99_ms and error_pct < c.error_pct
                and missed_pct <= c.missed_pct)
        verdict = {**s, "step": k, "rate": c.rates[k], "error_pct": error_pct,
                   "missed_pct": missed_pct, "held": held}
        self.judged[k] = verdict
        self.progress.write(event="verdict", **verdict)
        if not held and self.failed_at is None:
            self.failed_at = k

    def finished(self, t: float) -> None:
        reason = "limit" if self.failed_at is not None else "last step"
        self.progress.write(event="end", reason=reason, seconds=t)


@dataclass(slots=True)
class MonthConfig:
    minutes: float
    scale: float  # target workers / simulated workers
    shape: dict[str, Any]
    kinds: tuple[str, ...]
    gathering: GatherConfig = field(default_factory=GatherConfig)

    @property
    def days(self) -> int:
        return int(self.shape["days"])

    @property
    def hour_s(self) -> float:
        return self.minutes * 60 / (self.days * 24)

    def rates(self, day: int, hour: int) -> dict[str, float]:
        """Each kind's rate; the batching kind plays the voluntary payments' (shared evenly with
        single payments when both are sent)."""
        paying = [k for k in PAYMENT_KINDS if k in self.kinds]
        out = {}
        for k in self.kinds:
            if k in EVENT_KINDS:
                continue
            if k in PAYMENT_KINDS:
                out[k] = (self.shape["rates"]["voluntary_payment"][day][hour] * self.scale
                          / len(paying))
            else:
                out[k] = self.shape["rates"][k][day][hour] * self.scale
        return out

    def events(self, day: int, hour: int) -> dict[str, int]:
        """Events due up to and including (day, hour): their per-second rate x 3600 each hour."""
        out = {}
        for kind in EVENT_KINDS & set(self.kinds):
            series = self.shape["rates"][kind]
            total = sum(series[d][h] * 3600 for d in range(day + 1) for h in range(24)
                        if (d, h) <= (day, hour))
            out[kind] = round(total)
        return out

    def needs(self) -> dict[str, int]:
        """Users per kind for its busiest hour (kept all month: rates vary, users need not)."""
        needs: dict[str, int] = {}
        for d in range(self.days):
            for h in range(24):
                for kind, n in users_for(self.rates(d, h), self.gathering).items():
                    needs[kind] = max(needs.get(kind, 0), n)
        return needs


class MonthPlan:
    def __init__(self, config: MonthConfig, progress: Progress, users: int) -> None:
        self.config = config
        self.progress = progress
        self.users = users

    def plan(self, t: float) -> Plan | None:
        c = self.config
        day, hour = divmod(int(t // c.hour_s), 24)
        if day >= c.days:
            return None
        mean = sum(sum(c.rates(day, h).values()) for h in range(24)) / 24
        return Plan(f"day-{day + 1:02d}", c.rates(day, hour), c.events(day, hour), self.users,
                    mean)

    def finished(self, t: float) -> None:
        self.progress.write(event="end", reason="month played", seconds=t)
