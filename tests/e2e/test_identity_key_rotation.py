"""Identity key rotation (issue 16 item 4, ADR 0055): every identity and member number re-hashed
and re-sealed under new keys, online, in batches, resumed after an interruption; numbers stay
readable and findable throughout, and nothing is left under the old keys. The rotation runs on
a database of its own (it rewrites every row), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.cli import main
from ledger.db.engine import Database
from ledger.db.tables import identity_claims, memberships, workers
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.pii import PiiVault
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services import identity_rotation
from ledger.services.imports import ImportService
from ledger.services.workers import NewWorker, WorkerService
from tests.api.helpers import member_number, thai_id
from tests.db.helpers import make_worker
from tests.db.test_imports import JAN_2026, SSO, thai_file
from tests.fresh_db import fresh_database

pytestmark = pytest.mark.anyio
OPERATOR = Principal("rotation-operator", PrincipalKind.HUB_OPERATOR)
THAI_FUND = Principal("rotation-th", PrincipalKind.FUND, "TH-SSO")


def _keys() -> tuple[str, str]:
    return secrets.token_urlsafe(48), base64.b64encode(os.urandom(32)).decode()


class StopError(Exception):
    """Stands for the process being stopped between two batches."""


Stored = dict[str, dict[tuple[str, ...], tuple[str, bytes]]]


async def _stored(db: Database) -> Stored:
    """Every hash and ciphertext of the three tables that hold numbers, by row key."""
    out: Stored = {}
    async with db.engine.connect() as conn:
        for table, keys, h, c in (
            (workers, ("id",), "identity_hmac", "identity_ciphertext"),
            (identity_claims, ("worker_id",), "identity_hmac", "identity_ciphertext"),
            (memberships, ("worker_id", "fund"), "member_number_hmac",
             "member_number_ciphertext"),
        ):
            rows = (await conn.execute(select(*[table.c[k] for k in keys], table.c[h],
                                              table.c[c]))).all()
            out[table.name] = {tuple(str(v) for v in r[:len(keys)]): (str(r[-2]), bytes(r[-1]))
                               for r in rows if r[-1] is not None}
    return out


def _changed(before: Stored, after: Stored, table: str) -> set[tuple[str, ...]]:
    return {k for k, v in after[table].items() if before[table].get(k) != v}


async def test_a_rotation_stopped_half_way_resumes_and_numbers_stay_findable(
    tmp_path: Path, uid: str
) -> None:
    old_keys, new_keys = _keys(), _keys()
    old = PiiVault(*old_keys)
    rotating = PiiVault(*new_keys, previous=PiiVault(*old_keys))
    async with fresh_database(tmp_path) as db:
        before = WorkerService(db, old)
        people = []
        for n in range(7):
            seed = f"{uid}{n:02x}"
            identity, th, jp = f"MB{n}{uid}", thai_id(seed), member_number("JP-JPS", seed)
            view = await before.create(OPERATOR, NewWorker(
                "MM", [("TH-SSO", th), ("JP-JPS", jp)], "passport", identity))
            people.append((view.id, identity, th, jp))
        # A fund registers a second worker with the first one's passport: kept as a claim.
        claimant = await before.create(THAI_FUND, NewWorker(
            "MM", [("TH-SSO", thai_id(f"{uid}ff"))], "passport", people[0][1]))
        sealed_before = await _stored(db)

        def stop(_: identity_rotation.TableProgress) -> None:
            raise StopError

        with pytest.raises(StopError):
            await identity_rotation.rotate(db, rotating, batch=3, progress=stop)
        half = await _stored(db)
        done_first = {k[0] for k in _changed(sealed_before, half, "workers")}
        assert len(done_first) == 3  # one batch, committed
        assert not _changed(sealed_before, half, "memberships")
        waiting = next(p for p in people if p[0] not in done_first)

        # Half-way, a server on the new keys (the old ones as previous) reads and finds all.
        during = WorkerService(db, rotating)
        for worker_id, identity, th, jp in people:
            view = await during.get(OPERATOR, worker_id)
            assert view.identity_number == identity
            assert {m.member_number for m in view.memberships} == {th, jp}
            assert (await during.find(OPERATOR, "JP-JPS", jp)).id == worker_id
        # A number still held under the old key is refused as the unique index would refuse
        # it, and a passport held under the old key becomes a claim, as a new one would.
        with pytest.raises(DomainError) as refused:
            await during.create(OPERATOR, NewWorker("MM", [("TH-SSO", waiting[2])]))
        assert refused.value.code is ErrorCode.MEMBERSHIP_EXISTS
        with pytest.raises(DomainError) as refused:
            await during.create(OPERATOR, NewWorker("MM", [], "passport", waiting[1]))
        assert refused.value.code is ErrorCode.ID_CONFLICT

        report = await identity_rotation.rotate(db, rotating, batch=3)
        assert report.complete
        by_table = {t.table: t for t in report.tables}
        assert (by_table["workers"].already, by_table["workers"].rotated) == (3, 4)
        assert by_table["identity_claims"].rotated == 1
        assert by_table["memberships"].rotated == 15 and by_table["memberships"].already == 0

        # After: the new keys alone read and find everything; the old ones find nothing.
        after = WorkerService(db, PiiVault(*new_keys))
        for worker_id, identity, th, _ in people:
            assert (await after.get(OPERATOR, worker_id)).identity_number == identity
            assert (await after.find(OPERATOR, "TH-SSO", th)).id == worker_id
            with pytest.raises(DomainError):
                await before.find(OPERATOR, "TH-SSO", th)
        assert (await after.get(OPERATOR, claimant.id)).identity_number == people[0][1]
        with pytest.raises(DomainError) as refused:
            await before.get(OPERATOR, people[0][0])
        assert refused.value.code is ErrorCode.FORBIDDEN  # cannot be decrypted
        rotated = await _stored(db)
        old_hashes = {old.lookup_hash(k, n) for _, i, th, jp in people
                      for k, n in (("passport", i), ("TH-SSO", th), ("JP-JPS", jp))}
        assert not old_hashes & {h for rows in rotated.values() for h, _ in rows.values()}
        for table, rows in rotated.items():  # every hash and every ciphertext is new
            assert not {h for h, _ in rows.values()} & {h for h, _ in
                                                         sealed_before[table].values()}
            assert _changed(sealed_before, rotated, table) == set(rows)

        again = await identity_rotation.rotate(db, rotating)
        assert sum(t.rotated for t in again.tables) == 0
        assert sum(t.already for t in again.tables) == sum(len(r) for r in rotated.values())


async def test_rows_under_a_third_key_are_named_and_the_rotation_is_incomplete(
    tmp_path: Path, uid: str
) -> None:
    async with fresh_database(tmp_path) as db:
        lost = await WorkerService(db, PiiVault(*_keys())).create(
            OPERATOR, NewWorker("KH", [("VN-VSS", member_number("VN-VSS", uid))], "passport",
                                f"N{uid}"))
        report = await identity_rotation.rotate(
            db, PiiVault(*_keys(), previous=PiiVault(*_keys())))
        assert not report.complete
        assert report.tables[0].unreadable == [lost.id]
        assert report.tables[2].unreadable == [f"{lost.id}/VN-VSS"]


async def test_without_previous_keys_there_is_nothing_to_rotate_from(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db:
        with pytest.raises(DomainError) as refused:
            await identity_rotation.rotate(db, PiiVault(*_keys()))
        assert refused.value.field == "pii_previous_hmac_key"


async def test_an_import_during_a_rotation_finds_members_not_yet_rehashed(
    db: Database, uid: str
) -> None:
    old_keys, new_keys = _keys(), _keys()
    old = PiiVault(*old_keys)
    numbers = [thai_id(f"{uid}{n:04x}") for n in range(3)]
    for n, number in enumerate(numbers):
        await make_worker(db, f"{uid}{n:04d}", "TH-SSO", old.lookup_hash("TH-SSO", number))
    data = thai_file(JAN_2026, [(number, 1_500_000) for number in numbers])
    without = await ImportService(db, PiiVault(*new_keys)).import_file(
        SSO, "TH-SSO", io.BytesIO(data))
    assert without.rows_accepted == 0  # the control: the new hash alone finds none of them
    rotating = PiiVault(*new_keys, previous=PiiVault(*old_keys))
    report = await ImportService(db, rotating).import_file(
        SSO, "TH-SSO", io.BytesIO(data))
    assert report.status == "posted", report.errors
    assert report.rows_accepted == 3


def test_the_command_refuses_half_a_rotation_and_rotates_with_both_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from ledger.config import get_settings
    from ledger.db.engine import open_database
    from ledger.db.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path}/rotate.db"
    old_keys, new_keys = _keys(), _keys()

    async def seed() -> str:
        db = open_database(url, 1)
        try:
            await upgrade(db)
            view = await WorkerService(db, PiiVault(*old_keys)).create(
                OPERATOR, NewWorker("KH", [("VN-VSS", "0123456789")], "passport", "X1234567"))
            return view.id
        finally:
            await db.dispose()

    worker_id = asyncio.run(seed())
    monkeypatch.setenv("CLMTV_DATABASE_URL", url)
    monkeypatch.setenv("CLMTV_PII_HMAC_KEY", new_keys[0])
    monkeypatch.setenv("CLMTV_PII_ENCRYPTION_KEY", new_keys[1])
    monkeypatch.setenv("CLMTV_PII_PREVIOUS_HMAC_KEY", old_keys[0])
    get_settings.cache_clear()
    try:
        assert main(["db", "rotate-identity-keys"]) == 2  # no previous encryption key
        assert "go together" in capsys.readouterr().err
        monkeypatch.setenv("CLMTV_PII_PREVIOUS_ENCRYPTION_KEY", old_keys[1])
        get_settings.cache_clear()
        assert main(["db", "rotate-identity-keys", "--batch", "1"]) == 0
        out = capsys.readouterr()
        assert "workers: 1 read, 1 rotated" in out.out and "complete" in out.out
        assert "memberships: 1 read, 1 rotated" in out.err  # progress, per batch
        assert worker_id not in out.out + out.err
    finally:
        get_settings.cache_clear()

    async def read() -> str | None:
        db = open_database(url, 1)
        try:
            return (await WorkerService(db, PiiVault(*new_keys)).get(
                OPERATOR, worker_id)).identity_number
        finally:
            await db.dispose()

    assert asyncio.run(read()) == "X1234567"
