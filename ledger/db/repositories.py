"""Queries outside the posting path: workers, memberships, API clients, accounts, transfers.

Services call these functions and never see SQLAlchemy. Unique-key violations come back as
`DuplicateKeyError` naming the constraint, so services can say which field clashed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from ledger.db.engine import Database
from ledger.db.ledger_store import TransferRecord, transfer_from_row
from ledger.db.tables import (
    accounts,
    api_clients,
    contributions,
    identity_claims,
    insurance_periods,
    memberships,
    transfers,
    trusted_keys,
    workers,
)

Row = dict[str, Any]


class DuplicateKeyError(Exception):
    """A unique constraint refused a row; `detail` is the database's message (names columns)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _duplicate(exc: IntegrityError) -> DuplicateKeyError:
    return DuplicateKeyError(str(exc.orig))


async def insert_worker(db: Database, worker: Row, member_rows: Sequence[Row],
                        claim: Row | None = None) -> None:
    """The worker and its memberships; with `claim`, an identity claim kept for review."""
    try:
        async with db.engine.begin() as conn:
            await conn.execute(insert(workers).values(**worker))
            if member_rows:
                await conn.execute(insert(memberships), list(member_rows))
            if claim is not None:
                await conn.execute(insert(identity_claims).values(**claim))
    except IntegrityError as exc:
        raise _duplicate(exc) from None


async def insert_workers_bulk(db: Database, worker_rows: Sequence[Row],
                              member_rows: Sequence[Row]) -> None:
    """Many workers and their memberships in one transaction (all or none): the bulk
    registration path, which must not pay a round trip per worker."""
    try:
        async with db.engine.begin() as conn:
            if worker_rows:
                await conn.execute(insert(workers), list(worker_rows))
            if member_rows:
                await conn.execute(insert(memberships), list(member_rows))
    except IntegrityError as exc:
        raise _duplicate(exc) from None


async def identity_claim(db: Database, worker_id: str) -> Row | None:
    async with db.engine.connect() as conn:
        found = (await conn.execute(select(identity_claims).where(
            identity_claims.c.worker_id == worker_id))).first()
    return dict(found._mapping) if found else None


async def identity_claims_list(db: Database, limit: int) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(identity_claims).order_by(
            identity_claims.c.created_at_us).limit(limit))).all()
    return [dict(r._mapping) for r in rows]


async def existing_workers(db: Database, ids: Sequence[str]) -> set[str]:
    """Which of these worker ids exist (in chunks: a bulk enrolment checks thousands)."""
    found: set[str] = set()
    unique = sorted(set(ids))
    async with db.engine.connect() as conn:
        for start in range(0, len(unique), 500):
            rows = await conn.execute(select(workers.c.id).where(
                workers.c.id.in_(unique[start:start + 500])))
            found.update(r[0] for r in rows)
    return found


async def insert_membership(db: Database, row: Row) -> None:
    try:
        async with db.engine.begin() as conn:
            await conn.execute(insert(memberships).values(**row))
    except IntegrityError as exc:
        raise _duplicate(exc) from None


async def worker_with_memberships(db: Database, worker_id: str) -> tuple[Row | None, list[Row]]:
    async with db.engine.connect() as conn:
        worker = (await conn.execute(select(workers).where(workers.c.id == worker_id))).first()
        rows = (await conn.execute(select(memberships).where(
            memberships.c.worker_id == worker_id).order_by(memberships.c.fund))).all()
    return (dict(worker._mapping) if worker else None), [dict(r._mapping) for r in rows]


async def worker_id_by_member(db: Database, fund: str, number_hmacs: Sequence[str]
                              ) -> str | None:
    """The member's worker; `number_hmacs` are the hashes the number may be stored under (two
    during an identity key rotation)."""
    async with db.engine.connect() as conn:
        found = (await conn.execute(select(memberships.c.worker_id).where(
            memberships.c.fund == fund, memberships.c.member_number_hmac.in_(number_hmacs)
        ).limit(1))).scalar()
    return None if found is None else str(found)


