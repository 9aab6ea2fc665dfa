"""The calibrated baseline against published figures (issue 23).

The CI check is `test_every_asserted_target_holds`: from the fitted values the repository
carries (no refit, about 20 ms), every tight and band target of simulator/calibration/targets.yaml
must lie within its tolerance; a target or parameter that drifts fails it, by name. The other
tests show that check can fail, that the expected-value model is what the simulator's own draws
give, that the fit reproduces the committed values, and that bad files are refused by key.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml
from rich.console import Console

from ledger.domain.errors import DomainError
from simulator.calibration import cli as calibration_cli
from simulator.calibration.compare import ASSERTED, Row, compare, formatted, residual
from simulator.calibration.files import (
    CALIBRATION_DIR,
    Calibration,
    load_calibration,
    load_targets,
    read_fitted,
    values,
)
from simulator.calibration.fit import fit, significant
from simulator.calibration.model import live, measure
from simulator.calibration.present import calibrated, markdown
from simulator.policy import load_scenario, scenario_data
from simulator.population import draw
from simulator.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[2]
CALIBRATED = calibrated()
assert CALIBRATED is not None, "simulator/calibration/baseline-2012.fitted.yaml is missing"
ASSERTED_ROWS = [r for r in CALIBRATED.rows if r.target.tier in ASSERTED]


@pytest.mark.parametrize("row", ASSERTED_ROWS, ids=lambda r: r.target.id)
def test_every_asserted_target_holds(row: Row) -> None:
    low, high = row.target.bounds()
    assert row.holds, (f"{row.target.id}: simulated {formatted(row, row.simulated)} is "
                       f"outside [{formatted(row, low)}, {formatted(row, high)}] around the "
                       f"published {formatted(row, row.published)} ({row.target.source})")


def test_the_tight_targets_are_the_administrative_counts() -> None:
    tight = {r.target.id for r in CALIBRATED.rows if r.target.tier == "tight"}
    assert {"jp-vn-stock-2022", "jp-vn-stock-2025", "jp-mm-stock-2024",
            "vn-jp-departures-2023"} <= tight
    for r in CALIBRATED.rows:
        if r.target.tier == "tight":
            assert r.target.tolerance.relative is not None
            assert r.target.tolerance.relative <= Decimal("0.10")


def test_a_drifted_target_is_outside_its_tolerance() -> None:
    row = next(r for r in ASSERTED_ROWS if r.target.id == "jp-vn-stock-2024")
    assert row.holds
    moved = row.target.model_copy(update={"figure": row.target.figure * Decimal("1.06")})
    drifted = Row(moved, row.simulated)
    assert not drifted.holds and abs(residual(moved, row.simulated)) > 1


def _check_args(scenario: str) -> argparse.Namespace:
    return argparse.Namespace(scenario=scenario, check=True, no_write=False)


def test_calibrate_check_exits_1_and_names_a_target_planted_outside(tmp_path: Path) -> None:
    for name in ("baseline-2012.yaml", "baseline-2012.fitted.yaml", "targets.yaml"):
        shutil.copy(CALIBRATION_DIR / name, tmp_path / name)
    out = io.StringIO()
    assert calibration_cli.run(_check_args(str(tmp_path / "baseline-2012.yaml")),
                               Console(file=out, width=200)) == 0
    targets = (tmp_path / "targets.yaml").read_text(encoding="utf-8")
    (tmp_path / "targets.yaml").write_text(targets.replace('figure: "570708"',
                                                           'figure: "620000"'), encoding="utf-8")
    err = io.StringIO()
    assert calibration_cli.run(_check_args(str(tmp_path / "baseline-2012.yaml")),
                               Console(file=err, width=200)) == 1
    assert "18 of 19 asserted targets hold" in err.getvalue()


def _one_corridor(corridor: str, years: int) -> tuple[dict[str, object], Calibration]:
    data = scenario_data("default")
    data["corridors"] = {corridor: data["corridors"][corridor]}
    data["start"] = "2012-01"
    data["arrival_window_years"] = {"value": years, "source": "test", "verified": False}
    calibration = Calibration.model_validate({
        "name": "test", "kind": "calibration", "title": "t", "scenario": "default",
        "start": "2012-01", "end": f"{2012 + years - 1}-12", "targets": "targets.yaml",
        "arrivals": {corridor: {"reference_year": 2012,
                                "level": {"value": "1", "unit": "u", "source": "s"},
                                "growth": {"value": "0", "unit": "u", "source": "s"}}},
        "parameters": {}})
    return data, calibration


@pytest.mark.parametrize("corridor", ["VN-JP", "MM-TH"])
def test_the_model_is_the_expectation_of_the_simulators_own_draws(corridor: str) -> None:
    """population.draw spreads arrivals evenly over the window and draws contracts and hazards;
    the model's stock and leavers, for the same arrivals, are their expectation."""
    years, workers = 10, 120_000
    data, calibration = _one_corridor(corridor, years)
    scenario = parse_scenario(data)
    pop = draw(scenario, workers, years, seed=11)
    per_year = Decimal(workers) / years
    lived = live(calibration, load_scenario("default"),
                 {**values(calibration), f"arrivals.{corridor}.level": per_year})
    for month in (11, 35, 59, 95, 119):
        drawn = int(((pop.arrival <= month) & (month < pop.exit)).sum())
        expected = float(lived.stock[corridor][month])
        assert abs(drawn - expected) < 5 * np.sqrt(expected) + 5, (month, drawn, expected)
    left = (pop.exit >= 48) & (pop.exit < 60) & np.isin(pop.reason, [0, 2])
    drawn_leavers = int((left & (pop.exit - pop.arrival >= 6)).sum())
    expected_leavers = float(lived.leaving[corridor][48:60, 6:].sum())
    assert abs(drawn_leavers - expected_leavers) < 5 * np.sqrt(expected_leavers) + 5


