"""The tamper-evident journal (issue 16 item 2, ADR 0050), on a database of its own per store:
sealing in signed tree heads, the audit that recomputes the log from the transfers, and the
proofs a fund checks offline.

The mutation test edits, deletes, inserts and reorders transfers behind the ledger's back, with
the immutability triggers disabled (dropped on SQLite), and asserts that `audit` detects every
one and names the first bad transfer; each mutation is undone before the next.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.composition import Services, build_services
from ledger.config import Settings
from ledger.db import journal_repo
from ledger.db.engine import Database, open_database
from ledger.db.migrate import upgrade
from ledger.domain.accounts import AccountCode
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.signing import HubSigner
from ledger.settlement.journal import ProofInvalid, check_document
from ledger.settlement.keys import HUB, SigningKey, TrustRegistry
from ledger.settlement.messages import MessageRejected
from tests.conftest import TEST_DB

pytestmark = pytest.mark.anyio

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres_only)]
OPERATOR = Principal("journal-operator", PrincipalKind.HUB_OPERATOR)
BATCHES = (12, 12, 12)  # transfers posted before each seal: three tree heads


@dataclass
class Journal:
    db: Database
    services: Services
    accounts: list[int]
    posted: int = 0

    async def post(self, count: int, tag: str = "t") -> None:
        for _ in range(count):
            n = self.posted
            debit, credit = self.accounts[n % 3], self.accounts[(n + 1) % 3]
            (result,) = await self.services.transfers.create(OPERATOR, [PlannedTransfer(
                f"jr-{tag}-{n}", debit, credit, 100 + n, Currency.THB)])
            assert result.error is None, result.error
            self.posted += 1


@pytest.fixture(params=STORES)
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Journal]:
    scratch = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/journal.db"
    else:
        import asyncpg

        base, name = TEST_DB.rsplit("/", 1)
        scratch = f"{name}_journal_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(f"{base}/{name}".replace("+asyncpg", ""))
        await admin.execute(f'CREATE DATABASE "{scratch}"')
        url = f"{base}/{scratch}"
    db = open_database(url, 5)
    await upgrade(db)
    services = build_services(Settings(database_url=url), db=db,
                              signer=HubSigner(SigningKey.generate(HUB)))
    services.journal.horizon_wait_s = 2.0
    services.committer.start()
    accounts = [(await services.transfers.open_account(
        OPERATOR, f"journal/{n}", AccountCode.OPERATING, Currency.THB, AccountFlags.NONE)).id
        for n in range(3)]
    wired = Journal(db, services, accounts)
    for count in BATCHES:
        await wired.post(count)
        assert await services.journal.seal_all()
    try:
        yield wired
    finally:
        await services.committer.stop()
        await db.dispose()
        if scratch is not None:
            await admin.execute(f'DROP DATABASE "{scratch}" WITH (FORCE)')
            await admin.close()


async def test_a_clean_journal_verifies_and_nothing_new_makes_no_seal(journal: Journal) -> None:
    report = await journal.services.journal.audit()
    assert report.ok, report.to_dict()
    assert (report.tree_heads, report.tree_size, report.transfers_checked) == (3, 36, 36)
    assert await journal.services.journal.seal_once() is None


async def _exec(db: Database, *statements: str, **params: object) -> None:
    async with db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), params)


async def _disable_guards(db: Database) -> None:
    """What someone with the database's owner rights can do: switch the triggers off."""
    if db.is_postgres:
        await _exec(db, "ALTER TABLE transfers DISABLE TRIGGER USER",
                    "ALTER TABLE journal_seals DISABLE TRIGGER USER")
    else:
        await _exec(db, *(f"DROP TRIGGER {t}" for t in (
            "transfers_no_update", "transfers_no_delete", "journal_seals_no_update",
            "journal_seals_no_delete", "transfers_keys")))  # keys: unique ids (0017)


async def _leaf(db: Database, position: int) -> tuple[int, str]:
    async for leaf in journal_repo.iter_leaves(db):
        if leaf.position == position:
            return leaf.transfer_seq, leaf.transfer_id
    raise AssertionError(f"no leaf {position}")


COLUMNS = ("seq, id, debit_account_id, credit_account_id, amount_minor, currency, flags, "
           "pending_id, reversal_of, code, contribution_id, created_at_us")
Undo = Callable[[], Awaitable[None]]


async def _shift(db: Database, from_seq: int, by: int) -> None:
    """Move every transfer at or after `from_seq` by `by` (through negatives: unique seq)."""
    await _exec(db, "UPDATE transfers SET seq = -seq WHERE seq >= :s", s=from_seq)
    await _exec(db, "UPDATE transfers SET seq = -seq + :by WHERE seq < 0", by=by)


