"""A small simulated outcome, shared by the load-test tests (simulating is the slow part), and
the API tests' app with a token per kind of principal."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.app.loadtest.prepare import PrepareOptions, simulate
from tests.api.conftest import api  # noqa: F401 - the API fixture, for these tests too

SMALL = PrepareOptions(workers=400, years=12, seed=3, exits=6)


@pytest.fixture(scope="session")
def outcome() -> Any:
    return simulate(SMALL)
