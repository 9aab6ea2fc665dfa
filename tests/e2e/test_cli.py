"""The `clmtv` front door on a fresh SQLite file: upgrade, clients, demo (twice: idempotent)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from ledger import cli
from ledger.config import get_settings
from ledger.db import repositories as repo
from ledger.db.engine import open_database
from ledger.demo_data import DEMO_WORKER, DEMO_WORKER_TH_ID


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


def _check_demo_output(out: str) -> None:
    """Every sample file imported, and the output ends with a summary of success in which the
    reference worker is the README's."""
    from ledger.adapters.registry import adapters
    from ledger.app.demo_imports import sample_files

    samples = [(fund, path.name) for fund in sorted(adapters()) for path in sample_files(fund)]
    for fund, name in samples:
        (line,) = [x for x in out.splitlines() if x.startswith(f"  {fund} {name}: ")]
        assert "not imported" not in line and (" posted" in line or " partial" in line), line
    summary = out[out.rindex("Demo seeded"):].strip().splitlines()
    assert summary[0] == "Demo seeded: every step succeeded.", summary
    assert f"  sample files: {len(samples)} of {len(samples)} imported" in summary
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    story = re.search(r"a Cambodian with (\d+) months under Thai SSO,\s+(\d+) months of "
                      r"Japanese pension, then home to the Cambodian NSSF", readme)
    assert story is not None
    thai, japan = story.groups()
    assert f'"member_number": "{DEMO_WORKER_TH_ID}"' in readme  # its look-up example
    assert any(x.startswith(f"  {DEMO_WORKER} (KH): TH-SSO {thai} months, JP-JPS {japan} "
                            "months, KH-NSSF ") for x in summary), summary


def test_demo_imports_every_sample_seeds_once_and_again_changes_nothing(
    sqlite_url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["demo", "--no-serve"]) == 0
    out = capsys.readouterr().out
    _check_demo_output(out)
    assert "demo-worker-token" in out and "imported before" not in out
    first = totals(sqlite_url)
    assert first["THB"][0] == first["THB"][1] > 0
    assert cli.main(["demo", "--no-serve"]) == 0
    assert totals(sqlite_url) == first
    again = capsys.readouterr().out
    _check_demo_output(again)
    assert "(imported before)" in again


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
    unreadable = tmp_path / "unreadable.csv"
    unreadable.write_bytes(b"garbage,header\n1,2\n")
    assert cli.main(["import", "KH-NSSF", str(unreadable)]) == 1
    out = capsys.readouterr().out
    assert ("the header could not be read: line 1, header: must be HEADER and 9 fields, got 2 "
            "fields") in out
    assert "rows: none read (the file is refused at its header)" in out
    assert "-1" not in out and "0 read" not in out
    assert totals(sqlite_url) == before


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


def test_channels_commands_on_the_demo(sqlite_url: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from ledger.db import channels_repo
    from ledger.services.signing import HubSigner

    assert cli.main(["demo", "--no-serve"]) == 0
    capsys.readouterr()
    assert cli.main(["channels", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert "mekong-wallet-th" in [c["code"] for c in listed]
    assert cli.main(["channels", "report", "mekong-wallet-th", "2026-12-01", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "reconciled" and len(report["obligations"]) == 1

    hub_view = tmp_path / "hub.csv"
    assert cli.main(["channels", "export", "mekong-wallet-th", "2026-12-01",
                     "--out", str(hub_view)]) == 0
    planted = tmp_path / "planted.csv"
    planted.write_text(hub_view.read_text().replace(",1571,1100000,", ",1517,1100000,", 1))
    assert cli.main(["channels", "day-file", "mekong-wallet-th", "2026-12-01", str(planted),
                     "--json"]) == 1  # discrepancies: exit 1
    found = json.loads(capsys.readouterr().out)
    assert [(d["outcome"], d["line"], list(d["fields"])) for d in found["discrepancies"]] == [
        ("amount_differs", 2, ["fee"])]
    assert cli.main(["channels", "balances", "mekong-wallet-th", "--json"]) == 0
    accounts = {a["account"] for a in json.loads(capsys.readouterr().out)["accounts"]}
    assert "channel/mekong-wallet-th/wallet/THB" in accounts

    assert cli.main(["clients", "add", "w2", "--kind", "channel", "--scope",
                     "mekong-wallet-th"]) == 0
    assert cli.main(["clients", "add", "w3", "--kind", "channel", "--scope", "nope"]) == 2
    assert "unknown_channel" in capsys.readouterr().err

    async def receipt() -> str:
        db = open_database(sqlite_url)
        try:
            row = await channels_repo.payment(db, "mekong-wallet-th/mw-demo-0001")
            assert row is not None
            return str(row["receipt"])
        finally:
            await db.dispose()

    (tmp_path / "receipt.jws").write_text(asyncio.run(receipt()))
    jwks = HubSigner.from_file(tmp_path / "hub.jwk").jwks()
    (tmp_path / "hub-jwks.json").write_text(json.dumps(jwks))
    assert cli.main(["verify", str(tmp_path / "receipt.jws"), "--jwks",
                     str(tmp_path / "hub-jwks.json"), "--type", "payment.receipt",
                     "--audience", "wkr_demo0003"]) == 0
    shown = capsys.readouterr().out
    assert "valid: payment.receipt from HUB to wkr_demo0003 (checked)" in shown
    assert "paid 1,587.14 THB" in shown and "months covered: 2026-12" in shown
    tampered = (tmp_path / "receipt.jws").read_text()
    head, body, signature = tampered.split(".")
    (tmp_path / "bad.jws").write_text(f"{head}.{body}.{signature[::-1]}")
    assert cli.main(["verify", str(tmp_path / "bad.jws"), "--jwks",
                     str(tmp_path / "hub-jwks.json"), "--type", "payment.receipt"]) == 1
