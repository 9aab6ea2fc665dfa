"""The capacity runner behind `clmtv loadtest`: one bounded run, from an empty database to a report.

Owns `run`:

1. a fresh PostgreSQL database (`CLMTV_PG_ADMIN_URL`'s server), migrated;
2. the population simulated, sized to the run (enough files, batches and exits for every step)
   and registered in bulk (`prepare.py`), before any load;
3. the API (`clmtv serve --workers N`) on that database, on a free loopback port;
4. Locust headless with its own master and worker processes and the stepped shape (or the
   compressed month), followed through `progress.ndjson`: a line per step, the CPU of each group
   of processes sampled at each step, and a hard stop at the time bound;
5. the audit (`audit.py`), then the report (`report.py`): HTML with inline SVG, CSV, JSON;
6. everything it started stopped by process id, and the database dropped (unless kept).

Exit codes (`EXIT_*`): 0 the run finished, the audit is clean and a step held the target; 1 the
audit found a problem; 2 bad options or environment, nothing run; 3 no step held the target (the
audit is clean); 4 the run broke (the API or Locust failed, or the time bound cut it short).
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import math
import os
import secrets
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg

from ledger.app.loadtest.audit import Audit, audit
from ledger.app.loadtest.prepare import Prepared, PrepareOptions, month_index, prepare, simulate
from ledger.app.loadtest.procs import CpuMeter, Service, descendants, postgres_backends
from ledger.app.loadtest.traffic import (
    BATCH_KIND,
    MIX_KINDS,
    RUN_KINDS,
    month_counts,
    month_shape,
    payment_mix,
)
from ledger.config import Settings
from ledger.limits import PAYMENT_BATCH_MAX

EXIT_OK, EXIT_AUDIT, EXIT_USAGE, EXIT_NO_STEP_HELD, EXIT_BROKEN = 0, 1, 2, 3, 4
ADMIN_URL = os.environ.get("CLMTV_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
READY_TIMEOUT_S = 240.0  # API processes import the whole app: slow on a busy shared machine
LOCUST_START_S = 120.0
SIZE_MARGIN = 1.3  # data for 30% more than the steps ask, so no process runs dry

Say = Callable[[str], None]


class UsageError(Exception):
    """Options or environment that make a run impossible (exit 2)."""


@dataclass(slots=True)
class RunOptions:
    out: Path
    rates: list[float] = field(default_factory=lambda: [20.0, 40.0, 60.0, 80.0, 100.0])
    step_seconds: float = 30.0
    p99_ms: float = 50.0
    error_pct: float = 0.1
    stop_on_fail: bool = True
    time_bound_s: float = 600.0
    api_processes: int = 2
    locust_workers: int = 2  # 0: one local Locust process, no master
    db_pool_size: int = 10
    mix: dict[str, float] | None = None
    kinds: list[str] | None = None
    month_minutes: float | None = None  # play the compressed month instead of steps
    month_workers: int | None = None
    keep_db: bool = False
    plant_discrepancy: bool = False  # the audit alters one acknowledged amount: must be caught
    batch_size: int = 20  # channel_batch: payments that close a channel's window early
    batch_window_ms: float = 20.0  # channel_batch: how long a window gathers taps
    batch_resend_share: float = 0.05  # channel_batch: batches sent again whole
    population: PrepareOptions = field(default_factory=PrepareOptions)

    def check(self) -> None:
        if not self.rates or any(r <= 0 for r in self.rates):
            raise UsageError("step rates are positive requests per second")
        if self.step_seconds < 5:
            raise UsageError("a step lasts at least 5 s (worker reports come every 3 s)")
        if self.api_processes < 1 or self.locust_workers < 0:
            raise UsageError("--api-processes >= 1, --locust-workers >= 0")
        if self.time_bound_s <= 0:
            raise UsageError("--time-bound must be positive")
        if not 1 <= self.batch_size <= PAYMENT_BATCH_MAX:
            raise UsageError(f"--batch-size is 1 to {PAYMENT_BATCH_MAX} (the ledger's most "
                             "payments per batch)")
        if not 0 < self.batch_window_ms <= 10_000:
            raise UsageError("--batch-window-ms is more than 0 and at most 10,000")
        if not 0 <= self.batch_resend_share <= 1:
            raise UsageError("--batch-resend is a share between 0 and 1")
        if self.month_minutes is not None and self.month_minutes * 60 > self.time_bound_s:
            raise UsageError(f"a month of {self.month_minutes} min does not fit the time bound "
                             f"of {self.time_bound_s:.0f} s")

    @property
    def steps_in_bound(self) -> list[float]:
        """The steps that fit the time bound (each judged a few seconds after it ends)."""
        fit = max(1, int((self.time_bound_s - 10) // self.step_seconds))
        return self.rates[:fit]


@dataclass(slots=True)
class RunResult:
    exit_code: int
    summary: dict[str, Any]
    report: Path | None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _locustfile() -> Path:
    spec = importlib.util.find_spec("loadtests")
    if spec is None or spec.origin is None:
        raise UsageError("the loadtests package is not installed")
    return Path(spec.origin).parent / "locustfile.py"


def _check_environment() -> None:
    if importlib.util.find_spec("locust") is None:
        raise UsageError("Locust is not installed (the `load` extra: pip install clmtv[load])")


def _server(url: str) -> str:
    return url.rsplit("/", 1)[0]


async def _create_database(name: str) -> None:
    try:
        admin = await asyncpg.connect(ADMIN_URL)
    except (OSError, asyncpg.PostgresError) as exc:
        raise UsageError(f"cannot reach PostgreSQL at {ADMIN_URL.split('@')[-1]}: {exc}"
                         ) from None
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()


async def _drop_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


def _sizes(options: RunOptions, mix: dict[str, float], shape: dict[str, Any]
           ) -> dict[str, int]:
    """Files, batches, exits (messages: 3 per flow), payments and past days the run can ask
    for; the month's counts scaled to the workers it plays, or each step's rate x its time."""
    if options.month_minutes is not None:
        # Real rates, a compressed calendar: the run sends this share of the month's volume.
        played = options.month_minutes * 60 / (int(shape["days"]) * 86_400)
        scale = (options.month_workers or shape["population"]["workers"]) / max(
            1, shape["population"]["workers"])
        monthly = {k: math.ceil(v * scale * played * SIZE_MARGIN) + 10
                   for k, v in shape["monthly"].items()}
        return {"uploads": monthly["declaration_upload"], "batches": monthly["fund_batch"],
                "exits": max(options.population.exits, monthly["fund_message"] // 3),
                "payments": monthly["voluntary_payment"], "days": int(shape["days"]) + 1}
    volume = sum(options.steps_in_bound) * options.step_seconds * SIZE_MARGIN
    return {"uploads": math.ceil(volume * mix.get("declaration_upload", 0)) + 10,
            "batches": math.ceil(volume * mix.get("fund_batch", 0)) + 10,
            "exits": math.ceil(volume * mix.get("fund_message", 0) / 3) + 10,
            "payments": math.ceil(volume * (mix.get("voluntary_payment", 0)
                                            + mix.get(BATCH_KIND, 0))),
            "days": len(options.steps_in_bound) + 1}


def sent_kinds(options: RunOptions) -> list[str]:
    """The kinds sent: those named, else all but the batching kind (unless the mix names it)."""
    if options.kinds:
        return [k for k in RUN_KINDS if k in options.kinds]
    named = {BATCH_KIND} & set(options.mix or {})
    return [k for k in RUN_KINDS if k != BATCH_KIND or k in named]


def _sendable_mix(options: RunOptions, peak_mix: dict[str, float]) -> dict[str, float]:
    kinds = set(sent_kinds(options)) & set(MIX_KINDS)
    mix = options.mix or payment_mix(peak_mix, sorted(kinds))
    chosen = {k: v for k, v in mix.items() if k in kinds and v > 0}
    total = sum(chosen.values())
    if total <= 0:
        raise UsageError(f"nothing to send: the mix {mix} has none of {sorted(kinds)}")
    return {k: v / total for k, v in chosen.items()}


def run_settings(url: str, out: Path) -> Settings:
    """The run's own identity keys (fresh, never the development ones) and hub key file: the
    preparation step and the API must hash and seal member numbers alike."""
    return Settings(database_url=url, hub_key_file=str(out / "hub-key.jwk"),
                    pii_hmac_key=secrets.token_urlsafe(48),
                    pii_encryption_key=base64.b64encode(secrets.token_bytes(32)).decode())


def api_environment(settings: Settings, pool_size: int) -> dict[str, str]:
    """The API's environment: ours without any other CLMTV_ variable (a server refuses one it
    does not know), and the run's settings."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CLMTV_")}
    return {**env, "CLMTV_DATABASE_URL": settings.database_url,
            "CLMTV_HUB_KEY_FILE": settings.hub_key_file,
            "CLMTV_PII_HMAC_KEY": settings.pii_hmac_key,
            "CLMTV_PII_ENCRYPTION_KEY": settings.pii_encryption_key,
            "CLMTV_DB_POOL_SIZE": str(pool_size),
            # A load test measures the capacity behind the per-principal rate limit, which
            # would otherwise cap each sending token at its rate (ADR 0053).
            "CLMTV_RATE_LIMIT_PER_S": "0"}


