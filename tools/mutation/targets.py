"""Which core modules are mutation-tested, and which test files exercise each one.

A core module is mutated alone, against only the test files listed for it, so that one module's
run takes minutes rather than the whole suite per mutant. mutmut then narrows further: each mutant
runs only the tests that called the mutated function. The lists name the tests that assert the
module's results directly (unit, property, store and rule tests), chosen from a coverage run with
per-test contexts; end-to-end, HTTP, simulator and import tests, which reach most modules only in
passing and take most of the suite's time, are left out unless nothing else reaches the module.
"""

from __future__ import annotations

from pathlib import Path

# module path -> test files (or folders) that exercise it
RULES = ("tests/adapters/test_rules_arrays.py", "tests/adapters/test_rules_samples.py")
# the small domain modules' value types and rules, edge by edge (errors, principals, ids, pii,
# months, the fund registry, money)
VALUES = "tests/unit/test_domain_values.py"
# the home funds' voluntary schemes and welfare funds, priced through each fund's voluntary_terms
VOLUNTARY = "tests/adapters/test_voluntary.py"

TESTS_BY_MODULE: dict[str, tuple[str, ...]] = {
    # the ledger's domain, with issue 21's model-based and refusal tests
    "ledger/domain/accounts.py": (
        "tests/unit/test_domain.py", "tests/settlement/test_legs.py", "tests/db/test_posting.py",
        "tests/db/test_hot_families.py", "tests/unit/test_refusals.py",
        "tests/properties/test_contribution_model.py",
    ),
    "ledger/domain/contributions.py": (
        "tests/unit/test_domain.py", "tests/db/test_posting.py", "tests/unit/test_refusals.py",
        "tests/properties/test_contribution_model.py",
    ),
    "ledger/domain/errors.py": (
        "tests/unit", "tests/settlement/test_agreement.py", "tests/settlement/test_totalisation.py",
        "tests/db/test_posting.py",
    ),
    "ledger/domain/funds.py": (
        "tests/unit/test_domain.py", VALUES, "tests/settlement/test_totalisation.py",
        "tests/adapters/test_rules_kh_mm.py", "tests/adapters/test_parameters.py",
    ),
    "ledger/domain/ids.py": (
        "tests/unit/test_domain.py", VALUES, "tests/settlement/test_coverage.py",
        "tests/settlement/test_windows.py",
    ),
    "ledger/domain/ledger.py": ("tests/unit", "tests/properties", "tests/db/test_posting.py"),
    "ledger/domain/money.py": (
        "tests/unit/test_money.py", VALUES, "tests/settlement/test_netting.py",
        "tests/settlement/test_legs.py",
    ),
    "ledger/domain/periods.py": (
        "tests/unit/test_domain.py", VALUES, "tests/settlement/test_coverage.py",
        "tests/adapters/test_parameters.py",
    ),
    "ledger/domain/pii.py": ("tests/unit/test_domain.py", VALUES),
    "ledger/domain/principals.py": (VALUES,),
    # the settlement's pure modules
    "ledger/settlement/canonical.py": (
        "tests/settlement/test_jcs_canonical.py", "tests/settlement/test_message_verify.py",
    ),
    "ledger/settlement/coverage.py": ("tests/settlement/test_coverage.py",),
    "ledger/settlement/inbox.py": ("tests/settlement/test_inbox_sequence.py",),
    "ledger/settlement/legs.py": ("tests/settlement/test_legs.py",),
    "ledger/settlement/merkle.py": ("tests/settlement/test_merkle.py",),
    "ledger/settlement/netting.py": (
        "tests/settlement/test_netting.py", "tests/settlement/test_windows.py",
    ),
    "ledger/settlement/outcomes.py": ("tests/settlement/test_outcomes.py",),
    "ledger/settlement/rounding.py": (
        "tests/settlement/test_rounding.py", "tests/settlement/test_netting.py",
        "tests/settlement/test_totalisation.py",
    ),
    "ledger/settlement/totalisation.py": (
        "tests/settlement/test_totalisation.py", "tests/settlement/test_agreement.py",
    ),
    "ledger/settlement/windows.py": ("tests/settlement/test_windows.py",),
    # the adapters' arithmetic and every fund's contribution and refund rules
    "ledger/adapters/arith.py": (
        "tests/adapters/test_arith.py", "tests/adapters/test_rules_arrays.py",
        "tests/adapters/test_rules_th_sso.py",
        "tests/adapters/test_rules_jp_jps.py", "tests/adapters/test_rules_kh_mm.py",
        "tests/adapters/test_rules_my_socso.py", "tests/adapters/test_rules_vn_vss.py",
        "tests/adapters/test_parameters.py",
    ),
    "ledger/adapters/jp_jps/rules.py": ("tests/adapters/test_rules_jp_jps.py", *RULES),
    "ledger/adapters/kh_nssf/rules.py": ("tests/adapters/test_rules_kh_mm.py", VOLUNTARY, *RULES),
    "ledger/adapters/la_lsso/rules.py": ("tests/adapters/test_rules_la_lsso.py", VOLUNTARY, *RULES),
    "ledger/adapters/mm_ssb/rules.py": ("tests/adapters/test_rules_kh_mm.py", VOLUNTARY, *RULES),
    "ledger/adapters/my_socso/rules.py": ("tests/adapters/test_rules_my_socso.py", *RULES),
    "ledger/adapters/th_sso/rules.py": ("tests/adapters/test_rules_th_sso.py", *RULES),
    "ledger/adapters/vn_vss/rules.py": ("tests/adapters/test_rules_vn_vss.py", VOLUNTARY, *RULES),
}


# What makes a module core (issue 21): all of the domain, the settlement's pure modules (no store,
# no file, no clock, no randomness, no signing), the adapters' arithmetic and every fund's rules.
# agreement.py (reads agreement files), jws.py, keys.py and messages.py (sign, generate keys, draw
# message ids) are not pure and are left out.
CORE_GLOBS = ("ledger/domain/*.py", "ledger/adapters/arith.py", "ledger/adapters/*/rules.py")
PURE_SETTLEMENT = (
    "canonical", "coverage", "inbox", "legs", "merkle", "netting", "outcomes", "rounding",
    "totalisation", "windows",
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
