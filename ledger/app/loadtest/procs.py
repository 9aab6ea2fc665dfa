"""The processes of a capacity run: started, stopped by their own ids, and their CPU read.

Owns `Service` (a child process with its log file, stopped by SIGTERM then SIGKILL, its process
group included) and `CpuMeter`, which reads CPU seconds (utime + stime, `/proc/<pid>/stat`) for
named groups of processes — the API's server processes, the PostgreSQL backends serving the run's
database, the Locust processes — and the machine's busy time (`/proc/stat`), so a report can say
where the CPU went and how much went to other work on a shared machine. Linux only: elsewhere
the meter reads nothing and the report says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


@dataclass(slots=True)
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, command: Sequence[str], env: Mapping[str, str], cwd: Path,
              log: Path) -> Service:
        handle = log.open("wb")
        process = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=handle,  # noqa: S603
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        handle.close()
        return cls(name, process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace_s: float = 20.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal the process (and its group: uvicorn's workers), wait, then kill."""
        if self.alive():
            _signal_group(self.pid, sig)
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_bytes().replace(b"\0", b"").decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


def _signal_group(pid: int, sig: int) -> None:
    """The process was started in its own session: its group id is its pid."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _stat(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone meanwhile
        return None
    return text.rsplit(")", 1)[1].split()


def descendants(root: int) -> list[int]:
    """`root` and every process below it (from each process's parent id)."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def postgres_backends(database: str) -> list[int]:
    """Backends connected to `database` (their title names it: `postgres: user db ...`)."""
    found = []
    for path in PROC.glob("[0-9]*/cmdline"):
        try:
            cmdline = path.read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"postgres:") and f" {database} ".encode() in cmdline:
            found.append(int(path.parent.name))
    return found


def ticks(pids: Sequence[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            out[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    return out


def machine_busy_ticks() -> int | None:
    try:
        first = (PROC / "stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values[:8]) - idle


@dataclass(slots=True)
class CpuMeter:
    """CPU seconds per group between samples; `groups` name a function giving the pids."""

    groups: dict[str, Callable[[], list[int]]]
    last: dict[str, dict[int, int]] = field(default_factory=dict)
    last_machine: int | None = None
    last_at: float = 0.0

    @property
    def available(self) -> bool:
        return (PROC / "stat").exists()

    def sample(self) -> dict[str, float] | None:
        """Seconds each group used since the previous sample (None on the first, or off
        Linux); `other` is the rest of the machine's busy time; `wall` the interval."""
        if not self.available:
            return None
        now = time.monotonic()
        current = {name: ticks(find()) for name, find in self.groups.items()}
        machine = machine_busy_ticks()
        out = None
        if self.last_at:
            out = {name: TICK_S * sum(t - self.last.get(name, {}).get(pid, 0)
                                      for pid, t in per_pid.items())
                   for name, per_pid in current.items()}
            if machine is not None and self.last_machine is not None:
                out["other"] = max(0.0, TICK_S * (machine - self.last_machine)
                                   - sum(out.values()))
            out["wall"] = now - self.last_at
        self.last, self.last_machine, self.last_at = current, machine, now
        return out
