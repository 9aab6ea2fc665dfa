"""`clmtv serve` processes of the run: started, killed with SIGKILL and started again.

Each runs in development mode (the development identity keys; the run's own hub key file) on its
own port, in its own process group, with its output in a log file of the run.
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
READY_TIMEOUT_S = 120.0  # importing the app takes seconds on a busy machine


def server_environment(database_url: str, hub_key_file: Path,
                       extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CLMTV_")}
    env.update({"CLMTV_DATABASE_URL": database_url, "CLMTV_DEV_MODE": "1",
                "CLMTV_HUB_KEY_FILE": str(hub_key_file), "CLMTV_LOG_LEVEL": "warning",
                "PYTHONPATH": str(ROOT)})
    env.update(extra or {})
    return env


class ApiServer:
    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "ledger.cli", "serve", "--port", str(self.port),
             "--no-access-log"],
            cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True)
        handle.close()
        self.starts += 1

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the API on port {self.port} exited "
                                   f"({self.process.returncode}): see {self.log}")
            try:
                if httpx.get(f"{self.base_url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API on port {self.port} did not answer in {timeout_s} s")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        self.kills += 1

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None