async def _mutate(db: Database, kind: str, position: int) -> tuple[Undo, str, int, set[str]]:
    """Apply one mutation at leaf `position`; (undo, expected kind, expected first leaf, the
    transfer ids the first finding may name)."""
    seq, ident = await _leaf(db, position)
    if kind == "amount":
        await _exec(db, "UPDATE transfers SET amount_minor = amount_minor + 1 WHERE seq = :s",
                    s=seq)
        return (lambda: _exec(db, "UPDATE transfers SET amount_minor = amount_minor - 1 "
                                  "WHERE seq = :s", s=seq)), "edited", position, {ident}
    if kind == "accounts":
        swap = ("UPDATE transfers SET debit_account_id = credit_account_id, "
                "credit_account_id = debit_account_id WHERE seq = :s")
        await _exec(db, swap, s=seq)
        return (lambda: _exec(db, swap, s=seq)), "edited", position, {ident}
    if kind == "time":
        await _exec(db, "UPDATE transfers SET created_at_us = created_at_us - 1 WHERE seq = :s",
                    s=seq)
        return (lambda: _exec(db, "UPDATE transfers SET created_at_us = created_at_us + 1 "
                                  "WHERE seq = :s", s=seq)), "edited", position, {ident}
    if kind == "id":
        await _exec(db, "UPDATE transfers SET id = id || '-x' WHERE seq = :s", s=seq)
        return (lambda: _exec(db, "UPDATE transfers SET id = :i WHERE seq = :s", i=ident,
                              s=seq)), "edited", position, {ident}
    if kind == "delete":
        async with db.engine.connect() as conn:
            row = dict((await conn.execute(text(f"SELECT {COLUMNS} FROM transfers WHERE "
                                                "seq = :s"), {"s": seq})).one()._mapping)
        await _exec(db, "DELETE FROM transfers WHERE seq = :s", s=seq)
        marks = ", ".join(f":{c.strip()}" for c in COLUMNS.split(","))
        return (lambda: _exec(db, f"INSERT INTO transfers ({COLUMNS}) VALUES ({marks})",
                              **row)), "deleted", position, {ident}
    if kind == "insert":
        forged = f"forged-{position}"
        await _shift(db, seq, 1)
        await _exec(db, f"INSERT INTO transfers ({COLUMNS}) SELECT :s, :f, debit_account_id, "
                        "credit_account_id, 999999, currency, flags, NULL, NULL, code, NULL, "
                        "created_at_us FROM transfers WHERE seq = :n", s=seq, f=forged, n=seq + 1)

        async def undo_insert() -> None:
            await _exec(db, "DELETE FROM transfers WHERE id = :f", f=forged)
            await _shift(db, seq + 1, -1)
        return undo_insert, "inserted", position, {forged}
    if kind == "reorder":
        other = position + 3 if position + 3 < 36 else position - 3
        other_seq, other_id = await _leaf(db, other)
        swap = ("UPDATE transfers SET seq = -1 WHERE seq = :a",
                "UPDATE transfers SET seq = :a WHERE seq = :b",
                "UPDATE transfers SET seq = :b WHERE seq = -1")
        await _exec(db, *swap, a=seq, b=other_seq)
        first = min(position, other)
        return ((lambda: _exec(db, *swap, a=seq, b=other_seq)), "reordered", first,
                {ident, other_id})
    if kind == "log":  # one leaf hash in its seal's blob zeroed
        seal = next(x for x in await journal_repo.seals(db, -1, 100, with_leaves=True)
                    if x.tree_size > position)
        leaves = [replace(leaf, leaf_hash=bytes(32)) if leaf.position == position else leaf
                  for leaf in journal_repo.decode_leaves(seal)]
        update = "UPDATE journal_seals SET leaves = :b WHERE tree_size = :t"
        await _exec(db, update, b=journal_repo.encode_leaves(leaves), t=seal.tree_size)
        return (lambda: _exec(db, update, b=seal.leaves, t=seal.tree_size)), "log_altered", \
            -1, set()
    raise AssertionError(kind)


KINDS = ("amount", "accounts", "time", "id", "delete", "insert", "reorder", "log")
POSITIONS = (0, 7, 12, 23, 30, 35)  # the first leaf, inside and at the edges of each seal


async def test_every_mutation_is_detected_and_the_first_bad_transfer_named(
        journal: Journal) -> None:
    db, service = journal.db, journal.services.journal
    await _disable_guards(db)
    tried = detected = 0
    for kind in KINDS:
        for position in POSITIONS:
            undo, expected_kind, expected_position, names = await _mutate(db, kind, position)
            report = await service.audit()
            tried += 1
            first = report.first
            assert first is not None, (kind, position)
            if kind == "log":
                # The log itself was altered: the seal whose root no longer matches says where.
                assert first.kind == "log_altered" and first.position <= position, first
            else:
                assert (first.kind, first.position) == (expected_kind, expected_position), (
                    kind, position, first.line())
                assert first.transfer_id in names, (kind, position, first.line())
            detected += 1
            await undo()
            assert (await service.audit()).ok, (kind, position)
    assert (tried, detected) == (len(KINDS) * len(POSITIONS),) * 2
    print(f"journal mutations tried: {tried}, detected with the first bad transfer named: "
          f"{detected}")


async def test_the_log_tables_refuse_updates_and_deletes(journal: Journal) -> None:
    for statement in ("UPDATE journal_seals SET token = 'x' WHERE tree_size = 12",
                      "DELETE FROM journal_seals WHERE tree_size = 12"):
        with pytest.raises(Exception, match="append-only"):
            await _exec(journal.db, statement)


