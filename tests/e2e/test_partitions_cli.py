"""`clmtv db partitions` as an operator runs it (issue 18 item 1): on the suite's store, a
database of the test's own; a negative `--ahead` refused, the monthly job idempotent."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.cli import db_maintenance, main
from ledger.config import get_settings
from ledger.db.partitions import AHEAD_MONTHS, current_month
from ledger.domain.errors import DomainError, ErrorCode
from tests.conftest import TEST_DB


async def _admin(statement: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(TEST_DB.replace("+asyncpg", ""))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture
def own_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """CLMTV_DATABASE_URL: a new SQLite file, or a new PostgreSQL database dropped after."""
    name = None
    if TEST_DB.startswith("postgres"):
        base, suite = TEST_DB.rsplit("/", 1)
        name = f"{suite}_cli_{secrets.token_hex(4)}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        url = f"{base}/{name}"
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/partitions.db"
    monkeypatch.setenv("CLMTV_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield url
    finally:
        get_settings.cache_clear()
        if name:
            asyncio.run(_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_a_negative_ahead_is_refused_naming_the_field(
        own_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "partitions", "--ahead", "-1"]) == 2
    assert "invalid_input: --ahead must be 0 or more" in capsys.readouterr().err
    with pytest.raises(DomainError) as refused:
        asyncio.run(db_maintenance._partitions(
            get_settings(), argparse.Namespace(ahead=-1, json=True)))
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == "ahead"


def test_the_job_creates_the_months_ahead_once(own_url: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    ahead = AHEAD_MONTHS + 2
    through = current_month().plus(ahead)
    assert main(["db", "partitions", "--ahead", str(ahead), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["db", "partitions", "--ahead", str(ahead), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert first["through"] == again["through"] == str(through)
    assert again["created"] == []
    if not TEST_DB.startswith("postgres"):
        assert first == {"through": str(through), "partitioned": False, "created": []}
        assert main(["db", "partitions"]) == 0
        assert "this store (SQLite) has no partitions" in capsys.readouterr().out
        return
    # The migration made the months up to AHEAD_MONTHS; the job the two after, per table.
    months = [current_month().plus(AHEAD_MONTHS + k).to_int() for k in (1, 2)]
    assert first["created"] == [{"partition": f"{table}_{m}", "moved_rows": 0}
                                for table in ("insurance_periods", "transfers")
                                for m in months]
    assert main(["db", "partitions", "--ahead", str(ahead)]) == 0
    assert f"through {through}: nothing to create" in capsys.readouterr().out
