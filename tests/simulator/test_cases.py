"""Expert cases (simulator/cases/*.yaml): single workers with hand-computed outcomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.cases import CASES_DIR, load_case, run_case

CASES = sorted(CASES_DIR.glob("*.yaml"))


def test_there_are_cases() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case(path: Path) -> None:
    case = load_case(path)
    got = run_case(case)
    unknown = sorted(set(case.expect) - set(got))
    assert not unknown, f"the case expects values the engine does not report: {unknown}"
    assert {k: got[k] for k in case.expect} == case.expect
