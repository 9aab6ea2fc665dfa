#!/usr/bin/env python3
"""Developer front door: bootstraps `.venv` from `uv.lock`, then runs a task.

Needs only Python >= 3.11 on the machine. The first run creates `.venv`, installs a pinned `uv` into
it and installs the hash-pinned `requirements.lock`; later runs reuse it until the lock or
`pyproject.toml` change. (Refresh the lock with `python3 dev.py lock`; see docs/adr/0002.)

    python3 dev.py demo            # the API on SQLite with a seeded population
    python3 dev.py test            # the whole suite on SQLite
    python3 dev.py test --pg       # the whole suite on a fresh PostgreSQL database
    python3 dev.py lint            # ruff + mypy --strict + the layering contracts
    python3 dev.py architecture    # rewrite docs/architecture.md from the contracts
    python3 dev.py cli-docs        # rewrite docs/cli.md from the clmtv command tree
    python3 dev.py bench [NAME]    # list the benchmarks, or run bench/bench_NAME.py
    python3 dev.py mutate [MODULE ...]  # mutation scores of the core modules (docs/testing.md)
    python3 dev.py clmtv ARGS...   # any CLI command inside the environment
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

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
    return subprocess.call(cmd, cwd=ROOT, env={**os.environ, **(env or {})})


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
    return _run([str(BIN / "uv"), "pip", "compile", "pyproject.toml", "--all-extras",
                 "--generate-hashes", "--no-emit-index-url", "--no-header",
                 "--python-version", "3.11", "-o", "requirements.lock"])


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
    return _run([str(BIN / "python"), "-m", f"bench.bench_{args[0]}", *args[1:]])


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
        return _run([str(BIN / "clmtv"), "demo", *args])
    if task == "clmtv":
        return _run([str(BIN / "clmtv"), *args])
    if task == "lock":
        return task_lock(args)
    if task == "bootstrap":
        return 0
    if task == "architecture":
        return _run([str(BIN / "python"), "-m", "tools.architecture", *args])
    if task == "cli-docs":
        return _run([str(BIN / "python"), "-m", "tools.cli_docs", *args])
    if task == "bench":
        return task_bench(args)
    print(f"unknown task {task!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
