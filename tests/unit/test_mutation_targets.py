"""Every core module is mapped to test files that exist, so `dev.py mutate` can run it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tools.mutation.targets import TESTS_BY_MODULE, core_modules, resolve

ROOT = Path(__file__).resolve().parents[2]


def test_every_core_module_has_tests_to_mutate_against() -> None:
    modules = core_modules(ROOT)
    assert "ledger/adapters/th_sso/rules.py" in modules  # the globs find the funds' rules
    assert [m for m in modules if m not in TESTS_BY_MODULE] == []
    assert [m for m in TESTS_BY_MODULE if m not in modules] == []


@pytest.mark.parametrize("module", sorted(TESTS_BY_MODULE))
def test_the_mapped_tests_exist(module: str) -> None:
    assert TESTS_BY_MODULE[module]
    assert [t for t in TESTS_BY_MODULE[module] if not (ROOT / t).exists()] == []


def test_modules_are_named_by_path_or_dotted_name() -> None:
    assert resolve("ledger/domain/money.py") == "ledger/domain/money.py"
    assert resolve("ledger.settlement.rounding") == "ledger/settlement/rounding.py"
    assert resolve("adapters/th_sso/rules") == "ledger/adapters/th_sso/rules.py"
    with pytest.raises(SystemExit, match="not a core module"):
        resolve("ledger/api/app.py")


def test_a_modules_config_narrows_mutmut_to_it_and_its_tests() -> None:
    from tools.mutation.run import module_config

    config = tomllib.loads(module_config("ledger/settlement/rounding.py"))["tool"]["mutmut"]
    assert config["only_mutate"] == ["ledger/settlement/rounding.py"]
    assert config["pytest_add_cli_args_test_selection"] == list(
        TESTS_BY_MODULE["ledger/settlement/rounding.py"])
    assert config["source_paths"] == ["ledger"]


def test_an_equivalent_applies_only_while_its_diff_shows_the_judged_change() -> None:
    from tools.mutation.equivalents import EQUIVALENT, judged_equivalent

    assert all(e.fragment and e.reason for e in EQUIVALENT.values())
    name, entry = next(iter(EQUIVALENT.items()))
    assert judged_equivalent(name, f"-    old line\n+    {entry.fragment}  # x") == entry
    assert judged_equivalent(name, "-    old line\n+    another change") is None
    assert judged_equivalent("ledger.domain.ids.x_check_id__mutmut_1", f"+{entry.fragment}") is None


def test_the_table_marks_modules_below_target_and_stale_runs() -> None:
    from tools.mutation import report

    module = "ledger/settlement/rounding.py"
    row = {"mutants": 10, "killed": 8, "score": 0.8, "date": "2026-12-07", "commit": "abc1234",
           "seconds": 75, "survivors": [{"mutant": "m", "diff": "+x", "equivalent": "why"}],
           **report.fingerprint(module)}
    table = report.table({module: row})
    assert f"| {module} | 10 | 8 | 80.0% ✗ | 1 | 2026-12-07 | abc1234 | 1 min 15 s |" in table
    assert report.stale({module: row}) == [m for m in TESTS_BY_MODULE if m != module]
    row["source_sha256"] = "0" * 16
    assert "2026-12-07 (stale)" in report.table({module: row})
