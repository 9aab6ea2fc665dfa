"""Several server processes, one sum: with PROMETHEUS_MULTIPROC_DIR set (as `clmtv serve
--workers N` sets it), each process's counts land in files there and a scrape from any process
adds them up (ADR 0043). Each process here is a fresh interpreter, as a uvicorn worker is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COUNT = ("from ledger import metrics\n"
         "metrics.POSTED_UNITS.inc({n})\n"
         "metrics.BATCH_UNITS.observe({n})\n")
SCRAPE = "from ledger import metrics\nprint(metrics.scrape().decode())\n"
ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, folder: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout


def test_a_scrape_sums_every_process(tmp_path: Path) -> None:
    _python(COUNT.format(n=3), tmp_path)
    _python(COUNT.format(n=4), tmp_path)
    text = _python(SCRAPE, tmp_path)
    assert "clmtv_postings_total 7.0" in text
    assert "clmtv_group_commit_batch_units_count 2.0" in text
    assert "clmtv_group_commit_batch_units_sum 7.0" in text
    # One file per process, the scraping one's too (its counters are all zero).
    assert len(list(tmp_path.glob("counter_*.db"))) == 3


def test_serve_empties_the_folder_before_the_workers_start(tmp_path: Path) -> None:
    from ledger.cli.serving import multiprocess_metrics
    from ledger.config import Settings

    _python(COUNT.format(n=5), tmp_path)
    before = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    try:
        assert multiprocess_metrics(Settings(metrics_dir=str(tmp_path))) == tmp_path
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
    finally:
        if before is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = before
    assert list(tmp_path.glob("*.db")) == []  # a restart does not count the last run again
