"""The tamper-evident journal (issue 16 item 2, ADR 0050), on a database of its own per store:
sealing in signed tree heads, the audit that recomputes the log from the transfers, and the
proofs a fund checks offline.

The mutation test edits, deletes, inserts and reorders transfers behind the ledger's back, with
the immutability triggers disabled (dropped on SQLite), and asserts that `audit` detects every
one and names the first bad transfer; each mutation is undone before the next.

The period state changes' log (ADR 0059) gets the same treatment: its recorded changes edited,
deleted, inserted, reordered and its seals altered, and the periods table itself edited, deleted
from and inserted into with the recording triggers off; the period audit names the first bad
change (or, for the table, the period and its last recorded change).
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
from ledger.db.channels_repo import withdraw_periods
from ledger.db.engine import Database, open_database
from ledger.db.migrate import upgrade
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode
from ledger.domain.contributions import (
    ContributionInput,
    PlannedTransfer,
    plan_transfers,
    validate_contribution,
)
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency, Money
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.posting import PostingEngine, Status, Unit
from ledger.services.signing import HubSigner
from ledger.settlement.journal import ProofInvalid, check_document
from ledger.settlement.keys import HUB, SigningKey, TrustRegistry
from ledger.settlement.messages import MessageRejected
from tests.conftest import TEST_DB
from tests.db.helpers import make_worker

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
            "journal_seals_no_delete", "transfers_keys")))  # keys: unique ids (0018)


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


async def test_a_sealed_transfer_whose_row_is_gone_is_refused_naming_the_audit(
        journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proof is built from the stored row. Found by its id, its leaf sealed, then gone when
    its row is read (deleted in between, behind the triggers' back): no proof, only the command
    that finds what else changed. The window is between two queries, so the test closes it by
    making the second one find nothing."""
    _, ident = await _leaf(journal.db, 4)

    async def gone(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(journal_repo, "transfer_at", gone)
    with pytest.raises(DomainError) as refused:
        await journal.services.journal.inclusion(ident, None)
    assert refused.value.code is ErrorCode.UNKNOWN_TRANSFER
    assert "clmtv audit verify" in refused.value.message


# -- the period state changes' log (ADR 0059) ------------------------------------------------------

PERIOD_BATCHES = 3  # each: 10 contributions (10 periods created), 2 of them withdrawn: 12 changes
THB = Currency.THB


async def _post_periods(journal: Journal, batch: int) -> None:
    """Ten contributions through the posting engine (ten periods, created active), then two of
    them withdrawn the way a refunded channel payment withdraws its months."""
    engine = PostingEngine(journal.db, ledger_transactions(journal.db))
    workers = [f"wkr_jp{batch}{n}" for n in range(2)]
    for worker in workers:
        await make_worker(journal.db, worker.removeprefix("wkr_"))
    units, ids = [], []
    for n in range(10):
        c = validate_contribution(ContributionInput(
            worker_id=workers[n % 2], fund="TH-SSO", scheme="s33-old-age",
            month=f"2026-{n // 2 + 1:02d}", wage_base=Money(2000000, THB),
            shares=[("employee", Money(52500, THB)), ("employer", Money(52500, THB)),
                    ("government", Money(17500, THB))]))
        units.append(Unit(plan_transfers(c), c))
        ids.append(c.id)
    assert {r.status for r in await engine.post(units)} == {Status.CREATED}
    assert await withdraw_periods(journal.db, [ids[3], ids[8]]) == 2


@pytest.fixture
async def periods(journal: Journal) -> Journal:
    for batch in range(PERIOD_BATCHES):
        await _post_periods(journal, batch)
        assert await journal.services.period_journal.seal_all()
    return journal


async def _changes(db: Database) -> list[tuple[int, str, str, str, int, str]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT seq, worker_id, fund, scheme, month, state FROM insurance_period_events "
            "ORDER BY seq"))
        return [(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5]) for r in rows]


async def test_every_period_change_is_recorded_in_order_and_a_clean_log_verifies(
        periods: Journal) -> None:
    """Created by the posting store (active), withdrawn by the channels' path: each change is
    recorded once, in the transaction that made it, and posting again records nothing."""
    changes = await _changes(periods.db)
    assert len(changes) == 36
    assert [c[5] for c in changes[:12]] == ["active"] * 10 + ["withdrawn"] * 2
    await _post_periods_again(periods)
    assert len(await _changes(periods.db)) == 36
    report = await periods.services.period_journal.audit()
    assert report.ok, report.to_dict()
    assert (report.tree_heads, report.tree_size, report.transfers_checked) == (3, 36, 36)
    assert await periods.services.period_journal.seal_once() is None
    assert (await periods.services.journal.audit()).ok  # the transfers' log is untouched


