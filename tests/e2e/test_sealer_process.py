"""`clmtv audit seal --every SECONDS`: the journal's sealer as a process of its own, for API
servers run with CLMTV_JOURNAL_SEAL_INTERVAL_S=0 (issue 15: sealing in the API processes stalls
their event loop under load; docs/operations.md)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from ledger.db.engine import open_database
from ledger.db.migrate import upgrade
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency
from ledger.services.posting import PostingEngine, Unit

TRANSFERS = 30


async def _book(url: str) -> None:
    db = open_database(url, 1)
    try:
        await upgrade(db)
        engine = PostingEngine(db, ledger_transactions(db))
        specs = [AccountSpec(f"seal/{i}", AccountCode.OPERATING, Currency.THB, AccountFlags.NONE)
                 for i in range(3)]
        results = await engine.post([Unit([PlannedTransfer(f"s{n}", specs[n % 3],
                                                           specs[(n + 1) % 3], 100, Currency.THB)])
                                     for n in range(TRANSFERS)])
        assert all(r.ok for r in results)
    finally:
        await db.dispose()


def _clmtv(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "ledger.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_the_sealer_process_seals_until_stopped_and_refuses_a_bad_interval(
        tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/seal.db"
    env = {**os.environ, "CLMTV_DATABASE_URL": url, "CLMTV_HUB_KEY_FILE": str(tmp_path / "k"),
           "CLMTV_DEV_MODE": "1"}
    asyncio.run(_book(url))
    sealer = _clmtv(env, "audit", "seal", "--every", "0.2")
    assert sealer.stdout is not None
    assert sealer.stdout.readline().startswith("sealing every 0.2 s until stopped")
    deadline = time.monotonic() + 30
    sealed = 0
    while time.monotonic() < deadline and sealed < TRANSFERS:
        time.sleep(0.2)
        with sqlite3.connect(tmp_path / "seal.db") as conn:
            sealed = conn.execute("SELECT coalesce(max(tree_size), 0) FROM journal_seals"
                                  ).fetchone()[0]
    assert sealed == TRANSFERS  # sealed while running, not only at the stop
    sealer.send_signal(signal.SIGTERM)
    out, err = sealer.communicate(timeout=30)
    assert sealer.returncode == 0, err
    assert "stopped: everything committed is sealed" in out
    refused = _clmtv(env, "audit", "seal", "--every", "0")
    _, err = refused.communicate(timeout=60)
    assert refused.returncode == 2
    assert "--every must be more than 0 and at most 3600 seconds" in err
