"""A PostgreSQL cluster of the test's own: initdb in a temporary directory, another port, and a
process group that can be killed with SIGKILL (postmaster and every backend at once, as a crash
of the machine would stop them) and started again, which runs crash recovery from the WAL.

`StandbyCluster` is a hot standby of one: a base backup (`pg_basebackup -R`) streaming from it
(issue 18 item 2, ADR 0058: tests/e2e/test_standby_reads.py, bench/bench_standby.py).

The binaries come from PATH (`initdb`) or /usr/lib/postgresql/*/bin. PostgreSQL refuses to run as
root: when this process is root, the cluster runs as the `postgres` user and its directory
belongs to it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

READY_TIMEOUT_S = 60.0


def pg_bindir() -> Path | None:
    """Where initdb and postgres are, or None when PostgreSQL's server is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no postgres user to run "
                           "PostgreSQL as") from None
    return "postgres"


class PgCluster:
    """One cluster: `init()` once, then `start()`, `kill()`, `start()` ... and `remove()`."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL's initdb is not installed")
        self.bindir = bindir
        self.user = _run_as()
        # Under /tmp, not pytest's tmp_path: that is private to root, and the postgres user must
        # reach its data directory.
        self.root = Path(tempfile.mkdtemp(prefix="clmtv-crash-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.settings = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
                         "shared_buffers": "64MB", "max_connections": "200",
                         **(settings or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def url_of(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        if self.user:
            shutil.chown(self.root, self.user)
        subprocess.run([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",  # noqa: S603
                        "-U", "postgres", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, user=self.user)

    def start(self) -> None:
        args = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                "-k", str(self.root), "-c", "listen_addresses=127.0.0.1"]
        for name, value in self.settings.items():
            args += ["-c", f"{name}={value}"]
        log = self.log.open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                        start_new_session=True, user=self.user)
        log.close()
        self.starts += 1
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited: see {self.log}:\n{self.tail()}")
            done = subprocess.run([str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1",  # noqa: S603
                                   "-p", str(self.port), "-U", "postgres", "-d", "postgres"],
                                  check=False)
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not accept connections in {READY_TIMEOUT_S} s")

    def kill(self) -> None:
        """SIGKILL to the postmaster and every backend (one process group), then wait until
        none is left: a new postmaster refuses to start beside an old backend."""
        if self.process is None:
            return
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.process = None
        self.kills += 1

    def stop(self) -> None:
        """A fast shutdown (SIGINT): what an orderly end of the run does."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class StandbyCluster(PgCluster):
    """A hot standby of `primary`: a base backup with `-R` (standby.signal and the primary's
    address in postgresql.auto.conf), streaming from it. The primary needs wal_level=replica
    (PostgreSQL's default) and a free WAL sender; initdb's trust rules admit replication from
    127.0.0.1."""

    def __init__(self, primary: PgCluster) -> None:
        super().__init__({"hot_standby": "on"})
        self.primary = primary

    def init(self) -> None:
        if self.user:
            shutil.chown(self.root, self.user)
        subprocess.run([str(self.bindir / "pg_basebackup"), "-D", str(self.data),  # noqa: S603
                        "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                        "-R", "-X", "stream", "-c", "fast", "--no-sync"],
                       check=True, capture_output=True, user=self.user)

    def stop_immediate(self) -> None:
        """pg_ctl stop -m immediate: every process ends at once, with no shutdown checkpoint
        (as when the standby's machine dies)."""
        subprocess.run([str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data),  # noqa: S603
                        "-m", "immediate", "-w"], check=True, capture_output=True,
                       user=self.user)
        if self.process is not None:
            self.process.wait(timeout=30)
            self.process = None
