"""Every fund's sample imports through the real pipeline, and importing it again — the same
bytes, or the same rows in another order — books nothing more."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import codec, get_adapter
from ledger.config import DEV_PII_ENCRYPTION_KEY
from ledger.db.engine import Database
from ledger.domain.pii import PiiVault
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.imports import ImportService
from tests.adapters.conformance.support import SAMPLES

pytestmark = pytest.mark.anyio
OPERATOR = Principal("conformance", PrincipalKind.HUB_OPERATOR)


async def _register(db: Database, vault: PiiVault, fund: str, numbers: list[str], uid: str
                    ) -> list[str]:
    workers = [f"wkr_{uid}{i:03d}" for i in range(len(numbers))]
    async with db.engine.begin() as conn:
        for worker, number in zip(workers, numbers, strict=True):
            await conn.execute(text("INSERT INTO workers (id, nationality, created_at_us) "
                                    "VALUES (:w, 'KH', 0)"), {"w": worker})
            await conn.execute(text(
                "INSERT INTO memberships (worker_id, fund, member_number_hmac, "
                "member_number_ciphertext, created_at_us) VALUES (:w, :f, :h, :c, 0)"),
                {"w": worker, "f": fund, "h": vault.lookup_hash(fund, number), "c": b"x"})
    return workers


async def _booked(db: Database, uid: str) -> list[object]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT key, credits_posted FROM accounts WHERE worker_id LIKE :w ORDER BY key"),
            {"w": f"wkr_{uid}%"})
        return list(rows.all())


# The files are read at collection time: the test itself is async and must not block on disk.
CASES = [(fund, path.name, path.read_bytes()) for fund, path in SAMPLES]


@pytest.mark.parametrize(("fund", "name", "data"), CASES, ids=[f"{f}:{n}" for f, n, _ in CASES])
async def test_the_sample_imports_once(db: Database, uid: str, fund: str, name: str,
                                       data: bytes) -> None:
    items = list(codec(fund).parse(iter(data.splitlines(keepends=True))))
    header = items[0]
    assert isinstance(header, DeclaredHeader)
    rows = [r for r in items if isinstance(r, DeclaredRow)]
    adapter = get_adapter(fund)
    vault = PiiVault(f"conformance-{uid}", DEV_PII_ENCRYPTION_KEY)
    await _register(db, vault, fund, [adapter.validate_member_number(r.member_number)
                                      for r in rows], uid)
    service = ImportService(db, vault)
    first = await service.import_file(OPERATOR, fund, io.BytesIO(data))
    assert first.status == "posted", first.errors
    assert first.rows_accepted == len(rows)
    booked = await _booked(db, uid)
    again = await service.import_file(OPERATOR, fund, io.BytesIO(data))
    assert again.replayed and again.import_id == first.import_id
    if len(rows) > 1:
        reordered = codec(fund).render(header, rows[::-1])
        assert reordered != data
        other = await service.import_file(OPERATOR, fund, io.BytesIO(reordered))
        assert other.status == "posted" and not other.replayed
        assert (other.rows_already_booked, other.contributions_booked) == (len(rows), 0)
        assert other.pooled_minor == {}
    assert await _booked(db, uid) == booked
