"""Traffic shapes as Locust `LoadTestShape`s: a month compressed into minutes (`MonthShape`) and
a stepped ramp for finding limits (`SteppedShape`). What they ask for is `plans.py`'s; here is
only the Locust half: once a second the shape (run by the master, or a lone process) asks its
plan for the current step, broadcasts each kind's rate to the Locust workers (`pacing.Pace`),
notes each new step in `progress.ndjson`, and asks Locust for the plan's users.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from locust import LoadTestShape
from locust.runners import MasterRunner

from loadtests.pacing import PACE
from loadtests.plans import Plan, Progress

MESSAGE = "clmtv_pace"
SPAWN_RATE = 200.0


class Planner(Protocol):
    progress: Progress

    def plan(self, t: float) -> Plan | None: ...

    def finished(self, t: float) -> None: ...


def _apply_locally(message: dict[str, Any]) -> None:
    PACE.apply(message)


# What a lone process does with its own broadcast; the locustfile sets it (it flushes the
# step's pacing counters into the recorder first).
on_pace: Callable[[dict[str, Any]], None] = _apply_locally


class PacedShape(LoadTestShape):
    abstract = True
    planner: Planner
    _last_step: str | None = None
    _started: bool = False

    def tick(self) -> tuple[int, float] | None:
        t = float(self.get_run_time())  # type: ignore[no-untyped-call]
        plan = self.planner.plan(t)
        if plan is None:
            if self._started:
                self.planner.finished(t)
                self._started = False
            return None
        self._started = True
        if plan.step != self._last_step:
            target = sum(plan.rates.values()) if plan.target is None else plan.target
            self.planner.progress.write(event="step", step=plan.step, rates=plan.rates,
                                        users=plan.users, target=target)
            self._last_step = plan.step
        message: dict[str, Any] = {"step": plan.step, "rates": plan.rates,
                                   "events": plan.events}
        runner = self.runner
        if isinstance(runner, MasterRunner):
            message["workers"] = max(1, runner.worker_count)
            runner.send_message(MESSAGE, message)
        else:
            on_pace(message)
        return plan.users, SPAWN_RATE