async def held_under_previous_key(db: Database, identity_hmac: str | None,
                                  members: Sequence[tuple[str, str]]) -> str | None:
    """During an identity key rotation, a row not yet re-hashed is not caught by the unique
    indexes when the same number is written under the new key: which index it would clash on
    (named as the database names it), or None. `members`: (fund, hash under the previous key)."""
    async with db.engine.connect() as conn:
        if identity_hmac is not None and (await conn.execute(select(workers.c.id).where(
                workers.c.identity_hmac == identity_hmac).limit(1))).first():
            return "workers.identity_hmac"
        for fund, number_hmac in members:
            if (await conn.execute(select(memberships.c.worker_id).where(
                    memberships.c.fund == fund,
                    memberships.c.member_number_hmac == number_hmac).limit(1))).first():
                return "uq_memberships_fund_number"
    return None


async def existing_memberships(
    db: Database, pairs: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    # By the primary key's leading column, pairs filtered here: a row-value IN list planned as a
    # scan of the whole table (48 ms for 400 pairs among 10,000 members).
    wanted = set(pairs)
    workers_ = sorted({w for w, _ in wanted})
    found: set[tuple[str, str]] = set()
    async with db.engine.connect() as conn:
        for start in range(0, len(workers_), 500):
            rows = await conn.execute(
                select(memberships.c.worker_id, memberships.c.fund).where(
                    memberships.c.worker_id.in_(workers_[start : start + 500])))
            found.update(p for p in ((r.worker_id, r.fund) for r in rows) if p in wanted)
    return found


async def insert_client(db: Database, row: Row) -> None:
    try:
        async with db.engine.begin() as conn:
            await conn.execute(insert(api_clients).values(**row))
    except IntegrityError as exc:
        raise _duplicate(exc) from None


async def insert_clients_bulk(db: Database, rows: Sequence[Row]) -> None:
    try:
        async with db.engine.begin() as conn:
            await conn.execute(insert(api_clients), list(rows))
    except IntegrityError as exc:
        raise _duplicate(exc) from None


async def clients(db: Database) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(api_clients).order_by(api_clients.c.name))).all()
    return [dict(r._mapping) for r in rows]


async def update_client(db: Database, name: str, values: Row) -> bool:
    """Change the named client's row (its token hash on rotation, its revocation); False when
    no client has that name."""
    async with db.engine.begin() as conn:
        done = await conn.execute(api_clients.update().where(api_clients.c.name == name)
                                  .values(**values))
    return bool(done.rowcount)


async def client_by_token_hash(db: Database, digest: str) -> Row | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(
            select(api_clients).where(api_clients.c.token_hash == digest))).first()
    return dict(row._mapping) if row else None


async def open_account(db: Database, row: Row) -> Row:
    """Insert the account unless its key exists; return the stored row either way."""
    async with db.engine.begin() as conn:
        existing = (await conn.execute(
            select(accounts).where(accounts.c.key == row["key"]))).first()
        if existing is None:
            await conn.execute(insert(accounts).values(
                **row, debits_pending=0, debits_posted=0, credits_pending=0, credits_posted=0))
            existing = (await conn.execute(
                select(accounts).where(accounts.c.key == row["key"]))).one()
    return dict(existing._mapping)


async def account_by_id(db: Database, account_id: int) -> Row | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
    return dict(row._mapping) if row else None


async def account_funds(db: Database, ids: Sequence[int]) -> list[str | None]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(
            select(accounts.c.fund).where(accounts.c.id.in_(ids)))).scalars().all())


async def list_accounts(
    db: Database, *, fund: str | None, worker_id: str | None, code: str | None,
    after_id: int, limit: int,
) -> list[Row]:
    query = select(accounts).where(accounts.c.id > after_id)
    if fund:
        query = query.where(accounts.c.fund == fund)
    if worker_id:
        query = query.where(accounts.c.worker_id == worker_id)
    if code:
        query = query.where(accounts.c.code == code)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query.order_by(accounts.c.id).limit(limit))).all()
    return [dict(r._mapping) for r in rows]


async def transfer_by_id(db: Database, transfer_id: str) -> TransferRecord | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(transfers).where(transfers.c.id == transfer_id))
               ).mappings().first()
    return transfer_from_row(row) if row else None


