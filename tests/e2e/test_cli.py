"""The `clmtv` front door on a fresh SQLite file: upgrade, clients, demo (twice: idempotent)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ledger import cli
from ledger.config import get_settings
from ledger.db import repositories as repo
from ledger.db.engine import open_database


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("CLMTV_DATABASE_URL", url)
    monkeypatch.setenv("CLMTV_HUB_KEY_FILE", str(tmp_path / "hub.jwk"))
    get_settings.cache_clear()
    yield url  # type: ignore[misc]
    get_settings.cache_clear()


def totals(url: str) -> dict[str, tuple[int, int]]:
    async def read() -> dict[str, tuple[int, int]]:
        db = open_database(url)
        try:
            return await repo.posted_totals_by_currency(db)
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_upgrade_then_client_prints_a_token(sqlite_url: str, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    assert cli.main(["db", "upgrade"]) == 0
    assert cli.main(["clients", "add", "th", "--kind", "fund", "--scope", "TH-SSO"]) == 0
    assert "clmtv_" in capsys.readouterr().out
    assert cli.main(["clients", "add", "bad", "--kind", "fund", "--scope", "XX"]) == 2
    assert "unknown_fund" in capsys.readouterr().err


def test_demo_seeds_once_and_again_changes_nothing(sqlite_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--no-serve"]) == 0
    first = totals(sqlite_url)
    assert first["THB"][0] == first["THB"][1] > 0
    assert cli.main(["demo", "--no-serve"]) == 0
    assert totals(sqlite_url) == first
    assert "demo-worker-token" in capsys.readouterr().out


def test_import_books_a_sample_reports_it_and_a_rerun_changes_nothing(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from ledger.app.demo_imports import sample_files

    # The demo registers the sample files' workers (and imports them); a fresh copy of the
    # Thai sample with another employer name is a new file whose rows are all known.
    assert cli.main(["demo", "--no-serve"]) == 0
    capsys.readouterr()
    sample = sample_files("TH-SSO")[0].read_bytes()
    resubmitted = tmp_path / "resubmitted.txt"
    resubmitted.write_bytes(sample.replace("ตัวอย่าง".encode("tis_620"), "ทดสอบๆ".encode(
        "tis_620").ljust(len("ตัวอย่าง".encode("tis_620")))))
    before = totals(sqlite_url)
    assert cli.main(["import", "TH-SSO", str(resubmitted)]) == 0
    out = capsys.readouterr().out
    assert "posted" in out and "3 already booked" in out
    assert totals(sqlite_url) == before
    broken = tmp_path / "broken.txt"
    broken.write_bytes(sample[: len(sample) - 40])  # truncated last record
    assert cli.main(["import", "TH-SSO", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "rejected: nothing was booked" in out and "line 4" in out
    assert cli.main(["import", "TH-SSO", str(tmp_path / "missing.txt")]) == 2


def test_adapters_check_passes_a_sample_and_names_the_line_of_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from ledger.app.demo_imports import sample_files

    sample = sample_files("KH-NSSF")[0]
    assert cli.main(["adapters", "check", "KH-NSSF", str(sample)]) == 0
    assert "all checks passed" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(sample.read_bytes().replace(b",2400000,6480000", b",2400001,6480000", 1))
    assert cli.main(["adapters", "check", "KH-NSSF", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  amounts match the rules" in out
    assert "line 3: employee_contribution: declared" in out
    assert "FAIL  header totals" in out
    assert cli.main(["adapters", "list"]) == 0
    assert "TH-SSO   sso-1-10" in capsys.readouterr().out
