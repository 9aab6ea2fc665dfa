"""Example budgets of the state machines, per profile and per kind of target.

`HYPOTHESIS_PROFILE` picks the profile (docs/testing.md):

- `default` (`python3 dev.py test`, and CI on both stores): a fixed, modest budget with
  derandomised draws, so that the suite passes or fails the same way on every run: the tests
  also assert that a run reached every rule and refusal, and a random short run can miss a rare
  one by chance (it did, in CI, on 2026-12-07).
- `mutation` (`python3 dev.py mutate` sets `CLMTV_MUTATION`): the default budget, derandomised,
  so that a mutant is killed or not the same way on every run.
- `random`: the default budget with fresh random draws on every run, to explore by hand; a
  failure prints the blob that replays it (`@reproduce_failure`).
- `soak`: long runs with random draws, by hand, for a few minutes per store.

A pure target (no database) is cheap, so it gets more examples than a store.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings

# profile -> kind of target -> (examples, steps per example)
BUDGETS: dict[str, dict[str, tuple[int, int]]] = {
    "default": {"pure": (60, 30), "store": (12, 25)},
    "mutation": {"pure": (60, 30), "store": (12, 25)},
    "random": {"pure": (60, 30), "store": (12, 25)},
    "soak": {"pure": (2000, 60), "store": (500, 60)},
}


def profile() -> str:
    if os.environ.get("CLMTV_MUTATION"):  # `python3 dev.py mutate` (tests/conftest.py)
        return "mutation"
    name = os.environ.get("HYPOTHESIS_PROFILE", "default")
    if name not in BUDGETS:
        raise ValueError(f"HYPOTHESIS_PROFILE={name!r}: expected one of {', '.join(BUDGETS)}")
    return name


def machine_settings(kind: str) -> settings:
    name = profile()
    examples, steps = BUDGETS[name][kind]
    chosen = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=name in ("default", "mutation"),
        print_blob=True,
    )
    # Mutants must not replay each other's failures from the example database.
    return settings(chosen, database=None) if name == "mutation" else chosen


@dataclass
class RunLog:
    """What a state machine run did: examples, steps, rules taken, outcomes seen. The tests
    assert on it, so that a budget or a strategy that stops reaching a rule cannot pass quietly,
    and print it (`pytest -s`) for the record."""

    examples: int = 0
    steps: int = 0
    rules: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    def step(self, rule: str) -> None:
        self.steps += 1
        self.rules[rule] += 1

    def summary(self, name: str) -> str:
        rules, outcomes = dict(sorted(self.rules.items())), dict(sorted(self.outcomes.items()))
        return f"{name}: {self.examples} examples, {self.steps} steps; rules {rules}; " \
               f"outcomes {outcomes}"
