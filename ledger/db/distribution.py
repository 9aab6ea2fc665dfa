"""Where every table would live on Citus (issue 18 item 3): the declared distribution, and the
rules a declaration must keep.

This module owns `DISTRIBUTION`: one `Placement` per table of `tables.metadata`, with the
reason for it, and `problems()`, which checks a schema (read from the metadata or from a live
PostgreSQL catalog, `catalog_shape`) against it. A table added without a declaration, or a key
that a distributed table could not enforce on Citus, is a problem naming the table.

Three placements, Citus's own:

- distributed by a column (`create_distributed_table`): rows spread over shards by the hash of
  that column; member data by `worker_id` (all of a worker's rows on one shard, so a statement,
  a posting's periods or an import's declared months touch one shard per worker), fund tables
  by the fund;
- reference (`create_reference_table`): a copy on every node; small catalogues that every
  shard joins to (API clients, keys, FX rates);
- local (a table on the coordinator, `citus_add_local_table_to_metadata`): single-writer data
  that must stay in one place, and tables whose keys do not (yet) include a distribution
  column; `needs` says what change would let them spread, where they should.

The rules (Citus 11/12; its documentation, "Distributed data modeling" and "Table management"):

1. a distribution column is NOT NULL (a row must hash to a shard);
2. every primary key, unique constraint and unique index of a distributed table (partial ones
   too) includes its distribution column: a shard can only check uniqueness among its rows;
3. a foreign key of a distributed table points to a reference table, or to a distributed
   table through the distribution columns of both (colocated: the same row's shard);
4. a reference table's foreign keys point only to reference tables; a local table's to local or
   reference tables.

docs/scale.md explains the choices table by table and measures what a month costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import ForeignKeyConstraint as SaForeignKey
from sqlalchemy import MetaData, PrimaryKeyConstraint, UniqueConstraint


class Kind(StrEnum):
    DISTRIBUTED = "distributed"
    REFERENCE = "reference"
    LOCAL = "local"


@dataclass(frozen=True)
class Placement:
    kind: Kind
    reason: str
    column: str | None = None  # distributed: the distribution column
    needs: str | None = None  # local: what would make the table distributable


def distributed(column: str, reason: str) -> Placement:
    return Placement(Kind.DISTRIBUTED, reason, column=column)


def reference(reason: str) -> Placement:
    return Placement(Kind.REFERENCE, reason)


def local(reason: str, needs: str | None = None) -> Placement:
    return Placement(Kind.LOCAL, reason, needs=needs)


_WORKER = "member data: every row is one worker's, read and written with the worker's others"

DISTRIBUTION: Mapping[str, Placement] = {
    # -- member data ---------------------------------------------------------------------------
    "insurance_periods": distributed(
        "worker_id", _WORKER + "; the statement and totalisation read a worker's months"),
    "declared_months": distributed(
        "worker_id", _WORKER + "; an import checks each row's worker and month"),
    "employments": distributed(
        "worker_id", _WORKER + "; a posting checks its worker's employer"),
    "identity_claims": distributed(
        "worker_id", _WORKER + "; one claim per registering worker, reviewed with that worker"),
    "workers": local(
        "identity_hmac is unique across all workers: a registration must find another worker "
        "holding the same identity number, which no one shard can check",
        needs="identity_hmac's uniqueness in a lookup table of its own distributed by "
              "identity_hmac (identity_hmac -> worker_id); then workers distributes by id"),
    "memberships": local(
        "(fund, member_number_hmac) is unique across workers: a fund finds its member by the "
        "number; and its foreign key points to workers, which is local",
        needs="the number's uniqueness in a lookup table distributed by member_number_hmac; "
              "then memberships distributes by worker_id, colocated with workers"),
    "contributions": local(
        "its primary key is the contribution id alone: a caller may choose it, and it must be "
        "unique across workers",
        needs="primary key (worker_id, id), a caller's id unique per worker (the default id "
              "ctb:{worker}:{fund}:{scheme}:{month} already names its worker)"),
    "consent_grants": local(
        "its primary key is the grant id alone (a grant is revoked by its id)",
        needs="primary key (worker_id, id) and a revocation that names the worker"),
    "statement_reads": local(
        "an audit row keyed by a serial id (the store's autoincrement)",
        needs="primary key (worker_id, id); a few rows per statement read"),
    # -- the journal and its balances: one writer -----------------------------------------------
    "transfers": local(
        "the journal: one sequence (seq) that the Merkle log seals in order (ADR 0050), and the "
        "legs between member, fund, clearing and FX accounts written in one statement with "
        "their balances; it grows by month partitions on the one primary instead (item 1)",
        needs="per-worker legs distributed by worker_id, and a journal sealed per shard: a "
              "change of the journal's design, not of a key"),
    "accounts": local(
        "single writer: fund collections, clearing, FX and hot-family accounts take a leg of "
        "nearly every transfer, and member balances change in the journal's statement",
        needs="member accounts in a table of their own distributed by worker_id, the key "
              "unique per worker; fund and clearing accounts stay local"),
    "journal_seals": local("the journal log: one sealer appends signed tree heads in order"),
    "insurance_period_events": local(
        "the period changes' log (ADR 0059): one sequence (seq) that its Merkle log seals in "
        "order, written by the periods' own statements",
        needs="a log sealed per shard, as for the journal: a change of design, not of a key"),
    "period_seals": local("the period changes' log: one sealer appends signed tree heads"),
    "transfer_keys": local(
        "the journal's unique keys across its month partitions, written by the journal's own "
        "insert (ADR 0062)"),
    "idempotency_keys": local(
        "an answer is stored in the transaction of the postings it answers (the journal's); a "
        "few principals (one per client) would spread badly over shards; retention keeps it "
        "small (ADR 0054)"),
    # -- fund tables ---------------------------------------------------------------------------
    "inbox_messages": distributed(
        "issuer", "a fund's signed messages, sequenced per issuer and audience: one issuer's "
        "channel on one shard keeps its sequence check local"),
    "hub_acks": distributed(
        "recipient", "the hub's acknowledgements to one fund, sequenced per recipient"),
    "imports": local(
        "one row per declaration file (thousands a month), its unique (fund, file_sha256, "
        "status) is the file's replay guard",
        needs="primary key (fund, id) to distribute by fund; not worth it at its size"),
    "portability_transfers": local(
        "a flow is found by its id from the funds' messages; the settlement windows (local) "
        "claim flows in bulk",
        needs="primary key (worker_id, id) and messages that name the worker"),
    # -- clearing and settlement: the hub's single writer -----------------------------------------
    "settlement_windows": local("clearing: one window per currency open at a time, one writer"),
    "window_confirmations": local("read with their window when it closes"),
    "message_channels": local("the hub's outgoing sequence counters: one writer per channel"),
    "inbox_rejections": local("an audit of refused tokens, keyed by a serial id; few rows"),
    "channel_quotes": local(
        "a quote is found by its id alone at payment; short-lived",
        needs="primary key (channel, id) to distribute by channel"),
    "channel_payments": local(
        "a payment's id is {channel}/{channel_ref}: the channel's own idempotency, unique "
        "across workers; its FX difference and fee go to the clearing accounts",
        needs="primary key (worker_id, id) and the channel reference's uniqueness in a lookup "
              "table distributed by id"),
    "channel_payment_events": local("kept beside the payments they undo"),
    "channel_day_files": local("a few files a day per channel, keyed by a serial id"),
    "channel_obligations": local("clearing: a channel's net position per day, netted in windows"),
    # -- catalogues ----------------------------------------------------------------------------
    "api_clients": reference("a small catalogue every request authenticates against"),
    "trusted_keys": reference("the funds' published keys: small, read by every verification"),
    "fx_rates": reference("a small catalogue of rates, read by every conversion"),
    # -- monitoring releases: the hub's ----------------------------------------------------------
    "stats_releases": local("a few releases a month, signed by the hub"),
    "stats_release_files": local("the files of a release, kept with it"),
    "stats_budget": local("the privacy budget: one ledger of ε, summed before every release"),
}


@dataclass
class TableShape:
    """What the rules look at: columns (with nullability), unique keys and foreign keys."""

    nullable: dict[str, bool] = field(default_factory=dict)
    unique: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (name, columns)
    foreign: list[tuple[str, tuple[str, ...], str, tuple[str, ...]]] = field(
        default_factory=list)  # (name, columns, referred table, referred columns)


def metadata_shape(metadata: MetaData) -> dict[str, TableShape]:
    shapes: dict[str, TableShape] = {}
    for name, table in metadata.tables.items():
        shape = TableShape({c.name: bool(c.nullable) for c in table.columns})
        for constraint in table.constraints:
            columns = tuple(c.name for c in constraint.columns)  # type: ignore[attr-defined]
            label = str(constraint.name or type(constraint).__name__)
            if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint):
                shape.unique.append((label, columns))
            elif isinstance(constraint, SaForeignKey):
                shape.foreign.append((label, columns, constraint.referred_table.name,
                                      tuple(e.column.name for e in constraint.elements)))
        shape.unique += [(str(i.name), tuple(c.name for c in i.columns))
                         for i in table.indexes if i.unique]
        shapes[name] = shape
    return shapes


# A live PostgreSQL catalog: every table of the schema (a partitioned table once, not each of
# its partitions), its columns, its unique indexes (a primary key's and a unique constraint's
# among them) and its foreign keys.
_TABLES = ("c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') "
           "AND NOT c.relispartition AND c.relname <> 'alembic_version'")
_CATALOG_SQL = f"""
SELECT c.relname, 'column', a.attname, NOT a.attnotnull, NULL::text[], NULL, NULL::text[]
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE a.attnum > 0 AND NOT a.attisdropped AND {_TABLES}
UNION ALL
SELECT c.relname, 'unique', i.relname, NULL,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(n, o)
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n ORDER BY k.o),
       NULL, NULL
  FROM pg_class c JOIN pg_index x ON x.indrelid = c.oid JOIN pg_class i ON i.oid = x.indexrelid
 WHERE x.indisunique AND {_TABLES}