async def transfers_of_account(
    db: Database, account_id: int, after_seq: int, limit: int
) -> list[tuple[int, TransferRecord]]:
    query = (
        select(transfers)
        .where(or_(transfers.c.debit_account_id == account_id,
                   transfers.c.credit_account_id == account_id), transfers.c.seq > after_seq)
        .order_by(transfers.c.seq).limit(limit)
    )
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [(int(r["seq"]), transfer_from_row(r)) for r in rows]


async def posted_totals_by_currency(db: Database) -> dict[str, tuple[int, int]]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(
            select(accounts.c.currency, func.sum(accounts.c.debits_posted),
                   func.sum(accounts.c.credits_posted)).group_by(accounts.c.currency))).all()
    return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows}


async def contribution_totals(db: Database) -> dict[tuple[str, str, str], int]:
    """Booked contributions by (fund, scheme, payer): every contribution's shares (API and
    files alike; one member account holds all payers', ADR 0026) and the branch pools' per-file
    transfers (the payer ends the pooled transfer's id)."""
    from sqlalchemy import text

    found: dict[tuple[str, str, str], int] = {}
    async with db.engine.connect() as conn:
        # Shares repeat (one wage, one split): parse each distinct text once.
        grouped = await conn.execute(text(
            "SELECT fund, scheme, shares, count(*) FROM contributions "
            "GROUP BY fund, scheme, shares"))
        for fund, scheme, shares, times in grouped.all():
            for payer, amount in json.loads(shares).items():
                key = (fund, scheme, payer)
                found[key] = found.get(key, 0) + int(amount) * int(times)
        pooled = await conn.execute(text(
            "SELECT a.fund, a.scheme, t.id, t.amount_minor FROM transfers t "
            "JOIN accounts a ON a.id = t.credit_account_id "
            "WHERE a.code = 'branch_pool' AND t.code = 'import_pool'"))
        for fund, scheme, transfer_id, amount in pooled.all():
            key = (fund, scheme, transfer_id.rsplit("/", 1)[1])
            found[key] = found.get(key, 0) + int(amount)
    return found


async def worker_accounts(db: Database, worker_id: str) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(accounts).where(accounts.c.worker_id == worker_id)
                                   .order_by(accounts.c.fund, accounts.c.scheme,
                                             accounts.c.payer))).all()
    return [dict(r._mapping) for r in rows]


async def worker_periods(db: Database, worker_id: str) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(insurance_periods).where(
            insurance_periods.c.worker_id == worker_id).order_by(
            insurance_periods.c.fund, insurance_periods.c.scheme, insurance_periods.c.month))
        ).all()
    return [dict(r._mapping) for r in rows]


async def worker_contributions(db: Database, worker_id: str) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(contributions).where(
            contributions.c.worker_id == worker_id).order_by(
            contributions.c.fund, contributions.c.month, contributions.c.scheme))).all()
    return [dict(r._mapping) for r in rows]


async def trusted_key_rows(db: Database) -> list[tuple[str, str]]:
    """(issuer, public JWK as JSON) for every published key."""
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(trusted_keys.c.issuer, trusted_keys.c.jwk)
                                   .order_by(trusted_keys.c.issuer, trusted_keys.c.kid))).all()
    return [(r[0], r[1]) for r in rows]


async def trusted_keys_version(db: Database) -> tuple[int, int]:
    """(rows, newest update): changes whenever any process publishes or revokes a key, so a
    process can keep its parsed registry until then (one indexed aggregate per use)."""
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(func.count(), func.coalesce(
            func.max(trusted_keys.c.updated_at_us), 0)).select_from(trusted_keys))).one()
    return int(row[0]), int(row[1])


async def save_trusted_keys(db: Database, rows: Sequence[tuple[str, str, str]], now_us: int
                            ) -> None:
    """Insert or replace (kid, issuer, jwk) rows in one transaction."""
    async with db.engine.begin() as conn:
        for kid, issuer, jwk in rows:
            updated = await conn.execute(trusted_keys.update().where(
                trusted_keys.c.issuer == issuer, trusted_keys.c.kid == kid,
            ).values(jwk=jwk, updated_at_us=now_us))
            if updated.rowcount == 0:
                await conn.execute(insert(trusted_keys).values(
                    kid=kid, issuer=issuer, jwk=jwk, updated_at_us=now_us))


async def ping(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(select(1))