def test_the_fit_reproduces_the_committed_values() -> None:
    """Refitting from the files gives the committed fit: the same cost, the same simulated
    value for every target, and the same parameters within 5%. The weakly identified ones
    (arrivals before 2022, Japan's return-home hazard) lie in a flat valley of the cost: on
    another CPU (AVX-512 here, 2026-12-08) the optimiser's floating point took another path
    along it and stopped 1.0% and 1.6% away from the committed values, at the same cost to
    four digits; the targets' values below are the fit's real test."""
    calibration, path = load_calibration("baseline-2012")
    targets = load_targets(calibration, path)
    result = fit(calibration, load_scenario(calibration.scenario), targets, calibration.name)
    committed = read_fitted(path)
    assert committed is not None and result.converged
    assert float(result.fitted.cost) == pytest.approx(float(committed.cost), rel=1e-3)
    for name, value in committed.values.items():
        again = result.fitted.values[name]
        assert abs(float(again) - float(value)) <= 5e-2 * max(abs(float(value)), 1e-4), name
    again_rows = compare(calibration, load_scenario(calibration.scenario), targets,
                         values(calibration, dict(result.fitted.values)))
    for before, after in zip(CALIBRATED.rows, again_rows, strict=True):
        # The fitted targets within 0.2% (0.04% at most measured on that CPU); a reported one,
        # outside the fit, moves with the valley's parameters (Japan's stays of 3-5 years: 0.2%).
        tolerance = 2e-3 if before.target.tier in ASSERTED else 1e-2
        assert after.simulated == pytest.approx(before.simulated, rel=tolerance), before.target.id
    for corridor, workers in committed.state.items():
        assert result.fitted.state[corridor] == pytest.approx(workers, rel=2e-3), corridor
    assert "calibrated to 19 published targets" in result.fitted.provenance[
        "parameters.jp_return_home"]


def test_fitted_values_are_rounded_half_even_to_four_digits() -> None:
    assert significant(123456.0) == Decimal("123500")
    assert significant(0.00123449) == Decimal("0.001234")
    assert significant(2.5e-5, 1) == Decimal("0.00002")  # half-even: 2.5 -> 2


def test_docs_calibration_is_the_generated_page() -> None:
    page = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    assert page == markdown(CALIBRATED), "stale: run python3 dev.py calibration-docs"


def test_every_target_source_cites_a_section_of_the_reference() -> None:
    reference = (ROOT / "docs" / "reference" / "calibration-targets.md").read_text("utf-8")
    sections = set(re.findall(r"^#{2,3} (\d+[a-z]?)\.", reference, re.M))
    for t in CALIBRATED.targets.targets:
        cited = t.source.split("§", 1)[1].split(":", 1)[0].split(",")[0].strip()
        assert t.source.startswith("docs/reference/calibration-targets.md §"), t.id
        assert cited in sections, f"{t.id}: §{cited} is not a section of the reference"
    for n in CALIBRATED.targets.not_calibratable:
        assert "docs/reference/calibration-targets.md §" in n.why, n.parameter


