"""`clmtv serve` processes of the run: started, killed with SIGKILL and started again.

Each runs in development mode (the development identity keys; the run's own hub key file) on its
own port, in its own process group (session), with its output in a log file of the run. They are
forked by one factory process that imported the app once (`zygote.py`): a restart then takes
the server's own start-up, not seconds of imports.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0  # a server's start on a busy machine
STOP_TIMEOUT_S = 30.0


def server_environment(database_url: str, hub_key_file: Path,
                       extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CLMTV_")}
    env.update({"CLMTV_DATABASE_URL": database_url, "CLMTV_DEV_MODE": "1",
                "CLMTV_HUB_KEY_FILE": str(hub_key_file), "CLMTV_LOG_LEVEL": "warning",
                "PYTHONPATH": str(ROOT)})
    env.update(extra or {})
    return env


class Zygote:
    """The factory process; `fork` asks it for a new server process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.crashtest.zygote"], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the server factory exited")
        return line.strip()

    def wait_ready(self) -> None:
        if self._line() != "ready":
            raise RuntimeError("the server factory did not start")

    def fork(self, port: int, log: Path) -> int:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{port} {log}\n")
        self.process.stdin.flush()
        return int(self._line())

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class ApiServer:
    def __init__(self, port: int, zygote: Zygote, log: Path) -> None:
        self.port = port
        self.zygote = zygote
        self.log = log
        self.pid: int | None = None
        self.ready = False  # answered its health check since it was last started
        self.starts = 0
        self.kills = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.ready = False
        self.pid = self.zygote.fork(self.port, self.log)
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.pid is not None and _exists(self.pid)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"the API on port {self.port} exited:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base_url}/v1/health", timeout=2).status_code == 200:
                    self.ready = True
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the API on port {self.port} did not answer in {timeout_s} s")

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no log at {self.log})"

    def _signal_and_wait(self, signum: int, timeout_s: float) -> bool:
        assert self.pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)
        deadline = time.monotonic() + timeout_s
        while _exists(self.pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def kill(self) -> None:
        self.ready = False
        if self.pid is None:
            return
        self._signal_and_wait(signal.SIGKILL, STOP_TIMEOUT_S)
        self.pid = None
        self.kills += 1

    def stop(self) -> None:
        self.ready = False
        if self.pid is None:
            return
        if not self._signal_and_wait(signal.SIGTERM, STOP_TIMEOUT_S):
            self._signal_and_wait(signal.SIGKILL, STOP_TIMEOUT_S)
        self.pid = None