async def _post_periods_again(journal: Journal) -> None:
    engine = PostingEngine(journal.db, ledger_transactions(journal.db))
    c = validate_contribution(ContributionInput(
        worker_id="wkr_jp01", fund="TH-SSO", scheme="s33-old-age", month="2026-02",
        wage_base=Money(2000000, THB),
        shares=[("employee", Money(52500, THB)), ("employer", Money(52500, THB)),
                ("government", Money(17500, THB))]))
    (again,) = await engine.post([Unit(plan_transfers(c), c)])
    assert again.status is Status.EXISTS
    assert await withdraw_periods(journal.db, [c.id]) == 0  # withdrawn in batch 0 already


async def _disable_period_guards(db: Database) -> None:
    """The owner's rights again: the periods' immutability and the recording triggers off."""
    tables = ("insurance_periods", "insurance_period_events", "period_seals")
    if db.is_postgres:
        await _exec(db, *(f"ALTER TABLE {t} DISABLE TRIGGER USER" for t in tables))
    else:
        await _exec(db, *(f"DROP TRIGGER {t}" for t in (
            "insurance_periods_no_delete", "insurance_periods_one_way",
            "insurance_periods_record_created", "insurance_periods_record_changed",
            "insurance_period_events_no_update", "insurance_period_events_no_delete",
            "period_seals_no_update", "period_seals_no_delete")))


EVENT_COLUMNS = "seq, worker_id, fund, scheme, month, kind, state, contribution_id, at_us"
PERIOD_COLUMNS = "worker_id, fund, scheme, month, kind, state, contribution_id, created_at_us"


async def _period_leaf(db: Database, position: int) -> tuple[int, str]:
    async for leaf in journal_repo.iter_leaves(db, journal_repo.PERIODS):
        if leaf.position == position:
            return leaf.transfer_seq, leaf.transfer_id
    raise AssertionError(f"no period leaf {position}")


async def _shift_changes(db: Database, from_seq: int, by: int) -> None:
    await _exec(db, "UPDATE insurance_period_events SET seq = -seq WHERE seq >= :s", s=from_seq)
    await _exec(db, "UPDATE insurance_period_events SET seq = -seq + :by WHERE seq < 0", by=by)


async def _last_change(db: Database, seq: int) -> tuple[dict[str, object], str]:
    """The period whose change is at `seq`, as stored, and the id of its last change."""
    async with db.engine.connect() as conn:
        key = (await conn.execute(text(
            "SELECT worker_id, fund, scheme, month FROM insurance_period_events WHERE seq = :s"),
            {"s": seq})).one()
        where = "worker_id = :w AND fund = :f AND scheme = :c AND month = :m"
        marks = {"w": key[0], "f": key[1], "c": key[2], "m": key[3]}
        row = dict((await conn.execute(text(
            f"SELECT {PERIOD_COLUMNS} FROM insurance_periods WHERE {where}"), marks)).one()
            ._mapping)
        state = (await conn.execute(text(
            f"SELECT state FROM insurance_period_events WHERE {where} ORDER BY seq DESC"),
            marks)).first()
    assert state is not None
    return row, journal_repo.period_change_id(key[0], key[1], key[2], int(key[3]), state[0])


