#!/usr/bin/env python3
"""Developer front door: bootstraps `.venv` from `requirements.lock`, then runs a task.

Needs only Python >= 3.11 on the machine. The first run creates `.venv`, installs a pinned `uv` into
it and installs the hash-pinned `requirements.lock`; later runs reuse it until the lock or
`pyproject.toml` change. (Refresh the lock with `python3 dev.py lock`; see docs/adr/0002.)

    python3 dev.py demo            # the API on SQLite with a seeded population
    python3 dev.py test            # the whole suite on SQLite
    python3 dev.py test --pg       # the whole suite on a fresh PostgreSQL database
    python3 dev.py lint            # ruff + mypy --strict + the layering contracts
    python3 dev.py architecture    # rewrite docs/architecture.md from the contracts
    python3 dev.py cli-docs        # rewrite docs/cli.md from the clmtv command tree
    python3 dev.py config-docs     # rewrite the settings table of docs/operations.md
    python3 dev.py bench [NAME]    # list the benchmarks, or run bench/bench_NAME.py
    python3 dev.py mutate [MODULE ...]  # mutation scores of the core modules (docs/testing.md)
    python3 dev.py clmtv ARGS...   # any CLI command inside the environment

`demo` and `clmtv` run in the directory you call them from (file arguments and the default
clmtv.db are found there) and become the program: same PID, so a signal sent to dev.py reaches
the server. The other tasks run in the repository; `test` and `lint` pass SIGTERM, SIGHUP and
SIGINT on to the step that is running.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".clmtv-lock-stamp"
UV_VERSION = "0.13.8"
PG_ADMIN_URL = os.environ.get("CLMTV_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    """Run a step in ROOT and wait; a SIGTERM, SIGHUP or SIGINT sent to dev.py reaches it too,
    so stopping dev.py by its PID stops the step (and a `test --pg` still drops its database)."""
    child = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})})

    def forward(signum: int, _frame: object) -> None:
        if signum == signal.SIGINT and _in_terminal_foreground():
            return  # Ctrl-C: the terminal sent it to the child as well; a second one would
            # make pytest or uvicorn skip their orderly shutdown
        child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGHUP,
                                                       signal.SIGINT)}
    try:
        code = child.wait()
        return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _in_terminal_foreground() -> bool:
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):
        return False  # no terminal: a SIGINT can only have come from kill


def _exec(cmd: list[str], cwd: Path | None = None) -> NoReturn:
    """Become the program (same PID): signals sent to dev.py reach it, nothing is left behind
    when dev.py is stopped, and its exit code is dev.py's. Runs in the caller's directory unless
    `cwd` is given, so the files a command names are where the caller is."""
    sys.stdout.flush()
    sys.stderr.flush()
    if cwd is not None:
        os.chdir(cwd)
    os.execv(cmd[0], cmd)  # noqa: S606 (our own programs in .venv, arguments as given)


def bootstrap() -> None:
    """Create or refresh .venv so that it holds the locked versions (hash-checked)."""
    if STAMP.exists() and STAMP.read_text() == _lock_digest():
        return
    if sys.version_info < (3, 11):
        sys.exit("clmtv needs Python >= 3.11")
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    if not (BIN / "uv").exists():
        subprocess.check_call(
            [str(BIN / "python"), "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"]
        )
    print("dev.py: installing locked dependencies", flush=True)
    uv_pip = [str(BIN / "uv"), "pip", "install", "-q", "--python", str(BIN / "python")]
    subprocess.check_call([*uv_pip, "--require-hashes", "-r", "requirements.lock"], cwd=ROOT)
    subprocess.check_call([*uv_pip, "--no-deps", "-e", "."], cwd=ROOT)
    STAMP.write_text(_lock_digest())


def task_lock(_: list[str]) -> int:
    """Re-resolve requirements.lock from pyproject.toml (hashes, no index URLs)."""
    return _exec([str(BIN / "uv"), "pip", "compile", "pyproject.toml", "--all-extras",
                 "--generate-hashes", "--no-emit-index-url", "--no-header",
                 "--python-version", "3.11", "-o", "requirements.lock"], cwd=ROOT)


def _fresh_pg_database() -> tuple[str, str]:
    """Create an empty database for one test run; returns (asyncpg URL, name)."""
    name = f"clmtv_test_{uuid.uuid4().hex[:12]}"
    code = (
        "import asyncio, asyncpg, sys\n"
        "async def main():\n"
        "    c = await asyncpg.connect(sys.argv[1].replace('postgresql+asyncpg', 'postgresql'))\n"
        "    await c.execute(f'CREATE DATABASE {sys.argv[2]}')\n"
        "    await c.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.check_call([str(BIN / "python"), "-c", code, PG_ADMIN_URL, name])
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", name


def _drop_pg_database(name: str) -> None:
    code = (
        "import asyncio, asyncpg, sys\n"
        "async def main():\n"
        "    c = await asyncpg.connect(sys.argv[1])\n"
        "    await c.execute(f'DROP DATABASE IF EXISTS {sys.argv[2]} WITH (FORCE)')\n"
        "    await c.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.call([str(BIN / "python"), "-c", code, PG_ADMIN_URL, name])


def task_test(args: list[str]) -> int:
    env: dict[str, str] = {}
    db_name = None
    if "--pg" in args:
        args = [a for a in args if a != "--pg"]
        url, db_name = _fresh_pg_database()
        env["CLMTV_TEST_DATABASE_URL"] = url
        print(f"dev.py: testing on PostgreSQL database {db_name}", flush=True)
    else:
        env["CLMTV_TEST_DATABASE_URL"] = "sqlite"
        print("dev.py: testing on SQLite", flush=True)
    try:
        return _run([str(BIN / "python"), "-m", "pytest", "-q", *args], env)
    finally:
        if db_name:
            _drop_pg_database(db_name)


def task_lint(_: list[str]) -> int:
    ruff = _run([str(BIN / "ruff"), "check", "."])
    mypy = _run([str(BIN / "mypy")])
    contracts = _run([str(BIN / "lint-imports")])  # the layering contracts (.importlinter)
    return ruff or mypy or contracts


def task_bench(args: list[str]) -> int:
    """Without a name, list the benchmarks (docs/benchmarks.md says what each measures)."""
    names = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    if not args or args[0] not in names:
        print("benchmarks (python3 dev.py bench NAME [--help]):\n  " + "\n  ".join(names))
        return 0 if not args else 2
    return _exec([str(BIN / "python"), "-m", f"bench.bench_{args[0]}", *args[1:]], cwd=ROOT)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    task, args = sys.argv[1], sys.argv[2:]
    bootstrap()
    if task == "test":
        return task_test(args)
    if task == "lint":
        return task_lint(args)
    if task == "mutate":
        return _run([str(BIN / "python"), "-m", "tools.mutation", *args])
    if task == "demo":
        return _exec([str(BIN / "clmtv"), "demo", *args])
    if task == "clmtv":
        return _exec([str(BIN / "clmtv"), *args])
    if task == "lock":
        return task_lock(args)
    if task == "bootstrap":
        return 0
    if task == "architecture":
        return _exec([str(BIN / "python"), "-m", "tools.architecture", *args], cwd=ROOT)
    if task == "cli-docs":
        return _exec([str(BIN / "python"), "-m", "tools.cli_docs", *args], cwd=ROOT)
    if task == "config-docs":
        return _exec([str(BIN / "python"), "-m", "tools.config_docs", *args], cwd=ROOT)
    if task == "bench":
        return task_bench(args)
    print(f"unknown task {task!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
