"""Loading scenarios and policies, and applying a policy as a diff against its scenario.

Owns the files in `simulator/scenarios/`: `default.yaml` (kind: scenario) and one file per policy
(kind: policy). A policy (after OpenFisca/PolicyEngine reforms) lists `changes`: dotted keys of
the scenario and their new values, each change a full parameter with its own source; `extends`
names another policy applied first. A change to a key the scenario does not have is refused
with that key: a typo must not be a silent no-op. The merged result is validated again as a
scenario, so every error still names its key. `no-agreement` is the empty diff.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ledger.domain.errors import DomainError, ErrorCode
from ledger.settlement.agreement import Agreement, bundled_agreement
from simulator.scenario import Scenario, parse_scenario

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
FILE_BYTES_MAX = 1024 * 1024
EXTENDS_DEPTH_MAX = 8


@dataclass(frozen=True, slots=True)
class Run:
    """One policy applied to one scenario, with its agreement loaded."""

    policy: str
    scenario: Scenario
    agreement: Agreement


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a repeated key (PyYAML would silently keep the last one)."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              f"duplicate key {key!r} at line {key_node.start_mark.line + 1}",
                              field=str(key))
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def read_yaml(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > FILE_BYTES_MAX:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{path}: larger than {FILE_BYTES_MAX} bytes")
    try:
        return yaml.load(raw, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{path}: not valid YAML: {exc}") from None


def _file(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return SCENARIOS_DIR / f"{name_or_path}.yaml"


def scenario_path(name_or_path: str) -> Path:
    """The file a scenario or policy name stands for."""
    return _file(name_or_path)


def scenario_data(name_or_path: str) -> dict[str, Any]:
    path = _file(name_or_path)
    data = read_yaml(path)
    if not isinstance(data, dict) or data.get("kind") != "scenario":
        raise DomainError(ErrorCode.INVALID_INPUT, f"{path}: kind: scenario expected", field="kind")
    return data


def load_scenario(name_or_path: str) -> Scenario:
    path = _file(name_or_path)
    return parse_scenario(scenario_data(name_or_path), source=str(path))


def apply_policy(base: dict[str, Any], policy_name: str, depth: int = 0) -> dict[str, Any]:
    """The scenario data with the policy's changes (and those of what it extends) applied."""
    if depth > EXTENDS_DEPTH_MAX:
        raise DomainError(ErrorCode.INVALID_INPUT, f"policy {policy_name}: extends too deep",
                          field="extends")
    path = _file(policy_name)
    data = read_yaml(path)
    if not isinstance(data, dict) or data.get("kind") != "policy":
        raise DomainError(ErrorCode.INVALID_INPUT, f"{path}: kind: policy expected", field="kind")
    for key in data:
        if key not in ("name", "kind", "title", "extends", "sources", "changes"):
            raise DomainError(ErrorCode.INVALID_INPUT, f"{path}: {key}: unknown key", field=key)
    merged = copy.deepcopy(base)
    parent = data.get("extends")
    if parent is not None:
        merged = apply_policy(merged, str(parent), depth + 1)
    changes = data.get("changes") or {}
    if not isinstance(changes, dict):
        raise DomainError(ErrorCode.INVALID_INPUT, f"{path}: changes must be a mapping",
                          field="changes")
    for key, value in changes.items():
        _set(merged, str(key), value, str(path))
    return merged


def _set(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    node: Any = data
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[: i + 1])
            raise DomainError(ErrorCode.INVALID_INPUT,
                              f"{source}: changes.{dotted}: the scenario has no key {where!r}",
                              field=f"changes.{dotted}")
        if i == len(parts) - 1:
            node[part] = value
        else:
            node = node[part]


def load_run(scenario: str, policy: str) -> Run:
    """Scenario + policy diff -> validated scenario and its agreement; the Thai old-age route
    the policy names must be one its agreement offers (or `fund_exit` under none)."""
    merged = apply_policy(scenario_data(scenario), policy)
    return run_from(merged, policy, f"{scenario} + {policy}")


def run_from(merged: dict[str, Any], policy: str, source: str) -> Run:
    """Scenario data (a policy, and anything else, applied) validated as a run: the scenario
    parsed again, its agreement loaded, the Thai route it names checked against it."""
    parsed = parse_scenario(merged, source=source)
    agreement = bundled_agreement(parsed.policy.agreement)
    check_route(agreement, parsed.policy.th_old_age_route.value, source)
    return Run(policy, parsed, agreement)


@dataclass(frozen=True, slots=True)
class Change:
    """One change a policy makes to its scenario, for people to read (the report)."""

    key: str
    value: str
    baseline: str
    source: str


def _shown(node: Any) -> str:
    if isinstance(node, dict) and "value" in node:
        return _shown(node["value"])
    if isinstance(node, bool):
        return "yes" if node else "no"
    return str(node)


def _at(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node[part] if isinstance(node, dict) and part in node else None
    return node


def policy_title(policy_name: str) -> str:
    data = read_yaml(_file(policy_name))
    return str(data.get("title") or policy_name) if isinstance(data, dict) else policy_name


def policy_changes(scenario: str, policy_name: str, depth: int = 0) -> list[Change]:
    """The changes `policy_name` (and what it extends, first) makes to the scenario's values."""
    if depth > EXTENDS_DEPTH_MAX:
        return []
    base = scenario_data(scenario)
    data = read_yaml(_file(policy_name))
    if not isinstance(data, dict):
        return []
    out = policy_changes(scenario, str(data["extends"]), depth + 1) if data.get("extends") else []
    for key, value in (data.get("changes") or {}).items():
        source = value.get("source", "") if isinstance(value, dict) else ""
        out.append(Change(str(key), _shown(value), _shown(_at(base, str(key))), str(source)))
    return out


def check_route(agreement: Agreement, route: str, source: str) -> None:
    portable = agreement.portable_scheme("TH-SSO", "s33-old-age")
    offered = ["fund_exit"] if portable is None else [r.value for r in portable.offered_rules]
    if route not in offered:
        raise DomainError(ErrorCode.INVALID_INPUT,
                          f"{source}: policy.th_old_age_route: {agreement.name} does not offer "
                          f"{route!r}; it offers {', '.join(offered)}",
                          field="policy.th_old_age_route")