async def _mutate_period(db: Database, kind: str, position: int
                         ) -> tuple[Undo, str, int | None, set[str]]:
    """One mutation of the period log or the periods table; (undo, expected kind, expected
    first leaf (None: after every leaf, where the table's findings go), ids it may name)."""
    seq, ident = await _period_leaf(db, position)
    edits = {"p_contribution": ("contribution_id = contribution_id || '-x'",
                                "contribution_id = substr(contribution_id, 1, "
                                "length(contribution_id) - 2)"),
             "p_time": ("at_us = at_us - 1", "at_us = at_us + 1"),
             "p_kind": ("kind = 'voluntary'", "kind = 'compulsory'")}
    if kind in edits:
        do, undo = edits[kind]
        await _exec(db, f"UPDATE insurance_period_events SET {do} WHERE seq = :s", s=seq)
        return (lambda: _exec(db, f"UPDATE insurance_period_events SET {undo} WHERE seq = :s",
                              s=seq)), "edited", position, {ident}
    if kind == "p_delete":
        async with db.engine.connect() as conn:
            row = dict((await conn.execute(text(
                f"SELECT {EVENT_COLUMNS} FROM insurance_period_events WHERE seq = :s"),
                {"s": seq})).one()._mapping)
        await _exec(db, "DELETE FROM insurance_period_events WHERE seq = :s", s=seq)
        marks = ", ".join(f":{c.strip()}" for c in EVENT_COLUMNS.split(","))
        return (lambda: _exec(db, f"INSERT INTO insurance_period_events ({EVENT_COLUMNS}) "
                              f"VALUES ({marks})", **row)), "deleted", position, {ident}
    if kind == "p_insert":  # a change forged into the past, for a period no one posted
        await _shift_changes(db, seq, 1)
        await _exec(db, f"INSERT INTO insurance_period_events ({EVENT_COLUMNS}) SELECT :s, "
                        "'wkr_forged', fund, scheme, month, kind, 'active', 'ctb:forged', at_us "
                        "FROM insurance_period_events WHERE seq = :n", s=seq, n=seq + 1)

        async def undo_insert() -> None:
            await _exec(db, "DELETE FROM insurance_period_events WHERE worker_id = 'wkr_forged'")
            await _shift_changes(db, seq + 1, -1)
        return undo_insert, "inserted", position, {
            f"wkr_forged/{'/'.join(ident.split('/')[1:4])}/active"}
    if kind == "p_reorder":
        other = position + 3 if position + 3 < 36 else position - 3
        other_seq, other_id = await _period_leaf(db, other)
        swap = ("UPDATE insurance_period_events SET seq = -1 WHERE seq = :a",
                "UPDATE insurance_period_events SET seq = :a WHERE seq = :b",
                "UPDATE insurance_period_events SET seq = :b WHERE seq = -1")
        await _exec(db, *swap, a=seq, b=other_seq)
        return ((lambda: _exec(db, *swap, a=seq, b=other_seq)), "reordered",
                min(position, other), {ident, other_id})
    if kind == "p_log":
        seal = next(x for x in await journal_repo.seals(db, -1, 100, with_leaves=True,
                                                         log=journal_repo.PERIODS)
                    if x.tree_size > position)
        leaves = [replace(leaf, leaf_hash=bytes(32)) if leaf.position == position else leaf
                  for leaf in journal_repo.decode_leaves(seal)]
        update = "UPDATE period_seals SET leaves = :b WHERE tree_size = :t"
        await _exec(db, update, b=journal_repo.encode_leaves(leaves), t=seal.tree_size)
        return (lambda: _exec(db, update, b=seal.leaves, t=seal.tree_size)), "log_altered", \
            -1, set()
    # The periods table itself, its recorded changes left as they are.
    period, last = await _last_change(db, seq)
    where = "worker_id = :worker_id AND fund = :fund AND scheme = :scheme AND month = :month"
    if kind == "t_state":  # a withdrawn month made active again (to be refunded twice), or back
        flipped = "withdrawn" if period["state"] == "active" else "active"
        await _exec(db, f"UPDATE insurance_periods SET state = :new WHERE {where}", new=flipped,
                    **{k: period[k] for k in ("worker_id", "fund", "scheme", "month")})
        return (lambda: _exec(db, f"UPDATE insurance_periods SET state = :state WHERE {where}",
                              **period)), "edited", None, {last}
    if kind == "t_time":
        await _exec(db, f"UPDATE insurance_periods SET created_at_us = created_at_us + 1 "
                        f"WHERE {where}", **period)
        return (lambda: _exec(db, f"UPDATE insurance_periods SET created_at_us = "
                                  f"created_at_us - 1 WHERE {where}", **period)), \
            "edited", None, {last}
    if kind == "t_delete":
        await _exec(db, f"DELETE FROM insurance_periods WHERE {where}", **period)
        marks = ", ".join(f":{c.strip()}" for c in PERIOD_COLUMNS.split(","))
        return (lambda: _exec(db, f"INSERT INTO insurance_periods ({PERIOD_COLUMNS}) VALUES "
                              f"({marks})", **period)), "deleted", None, {last}
    if kind == "t_insert":  # a month no one paid for, with no change recorded
        forged = {**period, "worker_id": "wkr_forged", "state": "active"}
        marks = ", ".join(f":{c.strip()}" for c in PERIOD_COLUMNS.split(","))
        await _exec(db, f"INSERT INTO insurance_periods ({PERIOD_COLUMNS}) VALUES ({marks})",
                    **forged)
        name = journal_repo.period_change_id("wkr_forged", str(period["fund"]),
                                             str(period["scheme"]), int(str(period["month"])),
                                             "active")
        return (lambda: _exec(db, "DELETE FROM insurance_periods WHERE worker_id = "
                                  "'wkr_forged'")), "inserted", None, {name}
    raise AssertionError(kind)


PERIOD_KINDS = ("p_contribution", "p_time", "p_kind", "p_delete", "p_insert", "p_reorder",
                "p_log", "t_state", "t_time", "t_delete", "t_insert")


