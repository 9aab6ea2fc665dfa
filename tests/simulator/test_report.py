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

ROOT = Path(__file__).resolve().parents[2]


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


NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_report_is_self_contained(output: Path) -> None:
    """Nothing is loaded: no script, stylesheet, import, image source or external url(); the
    only web addresses are SVG namespaces and the sources the calibration section links."""
    html = (output / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert " src=" not in html and "<img" not in html and "<iframe" not in html
    assert all(u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", html))
    linked = set(re.findall(r"<a href='(https?://[^']+)'>", html))
    addresses = set(re.findall(r"https?://[^\"' <]+", html))
    assert addresses - NAMESPACES == linked and len(linked) >= 10
    svgs = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(svgs) >= 12  # bars, two flow diagrams, histograms, two series, calibration
    for svg in svgs:
        xml.dom.minidom.parseString(svg)  # well-formed: a browser will draw it


def _texts(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_every_chart_has_a_title_axes_ticks_and_values(output: Path) -> None:
    html = (output / "report.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg .*?</svg>", html, re.S)
    for svg in svgs:
        texts = _texts(svg)
        assert len(texts) >= 6, texts  # a title, axis titles and several tick labels
    everything = [t for svg in svgs for t in _texts(svg)]
    for label in ("What became of long-term contributions at the destination", "US dollars",
                  "share of workers", "recovered ÷ own contributions (the last bin: 200% and "
                  "more)", "Inter-fund messages per month", "messages a month", "year",
                  "Vietnamese workers in Japan (end of month)", "workers",
                  "Ratios and shares against their tolerance"):
        assert label in everything, label
    assert any(t.endswith("USD") for t in everything)  # values written on the flow diagrams


def test_charts_and_page_name_fonts_for_japanese_and_the_mekong_scripts(output: Path) -> None:
    html = (output / "report.html").read_text(encoding="utf-8")
    for family in ("Noto Sans CJK JP", "Noto Sans Thai", "Noto Sans Lao", "Noto Sans Khmer",
                   "Noto Sans Myanmar"):
        assert f"'{family}'" in html.split("</style>")[0], family
        assert f"'{family}'" in re.findall(r"<svg .*?</svg>", html, re.S)[0], family
    assert "外国人雇用状況" in html  # a Japanese source name, as text


def test_policies_are_named_by_title_with_their_changes(output: Path) -> None:
    html = (output / "report.html").read_text(encoding="utf-8")
    title = "CLMTV pilot: totalisation, transfers, certificate of coverage, no agent fees"
    assert f"<th>{title}</th>" in html
    assert "<td><code>policy.certificate_share</code></td><td>0</td><td>0.8</td>" in html
    assert "No change: the scenario as it is" in html


def test_each_headline_that_moves_says_why(output: Path) -> None:
    html = (output / "report.html").read_text(encoding="utf-8")
    why = html.split("<h3>Why the headlines move</h3>")[1].split("</ul>")[0]
    assert ("<strong>Insured months lost on status changes</strong> is lower under CLMTV pilot"
            in why)
    assert "the hub links a worker&#x27;s records across funds and statuses" in why
    assert "certificates of coverage exempt posted months" in why
    for _, label in HEADLINE_ROWS:
        assert f"<dt>{label}</dt>" in html, label  # every row defined


def test_corridors_without_long_term_contributions_are_left_out_with_the_reason(
        output: Path) -> None:
    html = (output / "report.html").read_text(encoding="utf-8")
    assert "Left out: MM-MY, VN-MY. Malaysia" in html
    assert "(MM-MY)" not in html and "(VN-MY)" not in html
    assert "<td>MM-MY</td>" not in html
    assert "<dt>workers</dt><dd>workers of the corridor who left covered work" in html
    assert "200% means both halves of an equal split" in html


CITATION = re.compile(r"docs/reference/([a-z-]+\.md) §\s?(\d+[a-z]?(?:\.\d+)?)")


def _sections(page: str) -> set[str]:
    text = (ROOT / "docs" / "reference" / page).read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} (\d+[a-z]?(?:\.\d+)?)\.?\s", text, re.M))


def test_every_citation_in_the_report_resolves_inside_the_repository(output: Path) -> None:
    """Every `docs/reference/PAGE.md §N` names a page and a section that exist, and every
    repository path the report names in <code> exists."""
    html = (output / "report.html").read_text(encoding="utf-8")
    citations = CITATION.findall(html)
    assert len(citations) >= 50
    for page, section in citations:
        assert (ROOT / "docs" / "reference" / page).exists(), page
        assert section in _sections(page), f"docs/reference/{page} §{section}"
    paths = re.findall(r"<code>([\w./+-]+\.(?:ya?ml|md|py))</code>", html)
    assert "simulator/calibration/baseline-2012.yaml" in paths
    for path in paths:
        assert (ROOT / path).exists(), path


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