async def _prepare(options: RunOptions, settings: Settings, data: Path, say: Say
                   ) -> tuple[Prepared, dict[str, Any], dict[str, float]]:
    from ledger.composition import build_services
    from ledger.db.engine import open_database
    from ledger.db.migrate import upgrade
    from ledger.services.signing import HubSigner

    population = options.population
    say(f"simulating {population.workers:,} workers ({population.policy}, "
        f"{population.years} years, seed {population.seed})")
    outcome = simulate(population)
    index = month_index(outcome, population.month)
    shape = month_shape(month_counts(outcome, index, population.assumptions),
                        population.assumptions).to_json()
    mix = _sendable_mix(options, shape["peak"]["mix"])
    sizes = _sizes(options, mix, shape)
    population = replace(population, min_uploads=sizes["uploads"],
                         min_batches=sizes["batches"],
                         exits=max(population.exits, sizes["exits"]),
                         day_files=max(population.day_files, sizes["days"]))
    db = open_database(settings.database_url, 4)
    try:
        await upgrade(db)
        signer = HubSigner.from_file(Path(settings.hub_key_file), create=True)
        services = build_services(settings, db=db, signer=signer)
        services.committer.start()
        try:
            prepared = await prepare(services, population, data, say, outcome)
            if prepared.payments_available < sizes["payments"]:
                say(f"warning: the steps may ask for {sizes['payments']:,} payments, the "
                    f"population has {prepared.payments_available:,} (payer, month) pairs: "
                    "give more --workers, or the payers will run dry")
        finally:
            await services.committer.stop()
    finally:
        await db.dispose()
    return prepared, shape, mix


