"""Every core module is mapped to test files that exist, so `dev.py mutate` can run it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mutation.targets import TESTS_BY_MODULE, core_modules, resolve

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