def _hub_keys(journal: Journal) -> TrustRegistry:
    return journal.services.signer.trust()


async def test_inclusion_and_consistency_proofs_verify_offline_and_a_forgery_does_not(
        journal: Journal) -> None:
    service, keys = journal.services.journal, _hub_keys(journal)
    now = 2_000_000_000
    for transfer_id in ("jr-t-0", "jr-t-13", "jr-t-35"):
        for size in (None, 36):
            document = await service.inclusion(transfer_id, size)
            assert check_document(document, keys, now).kind == "inclusion"
    document = await service.inclusion("jr-t-13", 24)
    assert document["leaf_index"] == 13 and document["tree_size"] == 24
    forged = {**document, "transfer": {**document["transfer"], "amount_minor": "1"}}
    with pytest.raises(ProofInvalid, match="NOT leaf 13"):
        check_document(forged, keys, now)

    for first, second in ((12, 24), (12, 36), (24, 36), (36, 36)):
        proof = await service.consistency(first, second)
        assert check_document(proof, keys, now).kind == "consistency"
    proof = await service.consistency(12, 36)
    with pytest.raises(ProofInvalid, match="history was rewritten"):
        check_document({**proof, "proof": list(reversed(proof["proof"]))}, keys, now)
    stranger = HubSigner(SigningKey.generate(HUB))
    head = stranger.sign_tree_head(36, bytes(32), 36, 1_800_000_000_000_000)
    with pytest.raises(MessageRejected):
        check_document({**proof, "second": head}, keys, now)

    # A transfer posted after the last seal is sealed when its proof is asked for.
    await journal.post(1, "late")
    document = await service.inclusion("jr-late-36", None)
    assert document["tree_size"] == 37 and check_document(document, keys, now)


@pytest.mark.postgres_only
async def test_postgresql_seals_nothing_past_a_transaction_still_running(
        journal: Journal) -> None:
    """A transaction holding a lower seq commits after a higher one: the sealer waits for it
    (or seals nothing), so the log never skips a transfer that commits later."""
    import asyncpg

    if not journal.db.is_postgres:
        pytest.skip("SQLite has one writer at a time: nothing commits out of seq order")
    service = journal.services.journal
    service.horizon_wait_s = 0.3
    held = await asyncpg.connect(journal.db.url.replace("+asyncpg", ""))
    try:
        transaction = held.transaction()
        await transaction.start()
        await held.execute(
            "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_minor, "
            "currency, flags, code, created_at_us) VALUES ('jr-held', $1, $2, 5, 'THB', 0, "
            "'transfer', 1)", journal.accounts[0], journal.accounts[1])
        await journal.post(1, "after")  # a higher seq, committed
        assert await service.seal_once() is None  # the held transaction is still running
        await transaction.commit()
    finally:
        await held.close()
    sealed = await service.seal_all()
    assert sealed and sealed[-1].tree_size == 38
    report = await service.audit()
    assert report.ok, report.to_dict()


async def test_the_hub_rewriting_and_resigning_its_log_is_caught_by_a_kept_tree_head(
        journal: Journal) -> None:
    """The one party the stored seals cannot catch holds the signing key: it edits a transfer,
    throws the log away and seals it again. Its own audit then passes; a fund's kept head
    does not."""
    service = journal.services.journal
    kept = [(await service.latest())["token"], (await service.tree_heads(0, 1))[0]["token"]]
    assert (await service.audit(kept=kept)).ok
    await _disable_guards(journal.db)
    seq, _ = await _leaf(journal.db, 5)
    await _exec(journal.db, "UPDATE transfers SET amount_minor = 1 WHERE seq = :s", s=seq)
    await _exec(journal.db, "DELETE FROM journal_seals")
    assert await service.seal_all()
    assert (await service.audit()).ok  # the rewritten log agrees with itself
    report = await service.audit(kept=kept)
    assert [f.kind for f in report.findings] == ["rewritten", "rewritten"], report.to_dict()
    assert "size 12 " in report.findings[1].detail


async def test_proofs_of_what_is_not_sealed_or_of_no_such_tree_are_refused(
        journal: Journal) -> None:
    """The journal's refusals: a transfer no tree head holds yet, a leaf beyond the tree asked
    for (409 not_sealed_yet), a tree size no head has, and consistency asked backwards (422)."""
    svc = journal.services.journal
    await journal.post(1, tag="late")  # committed, not sealed: no seal_all here
    for transfer_id, size, field in (("jr-late-36", 36, None), ("jr-t-30", 12, "tree_size")):
        with pytest.raises(DomainError) as refused:
            await svc.inclusion(transfer_id, size)
        assert (refused.value.code, refused.value.field) == (ErrorCode.NOT_SEALED_YET, field)
    with pytest.raises(DomainError) as refused:
        await svc.inclusion("jr-t-3", 5)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "tree_size")
    with pytest.raises(DomainError) as refused:
        await svc.consistency(36, 12)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "first")