def _wait_ready(base: str, api: Service, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not api.alive():
            raise RuntimeError(f"the API exited ({api.process.returncode}):\n{api.tail()}")
        try:
            with urllib.request.urlopen(f"{base}/v1/ready", timeout=2) as response:  # noqa: S310 - our own loopback server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the API was not ready within {timeout_s:.0f} s:\n{api.tail()}")


@dataclass(slots=True)
class Followed:
    events: list[dict[str, Any]] = field(default_factory=list)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # step -> group -> seconds
    bound_hit: bool = False
    master_code: int | None = None


def _follow(progress: Path, master: Service, meter: CpuMeter, bound_s: float, say: Say
            ) -> Followed:
    """Read progress lines as they come; sample the CPU at each step; stop at the bound."""
    followed = Followed()
    started = time.monotonic()
    offset = 0
    step: str | None = None
    meter.sample()
    while True:
        if progress.exists():
            with progress.open() as handle:
                handle.seek(offset)
                chunk = handle.read()
                offset = handle.tell()
            for line in chunk.splitlines():
                if not line.strip():
                    continue
                event = json.loads(line)
                followed.events.append(event)
                if event["event"] in ("step", "end"):
                    used = meter.sample()
                    if step is not None and used is not None:
                        followed.cpu[step] = used
                    step = event.get("step") if event["event"] == "step" else None
                _say_event(event, say)
        if not master.alive():
            followed.master_code = master.process.returncode
            break
        if time.monotonic() - started > bound_s and not followed.bound_hit:
            say(f"time bound of {bound_s:.0f} s reached: stopping Locust")
            followed.bound_hit = True
            master.stop(grace_s=45)  # SIGTERM: Locust quits cleanly and writes its results
        time.sleep(0.5)
    if step is not None:
        used = meter.sample()
        if used is not None:
            followed.cpu[step] = used
    return followed


def _say_event(event: dict[str, Any], say: Say) -> None:
    kind = event["event"]
    if kind == "step":
        total = event.get("target", sum(event["rates"].values()))
        say(f"step {event['step']}: {total:,.2f} actions/s asked, {event['users']} users")
    elif kind == "verdict":
        p99 = event.get("p99_ms")
        say(f"  step {event['step']} {'held' if event['held'] else 'did not hold'}: "
            f"{event['n']:,} requests, p99 {p99 and round(p99, 1)} ms, "
            f"errors {event['error_pct']:.3f}%, missed {event['missed_pct']:.1f}%")
    elif kind == "end":
        say(f"Locust: {event['reason']} after {event['seconds']:.0f} s")


def _locust_env(options: RunOptions, data: Path, out: Path, mix: dict[str, float]
                ) -> dict[str, str]:
    env = {**os.environ, "CLMTV_LT_DATA": str(data), "CLMTV_LT_OUT": str(out),
           "PYTHONUNBUFFERED": "1",
           "CLMTV_LT_BATCH": json.dumps({"size": options.batch_size,
                                         "window_ms": options.batch_window_ms,
                                         "resend_share": options.batch_resend_share})}
    if options.kinds or BATCH_KIND in mix:
        env["CLMTV_LT_KINDS"] = ",".join(sent_kinds(options))
    if options.month_minutes is not None:
        env["CLMTV_LT_SHAPE"] = "month"
        month: dict[str, Any] = {"minutes": options.month_minutes}
        if options.month_workers is not None:
            month["workers"] = options.month_workers
        env["CLMTV_LT_MONTH"] = json.dumps(month)
    else:
        env["CLMTV_LT_SHAPE"] = "steps"
        env["CLMTV_LT_STEPS"] = json.dumps({
            "rates": options.steps_in_bound, "seconds": options.step_seconds, "mix": mix,
            "p99_ms": options.p99_ms, "error_pct": options.error_pct,
            "stop_on_fail": options.stop_on_fail})
    return env


def _start_locust(options: RunOptions, base: str, env: dict[str, str], out: Path
                  ) -> tuple[Service, list[Service]]:
    python = sys.executable
    common = [python, "-m", "locust", "-f", str(_locustfile())]
    master_args = [*common, "--headless", "--host", base, "--only-summary",
                   "--stop-timeout", "10", "--exit-code-on-error", "0"]
    if options.locust_workers == 0:
        return Service.start("locust", master_args, env, out, out / "locust.log"), []
    port = _free_port()
    master = Service.start("locust master", [
        *master_args, "--master", "--expect-workers", str(options.locust_workers),
        "--expect-workers-max-wait", str(int(LOCUST_START_S)),
        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)],
        env, out, out / "locust-master.log")
    workers = [Service.start(f"locust worker {n}", [
        *common, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
        env, out, out / f"locust-worker-{n}.log") for n in range(options.locust_workers)]
    return master, workers


def run(options: RunOptions, command: str, say: Say = print) -> RunResult:
    """One capacity run; never leaves a process or (unless kept) a database behind."""
    options.check()
    _check_environment()
    started = time.time()
    out = options.out
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty: give a new --out directory")
    out.mkdir(parents=True, exist_ok=True)
    name = f"clmtv_loadtest_{secrets.token_hex(4)}"
    url = f"{_server(ADMIN_URL).replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    asyncio.run(_create_database(name))
    say(f"database {name} created")
    api: Service | None = None
    master: Service | None = None
    workers: list[Service] = []
    broken: str | None = None
    followed = Followed()
    audited: Audit | None = None
    prepared: Prepared | None = None
    shape: dict[str, Any] = {}
    mix: dict[str, float] = {}
    settings = run_settings(url, out)
    try:
        prepared, shape, mix = asyncio.run(_prepare(options, settings, out / "data", say))
        say(f"prepared {prepared.workers:,} workers, {prepared.uploads:,} uploads "
            f"({prepared.upload_rows:,} rows), {prepared.exits:,} exits in "
            f"{prepared.seconds:.1f} s")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = api_environment(settings, options.db_pool_size)
        api = Service.start("api", [sys.executable, "-m", "ledger.cli", "serve", "--port",
                                    str(port), "--workers", str(options.api_processes),
                                    "--no-access-log"], env, out, out / "api.log")
        say(f"API starting on {base} ({options.api_processes} processes)")
        _wait_ready(base, api, READY_TIMEOUT_S)
        api_pid = api.pid
        master, workers = _start_locust(options, base, _locust_env(options, out / "data", out,
                                                                   mix), out)
        locust_pids = [master.pid, *(w.pid for w in workers)]
        meter = CpuMeter({
            "api": lambda: descendants(api_pid),
            "database": lambda: postgres_backends(name),
            "load generator": lambda: [p for pid in locust_pids for p in descendants(pid)],
        })
        say(f"Locust: {options.locust_workers or 'one local'} worker process(es)")
        followed = _follow(out / "progress.ndjson", master, meter,
                           options.time_bound_s + LOCUST_START_S, say)
        for worker in workers:
            worker.stop(grace_s=20)
        if followed.bound_hit:
            broken = "the time bound cut the run short"
        elif not any(e["event"] == "end" for e in followed.events):
            broken = f"Locust stopped without finishing:\n{master.tail()}"
        api.stop(grace_s=30)
        say("auditing the ledger")
        audited = asyncio.run(_audit(settings, out / "acks", options.plant_discrepancy))
    except RuntimeError as exc:
        broken = str(exc)
    except Exception as exc:  # a bug, or the database went away: the run is broken, say why
        import traceback

        (out / "error.txt").write_text(traceback.format_exc())
        broken = f"{type(exc).__name__}: {exc} (traceback in {out / 'error.txt'})"
    finally:
        for service in [*workers, *([master] if master else []), *([api] if api else [])]:
            service.stop(grace_s=10)
        if not options.keep_db:
            asyncio.run(_drop_database(name))
    from ledger.app.loadtest.report import write_report

    summary, report = write_report(out, options, command, prepared, shape, mix, followed,
                                   audited, broken, started, name if options.keep_db else None)
    code = _exit_code(summary, audited, broken)
    summary["exit_code"] = code
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return RunResult(code, summary, report)


async def _audit(settings: Settings, acks: Path, plant: bool) -> Audit:
    """The audit on the run's database, with the hub's own view of each channel's day."""
    from datetime import date

    from ledger.composition import build_services
    from ledger.db.engine import open_database
    from ledger.services.signing import HubSigner

    db = open_database(settings.database_url, 2)
    services = build_services(settings, db=db,
                              signer=HubSigner.from_file(Path(settings.hub_key_file)))

    async def hub_day(channel: str, day: str) -> list[Any]:
        return await services.channel_days.hub_entries(
            services.channels.registry.get(channel), date.fromisoformat(day))

    try:
        return await audit(db, acks, hub_day, plant)
    finally:
        await db.dispose()


def _exit_code(summary: dict[str, Any], audited: Audit | None, broken: str | None) -> int:
    if audited is not None and not audited.ok:
        return EXIT_AUDIT
    if broken is not None or audited is None:
        return EXIT_BROKEN
    if summary.get("mode") == "steps" and summary.get("capacity", {}).get("step") is None:
        return EXIT_NO_STEP_HELD
    return EXIT_OK

