"""A small simulated outcome, shared by the load-test tests (simulating is the slow part)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.loadtest.prepare import PrepareOptions, simulate

SMALL = PrepareOptions(workers=400, years=12, seed=3, exits=6)


@pytest.fixture(scope="session")
def outcome() -> Any:
    return simulate(SMALL)
