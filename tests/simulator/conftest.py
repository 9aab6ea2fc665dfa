"""Shared fixtures: a small population with every corridor, under any bundled policy."""

from __future__ import annotations

from typing import Any

from ledger.settlement.agreement import bundled_agreement
from simulator.policy import Run, apply_policy, scenario_data
from simulator.scenario import parse_scenario


def even_run(policy: str, **overrides: Any) -> Run:
    """The default scenario with equal corridor populations (so a small draw has them all)."""
    data = apply_policy(scenario_data("default"), policy)
    for corridor in data["corridors"].values():
        corridor["population"] = {"value": 1000, "source": "test", "verified": False}
    for dotted, value in overrides.items():
        node = data
        *path, last = dotted.split("__")
        for part in path:
            node = node[part]
        node[last] = value
    scenario = parse_scenario(data)
    return Run(policy, scenario, bundled_agreement(scenario.policy.agreement))
