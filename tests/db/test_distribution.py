"""The Citus-ready schema (issue 18 item 3): every table has a declared placement, and every key
of a distributed table is one Citus could enforce shard by shard — over the SQLAlchemy metadata,
and on PostgreSQL over the live catalog after the migrations. Each rule is shown failing on a
schema made to break it, so that the check cannot pass by checking nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.sql.schema import SchemaItem

from ledger.db.distribution import (
    DISTRIBUTION,
    Kind,
    catalog_query,
    catalog_shape,
    distributed,
    local,
    metadata_shape,
    problems,
    reference,
)
from ledger.db.engine import Database
from ledger.db.tables import metadata

pytestmark = pytest.mark.anyio


def test_every_table_is_declared_and_every_distributed_key_holds_its_column() -> None:
    assert problems(metadata_shape(metadata)) == []


def test_every_declaration_gives_its_reason() -> None:
    for table, placement in DISTRIBUTION.items():
        assert len(placement.reason) > 20, table
        assert (placement.column is not None) == (placement.kind is Kind.DISTRIBUTED), table
        if placement.needs is not None:
            assert placement.kind is Kind.LOCAL, table


def test_member_tables_distribute_by_worker_and_fund_tables_by_fund() -> None:
    by_worker = {t for t, p in DISTRIBUTION.items() if p.column == "worker_id"}
    assert by_worker == {"insurance_periods", "declared_months", "employments",
                         "identity_claims"}
    assert DISTRIBUTION["inbox_messages"].column == "issuer"
    assert DISTRIBUTION["hub_acks"].column == "recipient"
    assert {t for t, p in DISTRIBUTION.items() if p.kind is Kind.REFERENCE} == {
        "api_clients", "trusted_keys", "fx_rates"}
    # What stays with one writer, by design rather than by a key to change.
    for table in ("transfers", "accounts", "journal_seals", "settlement_windows",
                  "channel_obligations", "message_channels"):
        assert DISTRIBUTION[table].kind is Kind.LOCAL, table


def _with_table(*columns: SchemaItem, name: str = "new_member_notes") -> MetaData:
    copy = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(copy)
    Table(name, copy, *columns)
    return copy


def test_a_new_table_without_a_declaration_fails_naming_it() -> None:
    schema = _with_table(Column("worker_id", String(64), primary_key=True))
    assert problems(metadata_shape(schema)) == [
        "new_member_notes: no distribution declared (ledger/db/distribution.py)"]


def test_a_declaration_without_its_table_fails() -> None:
    declared = {**DISTRIBUTION, "gone": local("a table dropped by a migration")}
    assert problems(metadata_shape(metadata), declared) == [
        "gone: declared, but there is no such table"]


def _check(schema: MetaData, **extra: object) -> list[str]:
    return problems(metadata_shape(schema), {**DISTRIBUTION, **extra})  # type: ignore[dict-item]


def test_a_unique_key_without_the_distribution_column_is_refused() -> None:
    notes = distributed("worker_id", "a worker's notes, read with the worker")
    schema = _with_table(Column("id", String(32), primary_key=True),
                         Column("worker_id", String(64), nullable=False))
    assert _check(schema, new_member_notes=notes) == [
        "new_member_notes: unique key PrimaryKeyConstraint ['id'] lacks worker_id"]
    schema = _with_table(Column("worker_id", String(64), primary_key=True),
                         Column("ref", String(32)), UniqueConstraint("ref", name="uq_ref"))
    assert _check(schema, new_member_notes=notes) == [
        "new_member_notes: unique key uq_ref ['ref'] lacks worker_id"]
    schema = _with_table(Column("worker_id", String(64), primary_key=True),
                         Column("ref", String(32)))
    Index("uq_partial", schema.tables["new_member_notes"].c.ref, unique=True,
          postgresql_where=schema.tables["new_member_notes"].c.ref.isnot(None))
    assert _check(schema, new_member_notes=notes) == [
        "new_member_notes: unique key uq_partial ['ref'] lacks worker_id"]


def test_a_missing_or_nullable_distribution_column_is_refused() -> None:
    schema = _with_table(Column("id", String(32), primary_key=True),
                         Column("worker_id", String(64)), name="new_a")
    Table("new_b", schema, Column("id", String(32), primary_key=True))
    assert _check(schema, new_a=distributed("worker_id", "x" * 30),
                  new_b=distributed("worker_id", "x" * 30)) == [
        "new_a: distribution column worker_id may be NULL",
        "new_a: unique key PrimaryKeyConstraint ['id'] lacks worker_id",
        "new_b: no distribution column worker_id"]


def test_foreign_keys_must_stay_within_what_citus_can_join() -> None:
    schema = _with_table(
        Column("worker_id", String(64), primary_key=True),
        Column("fund", String(16), primary_key=True),
        Column("account", String(64), ForeignKey("workers.id")),  # workers is local
        Column("issuer", String(32)), Column("audience", String(32)), Column("jti", String(128)),
        Column("client", String(64), ForeignKey("api_clients.token_hash")),  # a reference table
    )
    from sqlalchemy import ForeignKeyConstraint
    notes = schema.tables["new_member_notes"]
    # Distributed to distributed, but not joined on both distribution columns.
    notes.append_constraint(ForeignKeyConstraint(
        ["issuer", "audience", "jti"], ["inbox_messages.issuer", "inbox_messages.audience",
                                        "inbox_messages.jti"], name="fk_inbox"))
    notes.append_constraint(ForeignKeyConstraint(
        ["worker_id", "fund", "fund", "worker_id"],
        ["insurance_periods.worker_id", "insurance_periods.fund", "insurance_periods.scheme",
         "insurance_periods.month"], name="fk_colocated"))
    found = _check(schema, new_member_notes=distributed("worker_id", "x" * 30))
    assert sorted(found) == sorted([
        "new_member_notes: foreign key NoneType from a distributed table to workers, a local "
        "one".replace("NoneType", _fk_name(notes, "workers")),
        "new_member_notes: foreign key fk_inbox to inbox_messages does not join worker_id to "
        "issuer (not colocated)"])
    # The same table as reference: it may point only to reference tables.
    found = _check(schema, new_member_notes=reference("x" * 30))
    assert sorted(found) == sorted([
        f"new_member_notes: foreign key {_fk_name(notes, 'workers')} from a reference table to "
        "workers, a local one",
        "new_member_notes: foreign key fk_inbox from a reference table to inbox_messages, a "
        "distributed one",
        "new_member_notes: foreign key fk_colocated from a reference table to "
        "insurance_periods, a distributed one"])
    # Local: to local and reference tables only.
    found = _check(schema, new_member_notes=local("x" * 30))
    assert sorted(found) == sorted([
        "new_member_notes: foreign key fk_inbox from a local table to inbox_messages, a "
        "distributed one",
        "new_member_notes: foreign key fk_colocated from a local table to insurance_periods, "
        "a distributed one"])


def _fk_name(table: Table, referred: str) -> str:
    for constraint in table.foreign_key_constraints:
        if constraint.referred_table.name == referred:
            return str(constraint.name or type(constraint).__name__)
    raise AssertionError(referred)


def test_a_placement_that_is_not_distributed_takes_no_column() -> None:
    from ledger.db.distribution import Placement
    declared = {**DISTRIBUTION, "fx_rates": Placement(Kind.REFERENCE, "x" * 30, column="base")}
    assert problems(metadata_shape(metadata), declared) == [
        "fx_rates: a reference table has no distribution column"]


@pytest.mark.postgres_only
async def test_the_migrated_catalog_keeps_the_declaration(db: Database) -> None:
    """What the migrations made, not what tables.py says: a table or a unique index created
    by a migration alone is checked too (partitions count once, as their table)."""
    async with db.engine.connect() as conn:
        rows = [tuple(r) for r in (await conn.execute(text(catalog_query()))).all()]
    shapes = catalog_shape(rows)
    assert set(shapes) == set(metadata.tables)
    assert problems(shapes) == []
    # The catalog is read, not assumed: the keys of a distributed table are all there.
    periods = shapes["insurance_periods"]
    assert ("insurance_periods_pkey", ("worker_id", "fund", "scheme", "month")) in periods.unique
    assert periods.nullable["worker_id"] is False
    memberships = shapes["memberships"]
    assert ("uq_memberships_fund_number", ("fund", "member_number_hmac")) in memberships.unique
    assert any(r == "workers" for _, _, r, _ in memberships.foreign)
    # And a breach in the live catalog is found: memberships declared distributed by worker.
    declared = {**DISTRIBUTION, "memberships": distributed("worker_id", "x" * 30)}
    assert problems(shapes, declared) == [
        "memberships: unique key uq_memberships_fund_number ['fund', 'member_number_hmac'] "
        "lacks worker_id",
        "memberships: foreign key memberships_worker_id_fkey from a distributed table to "
        "workers, a local one"]
