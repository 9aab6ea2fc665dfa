"""Traffic shapes: a month compressed into minutes, and a stepped ramp for finding limits.

Both are `LoadTestShape`s run by the master (or a lone process). Once a second a shape works out
each kind's rate for the whole test, broadcasts it to the Locust workers (`pacing.Pace`), and asks
Locust for enough users to carry it (users are concurrency; `users_for`). Each step or compressed
day is a `step` of the report: requests are counted under the step they started in.

- `MonthShape` plays `shape.json` (written by `clmtv loadtest prepare`: the simulator's month as
  real per-second rates by day and hour) with the calendar compressed into `minutes`, and scaled
  from the simulated population to `workers`. Paydays and the declaration deadline are its peaks;
  the settlement window closes at the end of the last day.
- `SteppedShape` holds each total rate of `rates` for `seconds`, split by `mix` (default: the
  month's busiest hour), closes a settlement window in the middle of each step, judges each step
  a few seconds after it ends (p99 and errors against the target, and whether the generator kept
  up), and stops after the first step that does not hold, or after the last.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locust import LoadTestShape
from locust.runners import MasterRunner

from loadtests.pacing import EVENT_KINDS, PACE, SINGLETON_KINDS
from loadtests.recorder import Recorder

MESSAGE = "clmtv_pace"
# Seconds of latency the users of a kind absorb before the generator falls behind its rate.
CONCURRENCY_S = {"voluntary_payment": 0.5, "statement_read": 0.5, "declaration_upload": 4.0,
                 "fund_batch": 4.0}
SPAWN_RATE = 200.0


def users_for(rates: Mapping[str, float]) -> dict[str, int]:
    """Users per (non-singleton) kind that can carry `rates` (actions per second)."""
    return {k: math.ceil(r * CONCURRENCY_S.get(k, 0.5)) + 1 for k, r in rates.items()
            if r > 0 and k not in SINGLETON_KINDS}


@dataclass(frozen=True, slots=True)
class Plan:
    step: str
    rates: dict[str, float]  # whole test, per second
    events: dict[str, int]  # due so far
    users: int


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

    def step_rates(self, k: int) -> dict[str, float]:
        return {kind: self.rates[k] * share for kind, share in self.mix.items()}


@dataclass(slots=True)
class MonthConfig:
    minutes: float
    scale: float  # target workers / simulated workers
    shape: dict[str, Any]
    kinds: tuple[str, ...]

    @property
    def days(self) -> int:
        return int(self.shape["days"])

    @property
    def hour_s(self) -> float:
        return self.minutes * 60 / (self.days * 24)

    def rates(self, day: int, hour: int) -> dict[str, float]:
        return {k: self.shape["rates"][k][day][hour] * self.scale for k in self.kinds
                if k not in EVENT_KINDS}

    def events(self, day: int, hour: int) -> dict[str, int]:
        """Events due up to and including (day, hour): their per-second rate x 3600 each hour."""
        out = {}
        for kind in EVENT_KINDS & set(self.kinds):
            series = self.shape["rates"][kind]
            total = sum(series[d][h] * 3600 for d in range(day + 1) for h in range(24)
                        if (d, h) <= (day, hour))
            out[kind] = round(total)
        return out


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


class PacedShape(LoadTestShape):
    """Broadcasts the plan's rates each tick; subclasses say what the plan is at time t."""

    abstract = True
    recorder: Recorder
    progress: Progress
    _last_step: str | None = None
    _started: bool = False

    def plan(self, t: float) -> Plan | None:
        raise NotImplementedError

    def finished(self, t: float) -> None:
        """Called once when the plan ends."""

    def tick(self) -> tuple[int, float] | None:
        t = self.get_run_time()
        plan = self.plan(t)
        if plan is None:
            if self._started:
                self.finished(t)
                self._started = False
            return None
        self._started = True
        if plan.step != self._last_step:
            self.progress.write(event="step", step=plan.step, rates=plan.rates,
                                users=plan.users)
            self._last_step = plan.step
        self.broadcast(plan)
        return plan.users, SPAWN_RATE

    def broadcast(self, plan: Plan) -> None:
        runner = self.runner
        message = {"step": plan.step, "rates": plan.rates, "events": plan.events}
        if isinstance(runner, MasterRunner):
            message["workers"] = max(1, runner.worker_count)
            runner.send_message(MESSAGE, message)
        else:
            on_pace(message)


# The locustfile sets this: what a process does with a pace message (flush the step's counters
# into the recorder, then apply it).
def _apply_locally(message: dict[str, Any]) -> None:
    PACE.apply(message)


on_pace: Callable[[dict[str, Any]], None] = _apply_locally


class SteppedShape(PacedShape):
    abstract = True
    config: StepsConfig
    singletons: int = 1  # fixed-count users (the funds' messenger)

    def __init__(self) -> None:
        super().__init__()
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
        users = sum(users_for(rates).values()) + self.singletons
        return Plan(str(k), rates, self._events(k, t), users)

    def _events(self, k: int, t: float) -> dict[str, int]:
        c = self.config
        if "window_close" not in c.mix:
            return {}
        halfway = t - k * c.seconds >= c.seconds / 2
        return {"window_close": min(k + int(halfway), len(c.rates))}

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


class MonthShape(PacedShape):
    abstract = True
    config: MonthConfig
    singletons: int = 1
    users: int = 1

    def plan(self, t: float) -> Plan | None:
        c = self.config
        index = int(t // c.hour_s)
        day, hour = divmod(index, 24)
        if day >= c.days:
            return None
        return Plan(f"day-{day + 1:02d}", c.rates(day, hour), c.events(day, hour), self.users)

    def finished(self, t: float) -> None:
        self.progress.write(event="end", reason="month played", seconds=t)
