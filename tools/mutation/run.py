"""One mutmut run of one core module in its own work directory, and the counts it produced.

mutmut reads `[tool.mutmut]` from the working directory's pyproject.toml and keeps its copy of the
tree and its verdicts in `mutants/` there. Each module gets `.mutmut/<module>/`: links to the
folders mutmut copies, and the project's pyproject.toml with two keys added to `[tool.mutmut]`
(`only_mutate`: the module; `pytest_add_cli_args_test_selection`: its test files). The directory is
emptied before every run, because mutmut keeps a survivor's verdict even after new tests are added.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

from tools.mutation.targets import TESTS_BY_MODULE

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".mutmut"
BIN = ROOT / ".venv" / "bin"
# What mutmut copies into mutants/: `source_paths`, `also_copy` and the tests (pyproject.toml).
LINKED = ("ledger", "tests", "agreements", "channels")
SECTION = "[tool.mutmut]\n"
# mutmut's verdicts that mean a test noticed the mutant (a crash or a hang is noticed too).
DETECTED = frozenset({"killed", "timeout", "segfault"})


@dataclass
class ModuleRun:
    module: str
    tests: tuple[str, ...]
    counts: Counter[str]
    survivors: dict[str, str] = field(default_factory=dict)  # mutant name -> diff
    seconds: float = 0.0

    @property
    def mutants(self) -> int:
        return sum(n for status, n in self.counts.items() if status != "skipped")

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.counts.items() if status in DETECTED)


def work_dir(module: str) -> Path:
    return WORK / module.removesuffix(".py").replace("/", ".")


def module_config(module: str) -> str:
    """The project's pyproject.toml, its `[tool.mutmut]` narrowed to one module and its tests."""
    text = (ROOT / "pyproject.toml").read_text()
    if SECTION not in text:
        raise SystemExit("mutate: pyproject.toml has no [tool.mutmut] section")
    narrowed = (
        f"only_mutate = {json.dumps([module])}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(list(TESTS_BY_MODULE[module]))}\n"
    )
    return text.replace(SECTION, SECTION + narrowed, 1)


def prepare(module: str) -> Path:
    work = work_dir(module)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in LINKED:
        (work / name).symlink_to(ROOT / name, target_is_directory=True)
    (work / "pyproject.toml").write_text(module_config(module))
    return work


def run_module(module: str, children: int) -> ModuleRun:
    """Mutate `module`, run its tests against every mutant, count the verdicts."""
    work = prepare(module)
    # CLMTV_MUTATION: tests/conftest.py loads a derandomised Hypothesis profile, so that every
    # mutant meets the same examples and a score moves only when the code or the tests do.
    env = {**os.environ, "CLMTV_TEST_DATABASE_URL": "sqlite", "CLMTV_MUTATION": "1"}
    log = work / "mutmut.log"
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.call(  # noqa: S603 (the project's own mutmut, fixed arguments)
            [str(BIN / "mutmut"), "run", "--max-children", str(children)],
            cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    seconds = time.monotonic() - started
    if code != 0:
        raise SystemExit(f"mutate: mutmut failed on {module} (exit {code}); see {log}")
    meta = json.loads((work / "mutants" / f"{module}.meta").read_text())
    statuses = {name: status_by_exit_code[code] for name, code in meta["exit_code_by_key"].items()}
    survivors = {
        name: _diff(work, module, name)
        for name, status in sorted(statuses.items())
        if status not in DETECTED and status != "skipped"
    }
    return ModuleRun(
        module=module,
        tests=TESTS_BY_MODULE[module],
        counts=Counter(statuses.values()),
        survivors=survivors,
        seconds=seconds,
    )


def _diff(work: Path, module: str, mutant: str) -> str:
    """The mutant's changed lines (`-` original, `+` mutated), as `mutmut show` prints them."""
    with contextlib.chdir(work):  # mutmut reads mutants/ relative to the working directory
        shown = get_diff_for_mutant(mutant, path=module)
    return "\n".join(
        line
        for line in shown.splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    )
