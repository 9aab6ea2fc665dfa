"""The front door behaves (issue 22 item 5): a busy port is found before the demo seeds anything,
signals sent to `dev.py` reach the program it runs, `demo --no-serve` names no URL, `db upgrade`
says what it applied, `simulate` does not overwrite a folder it did not write, counts read
`1 row` / `2 rows`, piped output keeps each sentence on one line, and the key command given by
the refusal to serve with the development keys (and by the README) makes a key."""

from __future__ import annotations

import argparse
import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger import cli
from ledger.cli import serving
from ledger.config import KEY_HOWTO, get_settings
from ledger.db.migrate import MIGRATIONS
from ledger.text import plural
from simulator import cli as simulator_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path}/front.db"
    monkeypatch.setenv("CLMTV_DATABASE_URL", url)
    monkeypatch.setenv("CLMTV_HUB_KEY_FILE", str(tmp_path / "hub.jwk"))
    monkeypatch.setenv("CLMTV_DEV_MODE", "1")  # serve with the development keys
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        yield other_server.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_busy_port_is_refused_before_the_demo_seeds(
    sqlite_url: str, busy_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["demo", "--port", str(busy_port)]) == 2
    out, err = capsys.readouterr()
    assert f"port {busy_port} on 127.0.0.1 is already in use" in err and "--port" in err
    assert "seeding" not in out and "http://" not in out  # no URL of the other server
    assert not (tmp_path / "front.db").exists()  # nothing was seeded
    assert cli.main(["serve", "--port", str(busy_port)]) == 2
    assert "already in use" in capsys.readouterr().err


def test_a_free_port_has_no_problem() -> None:
    assert serving.port_problem("127.0.0.1", _free_port()) is None


def test_demo_without_serving_prints_no_url(sqlite_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--no-serve"]) == 0
    out = capsys.readouterr().out
    assert "http://" not in out and "nothing is served" in out
    assert "worker=demo-worker-token" in out


def test_db_upgrade_says_what_it_applied(sqlite_url: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    migrations = len(list((MIGRATIONS / "versions").glob("0*.py")))
    assert cli.main(["db", "upgrade"]) == 0
    assert f"applied {migrations} migrations (0001..{migrations:04d})" in capsys.readouterr().out
    assert cli.main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "already up to date" in out and "applied" not in out


def test_the_key_command_the_refusal_and_the_readme_give_makes_a_key() -> None:
    command = re.search(r'python3 -c "[^"]+"', KEY_HOWTO)
    assert command is not None
    made = subprocess.run(command.group(0), shell=True, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert len(base64.b64decode(made, validate=True)) == 32  # what CLMTV_PII_*_KEY take
    assert command.group(0) in (ROOT / "README.md").read_text(encoding="utf-8")


def test_counts_take_the_right_plural() -> None:
    assert plural(1, "row") == "1 row" and plural(0, "row") == "0 rows"
    assert plural(1, "policy") == "1 policy" and plural(2, "policy") == "2 policies"
    assert plural(3, "day") == "3 days" and plural(1_000_000, "worker") == "1,000,000 workers"
    assert plural(2, "person", "people") == "2 people"


def _simulate(out: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    simulator_cli.add_arguments(parser)
    return parser.parse_args(["default", "--workers", "200", "--years", "1", "--seed", "2",
                              "--no-progress", "--policy", "no-agreement", "--out", str(out),
                              *extra])


def test_simulate_keeps_a_folder_it_did_not_write_and_pipes_whole_sentences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "a-folder-with-a-name-long-enough-to-pass-eighty-columns" / "notes"
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert simulator_cli.run(_simulate(out)) == 2  # no console given: made for a pipe
    err = capsys.readouterr().err
    assert "holds files that are not an earlier simulation" in err and "--force" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]

    assert simulator_cli.run(_simulate(out, "--force")) == 0
    err = capsys.readouterr().err
    # One sentence, one line, however long: piped output is not wrapped at 80 columns.
    done = next(line for line in err.splitlines() if line.startswith("200 workers x "))
    assert "1 year x 1 policy in " in done and done.rstrip().endswith(str(out)), err
    assert len(done) > 80
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"

    fresh = tmp_path / "fresh"
    assert simulator_cli.run(_simulate(fresh)) == 0
    assert simulator_cli.run(_simulate(fresh)) == 0  # an earlier simulation: rewritten
    assert (fresh / simulator_cli.MARKER).read_text(encoding="utf-8").startswith("clmtv simulate")


def test_the_simulation_folder_is_ignored_by_git() -> None:
    assert "/simulation/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def _wait_for(check: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s")


def test_stopping_dev_py_by_its_pid_stops_the_server(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CLMTV_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/served.db",
           "CLMTV_HUB_KEY_FILE": str(tmp_path / "hub.jwk"), "CLMTV_DEV_MODE": "1"}
    front = subprocess.Popen(
        [sys.executable, str(ROOT / "dev.py"), "clmtv", "serve", "--port", str(port),
         "--no-access-log"], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).is_success
            except httpx.HTTPError:
                return False

        _wait_for(answers, 120)
        front.send_signal(signal.SIGTERM)  # the PID the user started: dev.py's
        assert front.wait(timeout=30) is not None
        assert serving.port_problem("127.0.0.1", port) is None  # nothing left listening
    finally:
        if front.poll() is None:
            front.kill()


def test_dev_py_passes_sigterm_to_the_step_it_waits_for(tmp_path: Path) -> None:
    pid_file = tmp_path / "step.pid"
    step = (f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
            "time.sleep(120)")
    runner = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import dev; "
              f"sys.exit(dev._run([sys.executable, '-c', {step!r}]))")
    front = subprocess.Popen([sys.executable, "-c", runner], stdin=subprocess.DEVNULL)
    try:
        _wait_for(lambda: pid_file.exists() and pid_file.read_text(), 60)
        step_pid = int(pid_file.read_text())
        front.send_signal(signal.SIGTERM)
        assert front.wait(timeout=30) == 128 + signal.SIGTERM  # the step's end, as a shell says
        with pytest.raises(ProcessLookupError):
            os.kill(step_pid, 0)
    finally:
        if front.poll() is None:
            front.kill()
