"""The long fuzz run's runner (`python -m tools.fuzz`, ADR 0060) works as documented: a target
fuzzed by atheris for a few seconds reports the inputs it tried and no crash. The long run itself
is not part of the suite (docs/security.md has its figures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_atheris_run_reports_inputs_and_no_crash(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    done = subprocess.run(
        [sys.executable, "-m", "tools.fuzz", "--minutes", "0.05", "--only", "dayfile",
         "--artifacts", str(tmp_path / "artifacts"), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    (target,) = report["targets"]
    assert target["target"] == "dayfile" and not target["crashed"]
    assert report["crashes"] == 0 and report["inputs"] == target["inputs"] > 100
    assert not list((tmp_path / "artifacts").iterdir())