UNION ALL
SELECT c.relname, 'foreign', f.conname, NULL,
       ARRAY(SELECT a.attname FROM unnest(f.conkey) WITH ORDINALITY AS k(n, o)
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n ORDER BY k.o),
       r.relname,
       ARRAY(SELECT a.attname FROM unnest(f.confkey) WITH ORDINALITY AS k(n, o)
               JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.n ORDER BY k.o)
  FROM pg_class c JOIN pg_constraint f ON f.conrelid = c.oid AND f.contype = 'f'
  JOIN pg_class r ON r.oid = f.confrelid
 WHERE {_TABLES}
"""  # noqa: S608 (constant text, no input)


def catalog_query() -> str:
    """The query whose rows `catalog_shape` reads (run it on the migrated database)."""
    return _CATALOG_SQL


def catalog_shape(rows: list[tuple[object, ...]]) -> dict[str, TableShape]:
    shapes: dict[str, TableShape] = {}
    for table, what, name, nullable, columns, referred, referred_columns in rows:
        shape = shapes.setdefault(str(table), TableShape())
        if what == "column":
            shape.nullable[str(name)] = bool(nullable)
        elif what == "unique":
            shape.unique.append((str(name), tuple(columns)))  # type: ignore[arg-type]
        else:
            shape.foreign.append((str(name), tuple(columns),  # type: ignore[arg-type]
                                  str(referred), tuple(referred_columns)))  # type: ignore[arg-type]
    return shapes


def problems(shapes: Mapping[str, TableShape],
             declared: Mapping[str, Placement] = DISTRIBUTION) -> list[str]:
    """Every way `shapes` breaks the declaration or the rules above, one line each."""
    found = [f"{t}: no distribution declared (ledger/db/distribution.py)"
             for t in sorted(set(shapes) - set(declared))]
    found += [f"{t}: declared, but there is no such table" for t in sorted(set(declared)
                                                                            - set(shapes))]
    for table in sorted(set(shapes) & set(declared)):
        shape, placement = shapes[table], declared[table]
        column = placement.column
        if placement.kind is Kind.DISTRIBUTED:
            if column not in shape.nullable:
                found.append(f"{table}: no distribution column {column}")
                continue
            if shape.nullable[column]:
                found.append(f"{table}: distribution column {column} may be NULL")
            found += [f"{table}: unique key {name} {list(cols)} lacks {column}"
                      for name, cols in shape.unique if column not in cols]
        elif column is not None:
            found.append(f"{table}: a {placement.kind} table has no distribution column")
        for name, cols, referred, referred_cols in shape.foreign:
            target = declared.get(referred)
            if target is None:
                continue  # reported above as undeclared
            allowed = {Kind.DISTRIBUTED: {Kind.REFERENCE, Kind.DISTRIBUTED},
                       Kind.REFERENCE: {Kind.REFERENCE},
                       Kind.LOCAL: {Kind.LOCAL, Kind.REFERENCE}}[placement.kind]
            if target.kind not in allowed:
                found.append(f"{table}: foreign key {name} from a {placement.kind} table to "
                             f"{referred}, a {target.kind} one")
            elif placement.kind is target.kind is Kind.DISTRIBUTED and not any(
                    c == column and r == target.column
                    for c, r in zip(cols, referred_cols, strict=True)):
                found.append(f"{table}: foreign key {name} to {referred} does not join "
                             f"{column} to {target.column} (not colocated)")
    return found