async def test_every_period_mutation_is_detected_and_the_first_bad_change_named(
        periods: Journal) -> None:
    db, service = periods.db, periods.services.period_journal
    await _disable_period_guards(db)
    tried = detected = 0
    for kind in PERIOD_KINDS:
        for position in POSITIONS:
            undo, expected_kind, expected_position, names = await _mutate_period(
                db, kind, position)
            report = await service.audit()
            tried += 1
            first = report.first
            assert first is not None, (kind, position)
            if kind == "p_log":
                assert first.kind == "log_altered" and first.position <= position, first
            else:
                where = report.tree_size if expected_position is None else expected_position
                assert (first.kind, first.position) == (expected_kind, where), (
                    kind, position, first.line())
                assert first.transfer_id in names, (kind, position, first.line(), names)
            detected += 1
            await undo()
            assert (await service.audit()).ok, (kind, position, (await service.audit()).to_dict())
    assert (tried, detected) == (len(PERIOD_KINDS) * len(POSITIONS),) * 2
    print(f"period mutations tried: {tried}, detected with the first bad change named: "
          f"{detected}")


async def test_the_period_record_and_its_log_refuse_updates_and_deletes(periods: Journal) -> None:
    for statement in ("UPDATE insurance_period_events SET state = 'active' WHERE seq = 11",
                      "DELETE FROM insurance_period_events WHERE seq = 11",
                      "UPDATE period_seals SET token = 'x' WHERE tree_size = 12",
                      "DELETE FROM period_seals WHERE tree_size = 12"):
        with pytest.raises(Exception, match="append-only"):
            await _exec(periods.db, statement)


async def test_a_period_changes_inclusion_proof_verifies_offline_and_a_forgery_does_not(
        periods: Journal) -> None:
    service, keys, now = periods.services.period_journal, _hub_keys(periods), 2_000_000_000
    withdrawn = "wkr_jp01/TH-SSO/s33-old-age/2026-02/withdrawn"
    for change, size in ((withdrawn, None), (withdrawn, 12), ("wkr_jp20/TH-SSO/s33-old-age/"
                                                              "2026-05/active", 36)):
        document = await service.inclusion(change, size)
        assert document["log"] == "periods" and document["period_change"]["state"] in (
            "active", "withdrawn")
        verdict = check_document(document, keys, now)
        assert verdict.kind == "inclusion" and change in verdict.lines[0]
    document = await service.inclusion(withdrawn, None)
    forged = {**document, "period_change": {**document["period_change"], "state": "active"}}
    with pytest.raises(ProofInvalid, match="NOT leaf"):
        check_document(forged, keys, now)
    # A transfer log's tree head cannot stand for the period log's.
    transfer_head = (await periods.services.journal.latest())["token"]
    with pytest.raises(ProofInvalid, match="not a tree head of the journal's periods"):
        check_document({**document, "tree_head": transfer_head}, keys, now)
    proof = await service.consistency(12, 36)
    assert proof["log"] == "periods" and check_document(proof, keys, now).kind == "consistency"
    with pytest.raises(ProofInvalid, match="not a tree head of the journal's transfers"):
        check_document({**proof, "log": "transfers"}, keys, now)
    # A change made after the last seal is sealed when its proof is asked for.
    await _post_periods(periods, 3)
    document = await service.inclusion("wkr_jp30/TH-SSO/s33-old-age/2026-05/withdrawn", None)
    assert document["tree_size"] == 48 and check_document(document, keys, now)


async def test_a_period_change_that_was_never_made_is_refused(periods: Journal) -> None:
    for change in ("wkr_jp01/TH-SSO/s33-old-age/2026-01/withdrawn", "not-a-change-id"):
        with pytest.raises(DomainError) as refused:
            await periods.services.period_journal.inclusion(change, None)
        assert (refused.value.code, refused.value.field) == (ErrorCode.NOT_FOUND, None)


async def test_a_period_proof_document_that_is_malformed_is_refused_saying_what(
        periods: Journal) -> None:
    """Each refusal of `check_document` for the period log, with the reason it names."""
    keys, now = _hub_keys(periods), 2_000_000_000
    document = await periods.services.period_journal.inclusion(
        "wkr_jp01/TH-SSO/s33-old-age/2026-02/withdrawn", 12)
    change = document["period_change"]
    for broken, reason in (
            ({**document, "log": "accounts"}, "neither 'transfers' nor 'periods'"),
            ({k: v for k, v in document.items() if k != "period_change"},
             "names no period change"),
            ({**document, "period_change": {**change, "month": "2026-02"}},
             "period change is malformed"),
            ({**document, "period_change": {k: v for k, v in change.items() if k != "kind"}},
             "period change is malformed"),
            ({**document, "leaf_index": "11"}, "leaf_index is not an integer"),
            ({**document, "period_change": {**change, "seq": "13"}}, "beyond the tree head"),
            ({**document, "audit_path": ["zz"]}, "not hex")):
        with pytest.raises(ProofInvalid, match=reason):
            check_document(broken, keys, now)
