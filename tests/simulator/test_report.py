"""`clmtv simulate` end to end: CSV tables, an offline HTML report that matches them."""

from __future__ import annotations

import argparse
import csv
import io
import re
import xml.dom.minidom
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from simulator import cli
from simulator.policy import scenario_data
from simulator.report import HEADLINE_ROWS, cell, money


def _args(tmp_path: Path, scenario: str = "default", **kw: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    argv = [scenario, "--workers", "3000", "--years", "12", "--seed", "3", "--out",
            str(tmp_path / "out"), "--no-progress", "--policy", "no-agreement", "--policy",
            "clmtv-pilot"]
    args = parser.parse_args(argv)
    for k, v in kw.items():
        setattr(args, k, v)
    return args


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sim")
    assert cli.run(_args(tmp), Console(file=io.StringIO())) == 0
    return tmp / "out"


def test_money_is_formatted_exactly() -> None:
    assert money(123_456_789) == "1,234,567.89" and money(-5) == "-0.05" and money(0) == "0.00"


def test_tables_are_written(output: Path) -> None:
    names = {p.name for p in output.iterdir()}
    assert {"report.html", "headline.csv", "contributions.csv", "recovered.csv",
            "forfeited.csv", "monthly.csv", "recovered_share_histogram.csv"} <= names
    with (output / "monthly.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 12 * 12 and {r["policy"] for r in rows} == {"no-agreement",
                                                                         "clmtv-pilot"}


def test_report_is_self_contained(output: Path) -> None:
    html = (output / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * len(
        re.findall(r"<svg ", html))
    svgs = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(svgs) >= 6  # bars, two Sankeys, histograms, two time series
    for svg in svgs:
        xml.dom.minidom.parseString(svg)  # well-formed: a browser will draw it


def test_headline_numbers_match_the_table(output: Path) -> None:
    html = (output / "report.html").read_text(encoding="utf-8")
    with (output / "headline.csv").open(encoding="utf-8") as f:
        table = {(r["policy"], r["metric"]): int(r["value"]) for r in csv.DictReader(f)}
    for key, label in HEADLINE_ROWS:
        cells = [cell(key, table[(p, key)]) for p in ("no-agreement", "clmtv-pilot")]
        row = f"<tr><td>{label}</td>" + "".join(f'<td class="n">{c}</td>' for c in cells)
        assert row in html, key


def test_a_bad_scenario_is_reported_with_its_key(tmp_path: Path) -> None:
    data = scenario_data("default")
    data["corridors"]["MM-TH"]["population"]["value"] = -1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    text = io.StringIO()
    assert cli.run(_args(tmp_path, str(path)), Console(file=text, width=200)) == 2
    assert "corridors.MM-TH.population.value" in text.getvalue()


def test_workers_and_years_are_bounded(tmp_path: Path) -> None:
    assert cli.run(_args(tmp_path, workers=0), Console(file=io.StringIO())) == 2


def test_every_csv_table_has_a_parquet_twin_with_the_same_rows(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from simulator.engine import simulate
    from simulator.metrics import measure
    from simulator.population import draw
    from simulator.report import write_csv, write_parquet
    from tests.simulator.conftest import even_run

    run = even_run("no-agreement")
    metrics = [measure(simulate(run, draw(run.scenario, 500, 3, 1)))]
    written = write_csv(metrics, tmp_path)
    twins = write_parquet(written)
    assert [p.with_suffix(".csv") for p in twins] == written
    for path, twin in zip(written, twins, strict=True):
        with path.open(encoding="utf-8") as f:
            rows = list(csv.reader(f))
        table = pq.read_table(twin)
        assert table.column_names == rows[0]
        assert [[str(v) for v in r.values()] for r in table.to_pylist()] == rows[1:]
