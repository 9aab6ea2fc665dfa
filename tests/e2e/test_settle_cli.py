"""`clmtv settle` on a fresh SQLite file after the demo: the demo's window is settled, and a new
run closes and settles the next window end to end."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ledger import cli
from ledger.config import get_settings
from ledger.db import windows_repo
from ledger.db.engine import open_database


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/settle.db"
    monkeypatch.setenv("CLMTV_DATABASE_URL", url)
    monkeypatch.setenv("CLMTV_HUB_KEY_FILE", str(tmp_path / "hub.jwk"))
    get_settings.cache_clear()
    yield url  # type: ignore[misc]
    get_settings.cache_clear()


def windows(url: str) -> list[dict[str, object]]:
    async def read() -> list[dict[str, object]]:
        db = open_database(url)
        try:
            return await windows_repo.windows(db, "USD", 10)
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_demo_has_a_settled_window_and_settle_runs_the_next(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--no-serve"]) == 0
    settled = [w for w in windows(sqlite_url) if w["state"] == "settled"]
    assert len(settled) == 1
    report = json.loads(str(settled[0]["reconciliation"]))
    assert report["agrees"] and {f["fund"] for f in report["funds"]} >= {"JP-JPS", "KH-NSSF"}
    capsys.readouterr()

    assert cli.main(["settle", "--fund-keys", str(tmp_path / "fund-keys"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["state"] == "settled" and printed["id"] != settled[0]["id"]
    assert cli.main(["settle", "--currency", "XYZ"]) == 2
    assert "unknown_currency" in capsys.readouterr().err


def test_settle_without_fund_keys_waits_then_finishes_the_same_window(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--no-serve"]) == 0
    # A new flow after the demo's window: the Thai balance of the Cambodian demo worker.
    from ledger.composition import build_services
    from ledger.demo_data import DEMO_WORKER
    from ledger.domain.principals import Principal, PrincipalKind
    from ledger.services.portability import FlowRequest, Reason

    async def flow() -> None:
        svc = build_services(get_settings())
        svc.committer.start()
        try:
            operator = Principal("t", PrincipalKind.HUB_OPERATOR)
            made = await svc.portability.request(operator, FlowRequest(
                DEMO_WORKER, "TH-SSO", "s33-old-age", Reason.RETURN_HOME))
            await svc.portability.approve(operator, made["id"])
            await svc.portability.acknowledge(operator, made["id"])
        finally:
            await svc.committer.stop()
            await svc.db.dispose()

    asyncio.run(flow())
    capsys.readouterr()
    assert cli.main(["settle"]) == 0  # no fund keys: closed, waiting for TH-SSO and KH-NSSF
    first = capsys.readouterr().out
    assert "waits for confirmations" in first and "POST /v1/inbox/messages" in first
    assert cli.main(["settle", "--fund-keys", str(tmp_path / "keys"), "--json"]) == 0
    printed = capsys.readouterr()
    assert "reconciliation agrees: True" in printed.err  # the steps: stderr under --json
    settled = json.loads(printed.out)
    closed = {"id": first.split("window ", 1)[1].split()[0]}
    assert settled["id"] == closed["id"] and settled["state"] == "settled"
