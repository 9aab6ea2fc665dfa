"""The Locust entry point: `locust -f loadtests/locustfile.py --host http://127.0.0.1:8000`.

Configured by the environment (the capacity runner `clmtv loadtest` sets it; docker-compose.yml
too), the same in the master and every worker:

- `CLMTV_LT_DATA`: the directory `clmtv loadtest prepare` wrote (required);
- `CLMTV_LT_OUT`: where results go (`acks/`, `latency.json`, `progress.ndjson`; default
  `$CLMTV_LT_DATA/run`);
- `CLMTV_LT_SHAPE`: `steps` (default) or `month`;
- `CLMTV_LT_STEPS`: JSON `{"rates": [50, 100, ...], "seconds": 30, "p99_ms": 50,
  "error_pct": 0.1, "stop_on_fail": true, "mix": {kind: share}}` (mix default: the month's
  busiest hour, over the kinds this build can send);
- `CLMTV_LT_MONTH`: JSON `{"minutes": 10, "workers": 1000000}` (the month of `workers` workers);
- `CLMTV_LT_KINDS`: a comma list to send only some kinds (`channel_batch`, the voluntary
  payments gathered into batches by the channels' servers, is sent only when named here or in
  the mix);
- `CLMTV_LT_BATCH`: JSON `{"size": 20, "window_ms": 20, "resend_share": 0.05}` (the gathering);
- `CLMTV_LT_ALLOW_HOSTS`: host names other than loopback that may be loaded (a compose network).

Users are weighted by the concurrency each kind needs at its busiest (`shapes.users_for`), so
that the shape's user count carries every kind's rate; the rates themselves are paced
(`pacing.py`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from loadtests import shapes
from loadtests.data import Data
from loadtests.gathering import KIND as BATCH_KIND
from loadtests.gathering import GatherConfig
from loadtests.pacing import EVENT_KINDS, PACE
from loadtests.plans import (
    MonthConfig,
    MonthPlan,
    Progress,
    SteppedPlan,
    StepsConfig,
    payment_mix,
    users_for,
)
from loadtests.recorder import AckLog, Recorder
from loadtests.shapes import MESSAGE, PacedShape
from loadtests.users import (
    ChannelGatherer,
    Context,
    Employer,
    FundOps,
    FundUploader,
    StatementReader,
    VoluntaryPayer,
)

# Kinds this build sends, and the user class that sends each.
USERS = {"voluntary_payment": VoluntaryPayer, "statement_read": StatementReader,
         "declaration_upload": Employer, "fund_batch": FundUploader, "fund_message": FundOps,
         "window_close": FundOps, "day_file": FundOps, BATCH_KIND: ChannelGatherer}
OPT_IN = frozenset({BATCH_KIND})  # sent only when named: it sends the same payments again

DATA = Path(os.environ.get("CLMTV_LT_DATA", ""))
if not (DATA / "manifest.json").exists():
    raise SystemExit("CLMTV_LT_DATA must name a directory written by `clmtv loadtest prepare`")
OUT = Path(os.environ.get("CLMTV_LT_OUT", str(DATA / "run")))
OUT.mkdir(parents=True, exist_ok=True)
Context.data = Data(DATA)
Context.acks = AckLog(OUT / "acks")
Context.allowed_hosts = Context.allowed_hosts | frozenset(
    h for h in os.environ.get("CLMTV_LT_ALLOW_HOSTS", "").split(",") if h)
Context.gathering = GatherConfig.from_env()
RECORDER = Recorder()

_only = {k for k in os.environ.get("CLMTV_LT_KINDS", "").split(",") if k}
KINDS = tuple(k for k in USERS if (k in _only if _only else k not in OPT_IN))


def _mix(shape: dict[str, Any], given: dict[str, float] | None) -> dict[str, float]:
    """The stepped ramp's split of a total rate: given, or the month's busiest hour, over the
    kinds sent (renormalised), plus a window closing each step."""
    mix = given or payment_mix(shape["peak"]["mix"], KINDS)
    sendable = {k: float(v) for k, v in mix.items() if k in KINDS and k not in EVENT_KINDS
                and float(v) > 0}
    total = sum(sendable.values())
    if total <= 0:
        raise SystemExit(f"nothing to send: the mix {mix} has no kind among {KINDS}")
    out = {k: v / total for k, v in sendable.items()}
    for event in ("window_close", "day_file"):  # one of each per step
        if event in KINDS:
            out[event] = 0.0
    return out


MODE = os.environ.get("CLMTV_LT_SHAPE", "steps")
PROGRESS = Progress(OUT / "progress.ndjson")
if MODE == "steps":
    _steps = json.loads(os.environ.get("CLMTV_LT_STEPS", '{"rates": [20], "seconds": 20}'))
    if BATCH_KIND in (_steps.get("mix") or {}) and BATCH_KIND not in KINDS and not _only:
        KINDS = (*KINDS, BATCH_KIND)  # named by the mix
    _config = StepsConfig(
        rates=[float(r) for r in _steps["rates"]], seconds=float(_steps["seconds"]),
        mix=_mix(Context.data.shape, _steps.get("mix")),
        p99_ms=float(_steps.get("p99_ms", 50)), error_pct=float(_steps.get("error_pct", 0.1)),
        stop_on_fail=bool(_steps.get("stop_on_fail", True)), gathering=Context.gathering)
    PLANNER: SteppedPlan | MonthPlan = SteppedPlan(_config, RECORDER, PROGRESS)
    _needs = users_for(_config.step_rates(len(_config.rates) - 1), Context.gathering)
elif MODE == "month":
    _month = json.loads(os.environ.get("CLMTV_LT_MONTH", '{"minutes": 10}'))
    _shape = Context.data.shape
    _simulated = float(_shape["population"]["workers"])
    _mconfig = MonthConfig(minutes=float(_month["minutes"]),
                           scale=float(_month.get("workers", _simulated)) / _simulated,
                           shape=_shape, kinds=KINDS, gathering=Context.gathering)
    _needs = _mconfig.needs()
    PLANNER = MonthPlan(_mconfig, PROGRESS, sum(_needs.values()) + 1)
else:
    raise SystemExit(f"CLMTV_LT_SHAPE is steps or month, not {MODE!r}")


class Shape(PacedShape):
    planner = PLANNER


def _weigh(needs: dict[str, int]) -> None:
    """Weights = users each kind needs at its busiest: the dispatcher then gives each kind its
    share of any user count. A kind not sent has no users (abstract)."""
    for kind, cls in USERS.items():
        if cls is not FundOps:
            cls.weight = needs.get(kind, 0)
            cls.abstract = kind not in KINDS or needs.get(kind, 0) == 0
    FundOps.abstract = not ({"fund_message", "window_close", "day_file"} & set(KINDS))


_weigh(_needs)


def _on_pace(environment: Environment, msg: Any, **_: Any) -> None:
    _apply(msg.data)


def _apply(message: dict[str, Any]) -> None:
    RECORDER.add_pacing(PACE.step, PACE.counters())
    PACE.apply(message)


shapes.on_pace = _apply


_ROLE = {"worker": False}


def _init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    _ROLE["worker"] = isinstance(runner, WorkerRunner)
    if isinstance(runner, WorkerRunner):
        runner.register_message(MESSAGE, _on_pace)
    else:
        PROGRESS.write(event="start", mode=MODE, kinds=list(KINDS))


def _request(request_type: str, name: str, response_time: float, exception: Any,
             context: dict[str, Any] | None = None, **_: Any) -> None:
    step = (context or {}).get("step", PACE.step)
    RECORDER.add(str(step), name, float(response_time or 0.0),
                 None if exception is None else str(exception),
                 int((context or {}).get("payments", 0)))


def _report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    RECORDER.add_pacing(PACE.step, PACE.counters())
    data["clmtv"] = RECORDER.drain()


def _worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if "clmtv" in data:
        RECORDER.merge(data["clmtv"])


def _start(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        PACE.index = runner.worker_index


def _quit(exit_code: int, **_: Any) -> None:
    Context.acks.close()
    if not _ROLE["worker"]:  # the master, or a lone local process: it has every report
        RECORDER.add_pacing(PACE.step, PACE.counters())
        (OUT / "latency.json").write_text(json.dumps(RECORDER.to_json()))
        PROGRESS.write(event="quit", exit_code=exit_code)


for _event, _listener in ((events.init, _init), (events.request, _request),
                          (events.report_to_master, _report),
                          (events.worker_report, _worker_report),
                          (events.test_start, _start), (events.quit, _quit)):
    _event.add_listener(_listener)  # type: ignore[no-untyped-call]
