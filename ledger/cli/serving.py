"""`clmtv serve` and `clmtv demo`: their options, the port check made before anything is seeded
or served, the server itself and what the demo prints. (Whether the settings may serve at all is
`Settings.require_servable`, ledger/config.py.)"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
import tempfile
from pathlib import Path

from ledger.config import Settings

WORKER_STARTUP_S = 120  # seconds a server process may take to start (uvicorn health check)

def add_server_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port to listen on (default: %(default)s)")
    parser.add_argument("--no-access-log", action="store_true", help="do not log each request")


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, or None when it can. Checked before the
    demo seeds anything: a busy port used to surface only after seeding, next to the URL of the
    other server."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}"
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is already in use (another server?); "
                        f"choose another with --port, e.g. --port {port + 1}")
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def refuse_busy_port(args: argparse.Namespace) -> bool:
    """Prints the reason and returns True when the server could not start."""
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"clmtv: {problem}", file=sys.stderr)
    return problem is not None


def serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from ledger.api.observability import log_config

    access = not args.no_access_log
    common = {"host": args.host, "port": args.port, "access_log": access,
              "log_level": settings.log_level,
              "log_config": log_config(settings.log_level, settings.log_format == "json", access)}
    if getattr(args, "workers", 1) > 1:
        multiprocess_metrics(settings)
        # A worker process imports the whole app before it answers uvicorn's health check; on a
        # busy machine that takes longer than uvicorn's 5 s, and it would kill and restart them
        # forever.
        uvicorn.run("ledger.api.main:app", workers=args.workers,
                    timeout_worker_healthcheck=WORKER_STARTUP_S, **common)
        return
    from ledger.api.app import create_app

    uvicorn.run(create_app(settings), **common)


def multiprocess_metrics(settings: Settings) -> Path:
    """Several server processes: each writes its Prometheus values to files in one directory
    and a scrape sums them (ledger/metrics.py). Set before any worker imports prometheus-client
    (they inherit the environment); emptied first, so a restart does not count the last run's
    requests again. A worker that dies leaves its counters in the sum until the next start."""
    folder = Path(settings.metrics_dir) if settings.metrics_dir else Path(
        tempfile.mkdtemp(prefix="clmtv-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def demo_greeting(args: argparse.Namespace) -> str:
    """The demo's tokens, and where to use them only when the demo goes on to serve."""
    from ledger.demo_data import DEMO_TOKENS, DEMO_WORKER

    tokens = ", ".join(f"{k}={v}" for k, v in DEMO_TOKENS.items())
    if args.no_serve:
        return (f"\nSeeded; nothing is served. Tokens: {tokens}\n"
                "Serve it: python3 dev.py clmtv serve [--port PORT]\n")
    base = f"http://{args.host}:{args.port}"
    return (
        f"\nAPI docs:  {base}/docs\n"
        f"Statement: curl -H 'Authorization: Bearer {DEMO_TOKENS['worker']}' "
        f"{base}/v1/workers/{DEMO_WORKER}/statement\n"
        f"Tokens:    {tokens}\n"
    )