def _targets_file(tmp_path: Path, change: dict[str, object]) -> Path:
    for name in ("baseline-2012.yaml", "targets.yaml"):
        shutil.copy(CALIBRATION_DIR / name, tmp_path / name)
    data = yaml.safe_load((tmp_path / "targets.yaml").read_text(encoding="utf-8"))
    data["targets"][0].update(change)
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                           encoding="utf-8")
    return tmp_path / "baseline-2012.yaml"


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"figure": 462384.0}, "targets.0.figure", "quoted decimal string"),
    ({"quantity": {"measure": "stock", "corridors": ["VN-JP"]}}, "targets.0.quantity",
     "stock needs month"),
    ({"quantity": {"measure": "stock", "corridors": ["VN-SG"], "month": "2022-10"}},
     "targets.0.quantity", "no fund adapter for destination 'SG'"),
    ({"tolerance": {"band": ["2", "1"]}}, "targets.0.tolerance", "below low"),
    ({"quantity": {"measure": "stock", "corridors": ["VN-JP"], "month": "2030-10"}},
     "targets.0.quantity.month", "outside the calibration's 2012-01 to 2025-12"),
    ({"quantity": {"measure": "stock", "corridors": ["VN-MY"], "month": "2022-10"}},
     "targets.0.quantity.corridors", "VN-MY is not simulated by baseline-2012"),
])
def test_a_bad_target_is_refused_with_its_key(tmp_path: Path, change: dict[str, object],
                                              field: str, says: str) -> None:
    calibration, path = load_calibration(str(_targets_file(tmp_path, change)))
    with pytest.raises(DomainError) as caught:
        load_targets(calibration, path)
    assert field in str(caught.value.details) or field in caught.value.message
    assert says in str(caught.value.details) + caught.value.message


def test_a_fitted_value_for_an_unknown_parameter_is_refused() -> None:
    calibration, _ = load_calibration("baseline-2012")
    with pytest.raises(DomainError, match="no such parameter"):
        values(calibration, {"parameters.nonexistent": Decimal(1)})


def test_every_quantity_measures_something() -> None:
    for row in CALIBRATED.rows:
        assert row.simulated > 0, row.target.id
    lived = CALIBRATED.lived
    lswp = next(r for r in CALIBRATED.rows if r.target.id == "jp-lswp-per-stock-fy2022")
    assert measure(lived, lswp.target.quantity) == pytest.approx(lswp.simulated)
    assert compare(CALIBRATED.calibration, load_scenario("default"), CALIBRATED.targets,
                   values(CALIBRATED.calibration, dict(CALIBRATED.fitted.values))
                   )[0].simulated == pytest.approx(CALIBRATED.rows[0].simulated)


def test_the_scenario_starts_from_the_calibrated_state() -> None:
    """default.yaml holds what the last fit wrote: the calibrated corridors' 2025 stocks and
    the fitted Japanese stays, early returns and LSWP claim share, each with its provenance."""
    from simulator.calibration.writeback import scenario_changes
    from simulator.policy import scenario_path

    scenario = load_scenario(CALIBRATED.calibration.scenario)
    changes = scenario_changes(CALIBRATED.calibration, CALIBRATED.fitted, CALIBRATED.targets,
                               scenario)
    assert {"corridors.VN-JP.population", "corridors.MM-TH.population", "claims.jp.claim_share",
            "corridors.VN-JP.hazards.return_home", "corridors.MM-JP.contract_months"} <= set(
                changes)
    text = scenario_path("default").read_text(encoding="utf-8")
    for key, change in changes.items():
        line = (f"{key.split('.')[-1]}: {{value: {change.value}, source: \"{change.source}\", "
                f"verified: {str(change.verified).lower()}}}")
        assert line in text, f"{key}: default.yaml differs: rerun clmtv calibrate baseline-2012"
    vn = scenario.corridors["VN-JP"]
    assert vn.population.value == CALIBRATED.fitted.state["VN-JP"]
    assert abs(vn.population.value / 605_906 - 1) < 0.05  # MHLW, October 2025
    assert vn.hazards.return_home.value == CALIBRATED.fitted.values["parameters.jp_return_home"]
    assert scenario.corridors["MM-JP"].hazards.return_home == vn.hazards.return_home
    assert vn.contract_months.value[96] == CALIBRATED.fitted.values[
        "parameters.jp_long_contract_share"]
    assert sum(vn.contract_months.value.values()) == 1


def test_writing_back_refuses_a_line_it_cannot_rewrite(tmp_path: Path) -> None:
    from simulator.calibration.writeback import Change, write_scenario
    from simulator.policy import scenario_path

    path = tmp_path / "default.yaml"
    text = scenario_path("default").read_text(encoding="utf-8")
    vn_jp = text.index("  VN-JP:")
    start = text.index("    population:", vn_jp)
    end = text.index("\n", start)
    path.write_text(text[:start] + "    population:\n      value: 1" + text[end:],
                    encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    change = Change("1", "test", False)
    with pytest.raises(DomainError, match=r"corridors\.VN-JP\.population is not one line"):
        write_scenario(path, {"corridors.VN-JP.population": change})
    with pytest.raises(DomainError, match=r"no line for corridors\.VN-XX\.population"):
        write_scenario(path, {"corridors.VN-XX.population": change})
    assert path.read_text(encoding="utf-8") == before


def test_contract_shares_written_back_add_up_to_one() -> None:
    from simulator.calibration.writeback import contract_text

    table = {36: Decimal("0.5"), 60: Decimal("0.3"), 96: Decimal("0.2")}
    assert contract_text(table, Decimal("0.52625")) == '{36: "0.2961", 60: "0.1777", 96: "0.5262"}'
