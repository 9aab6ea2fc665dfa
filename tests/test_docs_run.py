"""The docs work as written. Every shell block of README.md and docs/*.md carries a marker on the
line before it:

    <!-- runnable -->          the test runs the block, as a user would, against a fresh demo
    <!-- not run: REASON -->   it does not, and the page says why (a server, a benchmark, the suite)

A runnable block runs in bash (`set -euo pipefail`; curl fails on an HTTP error) in a scratch
folder that holds the repository's files, so the paths it names resolve as they do for a user in
the repository's folder and what it writes stays out of the repository. The demo is the quick
start's own command, `python3 dev.py demo`, on a free port (the block's `127.0.0.1:8000` is
rewritten to it) and a temporary SQLite database, which `CLMTV_DATABASE_URL` also gives the
block's `clmtv` commands. The blocks drive the CLI and the HTTP API only, and behave the same on
either store, so they run on SQLite in both suites. Every block, run or not, has every repository
path it names checked.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.M | re.S)
MARKER = re.compile(r"<!--\s*(runnable|not run:\s*(.+?))\s*-->\s*$")
DEMO_PORT = "127.0.0.1:8000"
# What the blocks need from the repository (linked into the scratch folder; nothing else is).
REPOSITORY = ("dev.py", ".venv", "pyproject.toml", "requirements.lock", "Makefile", "README.md",
              "ledger", "simulator", "agreements", "docs", "bench", "tests", "tools",
              "loadtests")
PREAMBLE = (
    "set -euo pipefail\n"
    "curl() { command curl --silent --show-error --fail-with-body \"$@\"; }\n"
)
OUTPUT_OPTIONS = {"--out", "-o"}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    marker: str | None  # "runnable", "not run: ...", or None when unmarked
    text: str

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in SHELL.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = MARKER.search(before)
            found.append(Block(str(page.relative_to(ROOT)), line,
                               marker.group(1) if marker else None, m.group(1)))
    return found


def runnable() -> list[Block]:
    return [b for b in blocks() if b.marker == "runnable"]


def _commands(block: Block) -> list[list[str]]:
    joined = block.text.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if words:
            commands.append(words)
    return commands


def named_paths(block: Block) -> tuple[list[str], set[str]]:
    """The repository paths a block names, and those it writes itself (`> file`, `--out DIR`)."""
    named: list[str] = []
    written: set[str] = set()
    for words in _commands(block):
        for before, word in zip(["", *words], words, strict=False):
            if before in {">", ">>"} or before in OUTPUT_OPTIONS:
                written.add(word.rstrip("/"))
                continue
            if before in {"-H", "--header", "-d", "--data"} or re.match(r"^[\w.-]+:/", word):
                continue  # a header, a request body, a container's path (name:/path)
            if word.startswith("-") or "://" in word or re.search(r"[<>\[\]$]", word):
                continue
            if re.fullmatch(r"[A-Z][A-Z_]*(\.\w+)?", word):
                continue  # a placeholder: NAME, FILE.jws
            if "=" in word:
                if "=@" not in word:
                    continue  # an environment assignment, NAME=value
                word = word.split("=@", 1)[1]  # curl -F file=@path
            if word.startswith("@"):
                word = word[1:]
            if word.startswith("/"):
                continue  # the machine's (/usr/bin/time, /tmp/...), not the repository's
            if "/" in word or re.search(r"\.(py|txt|csv|md|ya?ml|json|jws|toml|lock|sh)$", word):
                named.append(word.rstrip("/"))
    return named, written


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Demo:
    port: int
    workspace: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The quick start's `python3 dev.py demo`, on a free port, a fresh database."""
    workspace = tmp_path_factory.mktemp("reader")
    for name in REPOSITORY:
        (workspace / name).symlink_to(ROOT / name)
    state = tmp_path_factory.mktemp("demo-state")
    env = {**os.environ, "CLMTV_DATABASE_URL": f"sqlite+aiosqlite:///{state}/demo.db",
           "CLMTV_HUB_KEY_FILE": str(state / "hub-key.jwk"), "NO_COLOR": "1"}
    env.pop("CLMTV_TEST_DATABASE_URL", None)
    port = _free_port()
    log = (state / "demo.log").open("w")
    server = subprocess.Popen([sys.executable, "dev.py", "demo", "--port", str(port),
                               "--no-access-log"], cwd=workspace, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240  # seeding takes seconds; a loaded machine, minutes
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/ready", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (state / "demo.log").read_text()
            assert time.monotonic() < deadline, "the demo did not answer in time"
            time.sleep(0.5)
        yield Demo(port, workspace, env)
    finally:
        server.send_signal(signal.SIGTERM)  # dev.py became the server: this stops it
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_every_shell_block_is_marked() -> None:
    unmarked = [b.name for b in blocks() if b.marker is None]
    assert unmarked == [], f"mark these blocks <!-- runnable --> or <!-- not run: why -->: " \
                           f"{unmarked}"
    assert len(runnable()) >= 5


@pytest.mark.parametrize("block", blocks(), ids=lambda b: b.name)
def test_every_path_a_block_names_exists(block: Block) -> None:
    named, written = named_paths(block)
    missing = [p for p in named if p not in written and not (ROOT / p).exists()]
    assert missing == [], f"{block.name} names paths that do not exist: {missing}"


def test_the_path_scan_sees_paths_and_outputs() -> None:
    planted = Block("planted", 1, "runnable", (
        "curl -F file=@ledger/missing.txt http://127.0.0.1:8000/x > out.jws\n"
        "python3 dev.py clmtv verify out.jws --jwks hub.json   # a comment/with/slashes\n"
        "python3 dev.py clmtv simulate default --out simulation/ \\\n    --seed 1\n"))
    named, written = named_paths(planted)
    assert named == ["ledger/missing.txt", "dev.py", "out.jws", "hub.json", "dev.py"]
    assert written == {"out.jws", "simulation"}
    all_named = [p for b in blocks() for p in named_paths(b)[0]]
    assert len(all_named) >= 30


@pytest.mark.parametrize("block", runnable(), ids=lambda b: b.name)
def test_the_runnable_blocks_run_against_a_fresh_demo(demo: Demo, block: Block) -> None:
    script = PREAMBLE + block.text.replace(DEMO_PORT, f"127.0.0.1:{demo.port}")
    done = subprocess.run(["bash", "-c", script], cwd=demo.workspace, env=demo.env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{block.name} failed ({done.returncode}):\n{done.stdout}\n" \
                                 f"{done.stderr}"
    assert done.stdout.strip(), f"{block.name} printed nothing"


def _make_targets() -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return re.findall(r"^([a-z][a-z-]*)\s*:", makefile, re.M)


@pytest.mark.parametrize("target", _make_targets())
def test_every_make_target_is_a_dev_py_task(target: str) -> None:
    recipe = subprocess.run(["make", "-s", "-n", "-C", str(ROOT), target], capture_output=True,
                            text=True, check=True).stdout.split()
    assert recipe[:2] == ["python3", "dev.py"], recipe
    dev = (ROOT / "dev.py").read_text(encoding="utf-8")
    assert f'task == "{recipe[2]}"' in dev, f"make {target}: dev.py has no task {recipe[2]!r}"


def test_make_bench_lists_the_benchmarks() -> None:
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "bench"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split()
    assert {"import", "simulator", "settlement"} <= set(listed), done.stdout
