"""Scenario and policy files: the bundled ones load; bad ones fail naming the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from ledger.domain.errors import DomainError
from simulator.policy import apply_policy, load_run, scenario_data
from simulator.scenario import parse_scenario

POLICIES = ("no-agreement", "bilateral-refund-assistance", "clmtv-pilot",
            "clmtv-pilot+digital-voluntary", "clmtv-pilot-keep")


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return scenario_data("default")


def fails(data: dict[str, Any]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        parse_scenario(data, source="test.yaml")
    return caught.value


@pytest.mark.parametrize("policy", POLICIES)
def test_bundled_policies_load(policy: str) -> None:
    run = load_run("default", policy)
    assert run.policy == policy
    assert run.agreement.name == ("clmtv-2019-pilot" if "pilot" in policy else "no-agreement")


def test_policies_are_diffs_and_extend(base: dict[str, Any]) -> None:
    pilot = apply_policy(base, "clmtv-pilot")
    digital = apply_policy(base, "clmtv-pilot+digital-voluntary")
    assert pilot["policy"]["fees_waived"]["value"] is True
    assert digital["policy"] == pilot["policy"]  # inherited through `extends`
    assert digital["digital_voluntary"]["uptake_share"]["value"] == "0.2"
    assert base["policy"]["fees_waived"]["value"] is False  # the baseline is not modified
    assert apply_policy(base, "no-agreement") == base


def test_unknown_corridor_names_the_key(base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    data["corridors"]["MM-SG"] = data["corridors"]["MM-TH"]  # Singapore: no fund adapter
    error = fails(data)
    assert error.field == "corridors.MM-SG"
    assert "unknown corridor 'MM-SG'" in error.message and "SG" in error.message
    data = copy.deepcopy(base)
    data["corridors"]["XX-TH"] = data["corridors"]["MM-TH"]
    assert fails(data).field == "corridors.XX-TH"


def test_negative_population_names_the_key(base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    data["corridors"]["KH-TH"]["population"]["value"] = -5
    error = fails(data)
    assert error.field == "corridors.KH-TH.population.value"
    assert "greater than or equal to 0" in error.message


def test_rate_above_one_names_the_key(base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    data["claims"]["jp"]["agent_share"]["value"] = "1.5"
    error = fails(data)
    assert error.field == "claims.jp.agent_share.value"
    assert "between 0 and 1" in error.message


def test_missing_source_names_the_key(base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    del data["corridors"]["VN-JP"]["hazards"]["death"]["source"]
    error = fails(data)
    assert error.field == "corridors.VN-JP.hazards.death.source"
    assert "required key is missing" in error.message


def test_float_rates_and_unknown_keys_and_bad_shares(base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    data["claims"]["th"]["agent_share"]["value"] = 0.5
    assert "quoted decimal string" in fails(data).message
    data = copy.deepcopy(base)
    data["claims"]["th"]["agent_sharee"] = data["claims"]["th"]["agent_share"]
    error = fails(data)
    assert error.field == "claims.th.agent_sharee" and "unknown key" in error.message
    data = copy.deepcopy(base)
    data["corridors"]["MM-TH"]["contract_months"]["value"] = {24: "0.5", 48: "0.6"}
    assert fails(data).field == "corridors.MM-TH.contract_months.value"


def test_policy_changing_an_unknown_key_is_refused(tmp_path: Path,
                                                   base: dict[str, Any]) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump({
        "name": "typo", "kind": "policy", "title": "t",
        "changes": {"policy.fees_waivd": {"value": True, "source": "s", "verified": False}},
    }), encoding="utf-8")
    with pytest.raises(DomainError) as caught:
        apply_policy(base, str(path))
    assert caught.value.field == "changes.policy.fees_waivd"


def test_policy_values_are_validated_after_merging(tmp_path: Path,
                                                   base: dict[str, Any]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({
        "name": "bad", "kind": "policy", "title": "t",
        "changes": {"policy.certificate_share": {"value": "2", "source": "s",
                                                 "verified": False}},
    }), encoding="utf-8")
    with pytest.raises(DomainError) as caught:
        parse_scenario(apply_policy(base, str(path)))
    assert caught.value.field == "policy.certificate_share.value"


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("name: a\nkind: scenario\nname: b\n", encoding="utf-8")
    with pytest.raises(DomainError, match="duplicate key 'name'"):
        scenario_data(str(path))


def test_a_world_without_workers_is_refused(base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    for corridor in data["corridors"].values():
        corridor["population"]["value"] = 0
    error = fails(data)
    assert error.field == "corridors" and "population of 0" in error.message


@pytest.mark.parametrize(("policy", "route"), [
    ("no-agreement", "fund_exit"), ("bilateral-refund-assistance", "fund_exit"),
    ("clmtv-pilot", "transfer_to_home_fund"),
    ("clmtv-pilot+digital-voluntary", "transfer_to_home_fund"),
    ("clmtv-pilot-keep", "keep_and_totalise")])
def test_each_policy_names_its_thai_old_age_route(policy: str, route: str) -> None:
    assert load_run("default", policy).scenario.policy.th_old_age_route.value == route


def test_a_route_the_agreement_does_not_offer_is_refused() -> None:
    from ledger.settlement.agreement import bundled_agreement
    from simulator.policy import check_route

    with pytest.raises(DomainError) as refused:
        check_route(bundled_agreement("no-agreement"), "keep_and_totalise", "test")
    assert refused.value.field == "policy.th_old_age_route"
    assert "no-agreement does not offer 'keep_and_totalise'; it offers fund_exit" in (
        refused.value.message)
    check_route(bundled_agreement("clmtv-2019-pilot"), "keep_and_totalise", "test")
    with pytest.raises(DomainError):
        check_route(bundled_agreement("clmtv-2019-pilot"), "fund_exit", "test")
