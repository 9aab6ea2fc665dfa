"""Which core modules are mutation-tested, and which test files exercise each one.

A core module is mutated alone, against only the test files listed for it, so that one module's
run takes minutes rather than the whole suite per mutant. mutmut then narrows further: each mutant
runs only the tests that called the mutated function. The lists name the tests that assert the
module's results directly (unit, property and rule tests); slow end-to-end and HTTP tests are left
out unless they are the only ones reaching the module.
"""

from __future__ import annotations

from pathlib import Path

# module path -> test files (or folders) that exercise it
TESTS_BY_MODULE: dict[str, tuple[str, ...]] = {
    # the ledger's domain: the model-based tests (issue 21, item 1) belong here too
    "ledger/domain/accounts.py": ("tests/unit/test_domain.py", "tests/settlement/test_legs.py"),
    "ledger/domain/contributions.py": ("tests/unit/test_domain.py",),
    "ledger/domain/errors.py": ("tests/unit",),
    "ledger/domain/funds.py": ("tests/unit/test_domain.py",),
    "ledger/domain/ids.py": ("tests/unit/test_domain.py",),
    "ledger/domain/ledger.py": ("tests/unit", "tests/properties"),
    "ledger/domain/money.py": ("tests/unit/test_money.py",),
    "ledger/domain/periods.py": ("tests/unit/test_domain.py",),
    "ledger/domain/pii.py": ("tests/unit/test_domain.py",),
    "ledger/domain/principals.py": ("tests/unit/test_domain.py",),
    # the settlement's pure modules (no store, no clock, no randomness, no file)
    "ledger/settlement/canonical.py": ("tests/settlement/test_jcs_canonical.py",),
    "ledger/settlement/coverage.py": ("tests/settlement/test_coverage.py",),
    "ledger/settlement/inbox.py": ("tests/settlement/test_inbox_sequence.py",),
    "ledger/settlement/legs.py": ("tests/settlement/test_legs.py",),
    "ledger/settlement/netting.py": ("tests/settlement/test_netting.py",),
    "ledger/settlement/outcomes.py": ("tests/e2e/test_worker_story.py",),
    "ledger/settlement/rounding.py": ("tests/settlement/test_rounding.py",),
    "ledger/settlement/totalisation.py": ("tests/settlement/test_totalisation.py",),
    "ledger/settlement/windows.py": ("tests/settlement/test_windows.py",),
    # the adapters' arithmetic and every fund's contribution and refund rules
    "ledger/adapters/arith.py": ("tests/adapters/test_rules_arrays.py",),
    "ledger/adapters/jp_jps/rules.py": ("tests/adapters/test_rules_jp_jps.py",),
    "ledger/adapters/kh_nssf/rules.py": ("tests/adapters/test_rules_kh_mm.py",),
    "ledger/adapters/mm_ssb/rules.py": ("tests/adapters/test_rules_kh_mm.py",),
    "ledger/adapters/my_socso/rules.py": ("tests/adapters/test_rules_my_socso.py",),
    "ledger/adapters/th_sso/rules.py": ("tests/adapters/test_rules_th_sso.py",),
    "ledger/adapters/vn_vss/rules.py": ("tests/adapters/test_rules_vn_vss.py",),
}


# What makes a module core (issue 21): all of the domain, the settlement's pure modules (no store,
# no file, no clock, no randomness, no signing), the adapters' arithmetic and every fund's rules.
# agreement.py (reads agreement files), jws.py, keys.py and messages.py (sign, generate keys, draw
# message ids) are not pure and are left out.
CORE_GLOBS = ("ledger/domain/*.py", "ledger/adapters/arith.py", "ledger/adapters/*/rules.py")
PURE_SETTLEMENT = (
    "canonical", "coverage", "inbox", "legs", "netting", "outcomes", "rounding", "totalisation",
    "windows",
)


def core_modules(root: Path) -> list[str]:
    """Every core module present in the tree, mapped or not (a new fund's rules.py included)."""
    found = {
        str(path.relative_to(root))
        for pattern in CORE_GLOBS
        for path in root.glob(pattern)
        if path.name != "__init__.py"
    }
    found |= {f"ledger/settlement/{name}.py" for name in PURE_SETTLEMENT}
    return sorted(found)


def resolve(name: str) -> str:
    """`ledger/domain/money.py`, `ledger.domain.money` or `domain/money` -> the module's path."""
    path = name.replace(".", "/").removesuffix("/py")
    path = path if path.startswith("ledger/") else f"ledger/{path}"
    path = path if path.endswith(".py") else f"{path}.py"
    if path not in TESTS_BY_MODULE:
        known = ", ".join(TESTS_BY_MODULE)
        raise SystemExit(f"mutate: {name!r} is not a core module; core modules: {known}")
    return path
