"""The layering contracts hold, can fail, and the architecture page says what they say."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import architecture

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True,
                          text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          check=False)


def _copy_tree(tmp_path: Path) -> Path:
    for package in ("ledger", "simulator", "loadtests", "bench"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "samples", "*.yaml"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_contracts_hold_on_this_tree() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "planted", "broken"), [
    ("ledger/services/workers.py", "from ledger.api import deps", "Layers"),
    ("ledger/domain/money.py", "from ledger import limits", "The domain imports nothing"),
    ("ledger/db/ledger_store.py", "from ledger.db import pg_store", "No import cycles"),
    ("simulator/engine.py", "from ledger.services import posting", "The simulator reaches"),
    ("loadtests/__init__.py", "from ledger.domain import money", "Load tests speak HTTP"),
])
def test_a_planted_import_breaks_its_contract(tmp_path: Path, module: str, planted: str,
                                              broken: str) -> None:
    tree = _copy_tree(tmp_path)
    path = tree / module
    path.write_text(f"{planted}  # planted\n" + path.read_text(encoding="utf-8"),
                    encoding="utf-8")
    result = _lint_imports(tree)
    assert result.returncode != 0
    broken_section = result.stdout.split("Broken contracts", 1)[1]
    assert broken in broken_section, result.stdout


def test_the_architecture_page_is_generated_from_the_contracts() -> None:
    assert (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8") == \
        architecture.render(), "docs/architecture.md is stale: run python3 dev.py architecture"
