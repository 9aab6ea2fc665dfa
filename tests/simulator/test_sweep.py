"""`clmtv sweep`: the grid, the refusals, runs on a Dask cluster, a failed run named and the
others kept, and the report built from them."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.errors import DomainError
from simulator import sweep_cli
from simulator.sweep import Task, Vary, grid, parse_vary, scenario_for, summarise


def test_a_range_includes_both_ends_as_exact_decimals() -> None:
    assert parse_vary("claims.jp.claim_share=0.1:0.9:5").values == (
        "0.1", "0.3", "0.5", "0.7", "0.9")
    # 0.1 + k * 0.8/3 is cut to six places, half to even (no float ever)
    assert parse_vary("k=0.1:0.9:4").values == ("0.1", "0.366667", "0.633333", "0.9")
    assert parse_vary("months=0:24:3").values == ("0", "12", "24")
    assert parse_vary("k=0, 0.25,1").values == ("0", "0.25", "1")


@pytest.mark.parametrize(("spec", "reason"), [
    ("claims.jp.claim_share", "expected KEY=LOW:HIGH:N"),
    ("=0:1:3", "expected KEY=LOW:HIGH:N"),
    ("k=0:1:1", "N must be 2..50"),
    ("k=0:1:51", "N must be 2..50"),
    ("k=1:0:3", "HIGH must be above LOW"),
    ("k=0:x:3", "not a number"),
    ("k=0.5,0.5", "values repeat"),
])
def test_a_bad_vary_is_refused_with_its_reason(spec: str, reason: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_vary(spec)
    assert reason in refused.value.message
    assert refused.value.field == "--vary"


def test_a_swept_value_is_set_and_validated_by_its_key() -> None:
    run = scenario_for("default", "no-agreement", [("claims.jp.claim_share", "0.25")])
    assert str(run.scenario.claims.jp.claim_share.value) == "0.25"
    assert run.scenario.claims.jp.claim_share.source.startswith("swept by clmtv sweep")
    months = scenario_for("default", "no-agreement", [("claims.jp.delay_months", "12")])
    assert months.scenario.claims.jp.delay_months.value == 12  # a count stays an int
    for point, reason in [
        ([("claims.jp.nothing", "0.1")], "the scenario has no key 'nothing'"),
        ([("claims.jp", "0.1")], "not a parameter"),
        ([("claims.jp.delay_months", "1.5")], "not a whole number"),
        ([("policy.fees_waived", "1")], "cannot be swept"),
        ([("claims.jp.claim_share", "1.5")], "claims.jp.claim_share"),
    ]:
        with pytest.raises(DomainError) as refused:
            scenario_for("default", "no-agreement", point)
        assert reason in refused.value.message, refused.value.message


def test_the_grid_is_every_combination_for_every_policy_and_seed() -> None:
    tasks = grid(["a", "b"], [Vary("x", ("1", "2", "3")), Vary("y", ("0", "1"))], [1, 2])
    assert len(tasks) == 2 * 3 * 2 * 2
    assert len(set(tasks)) == len(tasks)
    assert Task("b", (("x", "3"), ("y", "1")), 2) in tasks


def test_means_are_integers_rounded_half_to_even() -> None:
    point = (("x", "1"),)
    tasks = [Task("p", point, 1), Task("p", point, 2)]
    results = {tasks[0]: {"headline": {"m": 1}, "seconds": 0.1},
               tasks[1]: {"headline": {"m": 4}, "seconds": 0.1}}
    assert summarise(tasks, results)[("p", point)]["m"] == (2, 1, 4, 2)  # 2.5 -> 2


@pytest.fixture(scope="module")
def in_process_cluster() -> Any:
    from dask.distributed import LocalCluster

    cluster = LocalCluster(  # type: ignore[no-untyped-call]  # distributed is untyped
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    yield cluster
    cluster.close()


def test_a_failed_run_is_named_and_the_others_are_kept(
        in_process_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.population import draw as real

    def draw(scenario: Any, workers: int, years: int, seed: int) -> Any:
        if seed == 2:
            raise RuntimeError("planted failure")
        return real(scenario, workers, years, seed)

    # The cluster runs in this process: its tasks see the planted failure.
    monkeypatch.setattr("simulator.sweep.draw", draw)
    lines: list[str] = []
    args = argparse.Namespace(
        scenario="default", policies=["no-agreement", "clmtv-pilot"],
        varies=["claims.jp.claim_share=0.2:0.8:2"], seeds=2, workers=2000, years=5,
        processes=1, scheduler=in_process_cluster.scheduler_address, out=tmp_path / "sw",
        force=False)

    class Console:
        def print(self, line: str, **_: Any) -> None:
            lines.append(line)

    console = Console()
    assert sweep_cli.run(args, console, console) == 1  # some runs failed
    assert lines[0] == f"8 runs of 2,000 workers x 5 years on {args.scheduler}"
    assert sum("FAILED: RuntimeError: planted failure" in line for line in lines) == 4
    assert lines[-1].startswith("4 of 8 runs finished, 4 failed")
    rows = list(csv.DictReader((tmp_path / "sw" / "runs.csv").open(encoding="utf-8")))
    assert len(rows) == 8
    assert {r["seed"] for r in rows if r["error"]} == {"2"}
    assert all(int(r["recovered_usd"]) >= 0 for r in rows if not r["error"])
    report = (tmp_path / "sw" / "report.html").read_text(encoding="utf-8")
    assert "4 of 8 runs finished, 4 failed" in report
    assert "clmtv-pilot claims.jp.claim_share=0.8 seed=2: RuntimeError: planted failure" in report
    assert report.count("<svg") == 4 + 2 * 4  # bands per outcome; a tornado per policy and outcome
    assert "<script" not in report and "http" not in report.split("<body>")[1].split("<svg")[0]
    summary = list(csv.DictReader((tmp_path / "sw" / "summary.csv").open(encoding="utf-8")))
    assert {r["runs"] for r in summary} == {"1"}


def test_bad_arguments_change_nothing(tmp_path: Path) -> None:
    lines: list[str] = []

    class Console:
        def print(self, line: str, **_: Any) -> None:
            lines.append(line)

    base = {"scenario": "default", "policies": None, "seeds": 1, "workers": 10, "years": 1,
            "processes": 1, "scheduler": None, "force": False}
    out = tmp_path / "never"
    for varies, reason in [(["claims.jp.claim_share=0:2:3"], "claims.jp.claim_share"),
                           (["x.y=0:1:2"], "the scenario has no key 'x'"),
                           (["claims.jp.claim_share=0:1:2", "claims.jp.claim_share=0,1"],
                            "a key is varied twice")]:
        args = argparse.Namespace(**base, varies=varies, out=out)
        console = Console()
        assert sweep_cli.run(args, console, console) == 2
        assert reason in lines[-1]
    assert not out.exists()
