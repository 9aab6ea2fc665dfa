"""The capacity runner: its arithmetic on made-up measurements, its refusals, and one tiny real
run (PostgreSQL only: a fresh database, the API, a Locust master and worker, one short step)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ledger.app.loadtest.prepare import PrepareOptions
from ledger.app.loadtest.report import served_workers, step_table
from ledger.app.loadtest.runner import (
    EXIT_NO_STEP_HELD,
    EXIT_OK,
    RunOptions,
    UsageError,
    run,
    sent_kinds,
)
from ledger.cli import main

SHAPE = {"population": {"workers": 1_000_000},
         "peak": {"total": 1.0, "mix": {"statement_read": 0.8, "declaration_upload": 0.2}}}


def test_workers_served_is_the_scarcest_kind() -> None:
    # The peak asks 0.8/s of reads and 0.2/s of uploads for a million workers.
    assert served_workers(10.0, {"statement_read": 0.8, "declaration_upload": 0.2},
                          SHAPE) == 10_000_000
    # Half the uploads the peak's mix has: uploads bind first.
    assert served_workers(10.0, {"statement_read": 0.9, "declaration_upload": 0.1},
                          SHAPE) == 5_000_000
    assert served_workers(10.0, {"fund_message": 1.0}, SHAPE) is None


def test_payments_sent_as_batches_serve_as_voluntary_payments() -> None:
    shape = {"population": {"workers": 1_000_000},
             "peak": {"total": 1.0, "mix": {"voluntary_payment": 0.5, "statement_read": 0.5}}}
    single = served_workers(10.0, {"voluntary_payment": 0.5, "statement_read": 0.5}, shape)
    batched = served_workers(10.0, {"channel_batch": 0.5, "statement_read": 0.5}, shape)
    assert single == batched == 10_000_000
    assert served_workers(10.0, {"channel_batch": 1.0}, shape) == 20_000_000


def test_batches_are_sent_only_when_named(tmp_path: Path) -> None:
    assert "channel_batch" not in sent_kinds(RunOptions(out=tmp_path))
    assert "channel_batch" in sent_kinds(RunOptions(out=tmp_path, mix={"channel_batch": 1.0}))
    assert sent_kinds(RunOptions(out=tmp_path, kinds=["channel_batch", "day_file"])) == [
        "day_file", "channel_batch"]


def test_the_step_table_from_histograms_progress_and_cpu() -> None:
    bucket = {"430": 3}  # three requests in bucket 430: 0.01 ms x 1.02^430.5, about 50 ms
    latency = {"steps": {"0": {"GET a": {"n": 3, "failures": 1, "h": bucket, "errors": {"x": 1}}}},
               "pacing": {"0": {"statement_read": {"offered": 3, "missed": 1}}}}
    events = [{"event": "step", "step": "0", "t": 100.0, "rates": {"statement_read": 2.0},
               "users": 3},
              {"event": "verdict", "step": 0, "held": False, "t": 111.0},
              {"event": "end", "t": 110.0, "reason": "limit", "seconds": 10}]
    cpu = {"0": {"api": 5.0, "database": 2.0, "load generator": 1.0, "other": 0.0,
                 "wall": 10.0}}
    steps, requests = step_table(latency, events, cpu)
    row = steps[0]
    assert (row["requests"], row["failures"], row["requests_per_s"]) == (3, 1, 0.3)
    assert row["error_pct"] == pytest.approx(33.3333, rel=1e-3)
    assert row["p99_ms"] == round(0.01 * 1.02 ** 430.5, 2)
    assert (row["cpu_api_cores"], row["cpu_database_cores"]) == (0.5, 0.2)
    assert row["held"] is False and row["missed"] == 1
    assert requests[0]["request"] == "GET a" and requests[0]["errors"] == "x (1)"


def test_impossible_runs_are_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="positive"):
        run(RunOptions(out=tmp_path / "a", rates=[0.0]), "test")
    with pytest.raises(UsageError, match="at least 5 s"):
        run(RunOptions(out=tmp_path / "b", step_seconds=1), "test")
    with pytest.raises(UsageError, match="does not fit"):
        run(RunOptions(out=tmp_path / "c", month_minutes=20, time_bound_s=60), "test")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "old.txt").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        run(RunOptions(out=tmp_path / "d"), "test")
    for bad, message in (({"batch_size": 0}, "--batch-size is 1 to 200"),
                         ({"batch_size": 201}, "--batch-size is 1 to 200"),
                         ({"batch_window_ms": 0.0}, "--batch-window-ms"),
                         ({"batch_resend_share": -0.1}, "--batch-resend")):
        with pytest.raises(UsageError, match=message):
            run(RunOptions(out=tmp_path / "e", **bad), "test")  # type: ignore[arg-type]
    assert RunOptions(out=tmp_path, rates=[1, 2, 3, 4], step_seconds=30,
                      time_bound_s=75).steps_in_bound == [1, 2]


@pytest.mark.postgres_only
def test_a_tiny_capacity_run_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run(RunOptions(
        out=tmp_path / "run", rates=[5.0], step_seconds=9.0, p99_ms=60_000.0,
        time_bound_s=60.0, api_processes=1, locust_workers=1,
        mix={"voluntary_payment": 0.2, "channel_batch": 0.2, "statement_read": 0.2,
             "declaration_upload": 0.2, "fund_batch": 0.1, "fund_message": 0.1},
        batch_size=5, batch_window_ms=50.0, batch_resend_share=0.5,
        population=PrepareOptions(workers=600, years=12, seed=3, exits=20)),
        "clmtv loadtest (test)", lines.append)
    summary = result.summary
    # Whether the step holds is this shared machine's business; the run, its judgement, its
    # audit and its report are the runner's.
    assert result.exit_code in (EXIT_OK, EXIT_NO_STEP_HELD), (summary["broken"], lines[-5:])
    (step,) = summary["steps"]
    assert step["held"] is (result.exit_code == EXIT_OK)
    assert summary["capacity"]["step"] == ("0" if step["held"] else None)
    audit = summary["audit"]
    assert audit["ok"] and audit["acknowledged"].get("import", 0) >= 1
    assert audit["acknowledged"].get("payment", 0) >= 5
    acked = [json.loads(line) for path in (tmp_path / "run" / "acks").glob("*.ndjson")
             for line in path.read_text().splitlines() if line.strip()]
    assert any(a.get("via") == "batch" for a in acked)  # gathered taps, audited as any payment
    assert any(a["kind"] == "payment" and "via" not in a for a in acked)  # and single ones
    assert step["payments_per_s"] > 0
    assert summary["options"]["batch"] == {"size": 5, "window_ms": 50.0, "resend_share": 0.5}
    assert audit["acknowledged"].get("window") == 1  # closed in the middle of the step
    assert audit["acknowledged"].get("day_file", 0) >= 1  # a third of the way in
    report = (tmp_path / "run" / "report.html").read_text()
    assert "<svg" in report and "Per request type" in report
    assert "payments/batch" in report and "channel_batch: each action is one payment" in report
    assert ("Highest step that held" in report) is step["held"]
    with (tmp_path / "run" / "steps.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    assert int(row["requests"]) > 0 and row["held"] == str(step["held"])
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["exit_code"] == result.exit_code
    assert any(line.startswith("step 0") for line in lines)
    assert saved["mode"] == "steps"


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--mix", "voluntary_payment=0.5,bogus=0.5", "--mix: 'bogus' is not one of"),
    ("--kinds", "statement_read,bogus", "--kinds: unknown ['bogus']"),
])
def test_an_unknown_kind_is_refused_by_the_command_before_anything_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str,
        message: str) -> None:
    out = tmp_path / "run"
    assert main(["loadtest", "run", option, value, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing prepared, nothing written
