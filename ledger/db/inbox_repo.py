"""The inbox's tables: channels (next sequence numbers), messages, refused arrivals.

`intake` runs one transaction that locks the channels a batch touches, reads what the inbox has
already seen of it, lets the caller classify every arrival, and writes the outcome; `finish`
stores each processed message's result (and the hub's signed acknowledgement) in another. Both
take whole batches: a batch costs a fixed number of round trips however many messages it holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.db.engine import Database
from ledger.db.sql import among
from ledger.db.tables import hub_acks, inbox_messages, inbox_rejections, message_channels
from ledger.limits import REFUSAL_PREFIX_CHARS

Row = dict[str, Any]
ChannelKey = tuple[str, str]  # issuer, audience


@dataclass(slots=True)
class Snapshot:
    """What the inbox knows about the channels and jtis of one batch, as locked."""

    next_seq: dict[ChannelKey, int]
    seen: dict[tuple[str, str], Row]  # (issuer, jti) -> message row
    held: dict[ChannelKey, dict[int, Row]]  # seq -> held message row


@dataclass(slots=True)
class Intake:
    """What the caller decided: rows to insert, held rows now delivered, new channel positions."""

    inserts: list[Row] = field(default_factory=list)
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (issuer, jti) held -> received
    # Held messages refused after all (their key was revoked, or they expired, while they waited):
    # removed from the messages, so their sequence numbers are free again, and kept as refusals.
    dropped: list[tuple[Row, str, str]] = field(default_factory=list)  # (row, reason, detail)
    next_seq: dict[ChannelKey, int] = field(default_factory=dict)


async def _lock_channels(conn: AsyncConnection, keys: Sequence[ChannelKey], postgres: bool
                         ) -> dict[ChannelKey, int]:
    if not keys:
        return {}
    where = or_(*(and_(message_channels.c.issuer == i, message_channels.c.audience == a)
                  for i, a in keys))
    query = select(message_channels).where(where).order_by(message_channels.c.issuer,
                                                             message_channels.c.audience)
    if postgres:
        query = query.with_for_update()
    rows = (await conn.execute(query)).all()
    return {(r.issuer, r.audience): int(r.next_seq) for r in rows}


async def _save_channels(conn: AsyncConnection, known: dict[ChannelKey, int],
                         values: dict[ChannelKey, int]) -> None:
    for (issuer, audience), next_seq in values.items():
        if (issuer, audience) in known:
            await conn.execute(update(message_channels).where(
                message_channels.c.issuer == issuer, message_channels.c.audience == audience,
            ).values(next_seq=next_seq))
        else:  # a unique violation here means another process opened it: the batch re-runs
            await conn.execute(insert(message_channels).values(
                issuer=issuer, audience=audience, next_seq=next_seq))


_MESSAGE_COLUMNS = [c.name for c in inbox_messages.columns]
COPY_FROM = 64  # rows from which COPY beats an executemany (one bind + execute per row)


async def _insert_messages(conn: AsyncConnection, postgres: bool, rows: Sequence[Row]) -> None:
    if not rows:
        return
    if postgres and len(rows) >= COPY_FROM:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            "inbox_messages", columns=_MESSAGE_COLUMNS,
            records=[tuple(r[c] for c in _MESSAGE_COLUMNS) for r in rows])
        return
    await conn.execute(insert(inbox_messages), list(rows))


async def _seen(conn: AsyncConnection, postgres: bool, audience: str,
                keys: Sequence[tuple[str, str]]) -> list[Any]:
    """The stored messages among (issuer, jti) `keys`."""
    if not keys:
        return []
    # The issuers as well as the jtis: on an unanalysed table PostgreSQL otherwise walked the
    # audience's whole primary key testing each entry against the batch's jtis. It still reads
    # the issuers' messages once per batch where statistics are missing (autovacuum off): a join
    # probing the primary key per message was worse there, as the planner probed the
    # (audience, issuer, seq) index instead (docs/benchmarks.md).
    wanted = set(keys)
    return [r for r in (await conn.execute(select(inbox_messages).where(
        inbox_messages.c.audience == audience,
        inbox_messages.c.issuer.in_(sorted({i for i, _ in keys})),
        among(postgres, inbox_messages.c.jti, sorted({j for _, j in keys}), "jtis")))).all()
        if (r.issuer, r.jti) in wanted]


async def intake(db: Database, audience: str, keys: Sequence[tuple[str, str]],
                 decide: Callable[[Snapshot], Intake]) -> Intake:
    """Lock the channels of `keys` ((issuer, jti) pairs), read, let `decide` classify, write."""
    issuers = sorted({issuer for issuer, _ in keys})
    async with db.engine.begin() as conn:
        next_seq = await _lock_channels(conn, [(i, audience) for i in issuers], db.is_postgres)
        wanted = set(keys)
        seen_rows = await _seen(conn, db.is_postgres, audience, sorted(wanted))
        # Served by the partial index of held messages (migration 0007), whatever the inbox's
        # size: held messages are few, processed ones many.
        held_rows = (await conn.execute(select(inbox_messages).where(
            inbox_messages.c.audience == audience, inbox_messages.c.issuer.in_(issuers),
            inbox_messages.c.state == "held"))).all() if issuers else []
        held: dict[ChannelKey, dict[int, Row]] = {}
        for r in held_rows:
            held.setdefault((r.issuer, audience), {})[int(r.seq)] = dict(r._mapping)
        seen = await _attach_acks(conn, [dict(r._mapping) for r in seen_rows])
        snapshot = Snapshot(next_seq, {(r["issuer"], r["jti"]): r for r in seen}, held)
        outcome = decide(snapshot)
        await _drop_held(conn, audience, outcome.dropped)
        await _insert_messages(conn, db.is_postgres, outcome.inserts)
        for issuer, jti in outcome.delivered:
            await conn.execute(update(inbox_messages).where(
                inbox_messages.c.audience == audience, inbox_messages.c.issuer == issuer,
                inbox_messages.c.jti == jti).values(state="received"))
        await _save_channels(conn, next_seq, outcome.next_seq)
    return outcome


async def _drop_held(conn: AsyncConnection, audience: str,
                     dropped: Sequence[tuple[Row, str, str]]) -> None:
    for row, reason, detail in dropped:
        await conn.execute(inbox_messages.delete().where(
            inbox_messages.c.audience == audience, inbox_messages.c.issuer == row["issuer"],
            inbox_messages.c.jti == row["jti"], inbox_messages.c.state == "held"))
        await conn.execute(insert(inbox_rejections).values(
            audience=audience, token=row["token"][:REFUSAL_PREFIX_CHARS],
            token_sha256=hashlib.sha256(row["token"].encode()).hexdigest(),
            token_length=len(row["token"]), reason=reason, detail=detail,
            received_at_us=row["received_at_us"]))


async def held_messages(db: Database, audience: str, issuer: str) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(inbox_messages).where(
            inbox_messages.c.audience == audience, inbox_messages.c.issuer == issuer,
            inbox_messages.c.state == "held"))).all()
    return [dict(r._mapping) for r in rows]


async def drop_held(db: Database, audience: str, issuer: str,
                    dropped: Sequence[tuple[Row, str, str]]) -> None:
    """Refuse held messages of `issuer` now (a key of theirs was revoked), under the channel's
    lock like an intake, so no batch releases them meanwhile."""
    async with db.engine.begin() as conn:
        await _lock_channels(conn, [(issuer, audience)], db.is_postgres)
        await _drop_held(conn, audience, dropped)


async def finish(db: Database, audience: str, results: Sequence[tuple[str, str, str, int]],
                 sign: Callable[[str, int, list[int]], str],
                 render: Callable[[int, int], str], now_us: int) -> dict[str, str]:
    """Store each message's result and the hub's signed acknowledgement.

    `results`: (issuer, jti, state, index). Each issuer gets one acknowledgement for its
    messages of the batch: `sign(issuer, ack_seq, indexes)` signs it with the next sequence
    number of the channel hub → issuer, and it is stored once (`hub_acks`); `render(index,
    ack_seq)` is the JSON result kept with the message. Returns the acknowledgement per issuer.
    """
    by_issuer: dict[str, list[int]] = {}
    for issuer, _, _, index in results:
        by_issuer.setdefault(issuer, []).append(index)
    issuers = sorted(by_issuer)
    acks: dict[str, str] = {}
    async with db.engine.begin() as conn:
        known = await _lock_channels(conn, [(audience, i) for i in issuers], db.is_postgres)
        seqs = {i: known.get((audience, i), 1) for i in issuers}
        for issuer in issuers:
            acks[issuer] = sign(issuer, seqs[issuer], by_issuer[issuer])
        await conn.execute(insert(hub_acks), [
            {"recipient": i, "seq": seqs[i], "token": acks[i], "created_at_us": now_us}
            for i in issuers])
        await _store_results(conn, db.is_postgres, audience, [
            (issuer, jti, state, render(index, seqs[issuer]))
            for issuer, jti, state, index in results], now_us)
        await _save_channels(conn, known, {(audience, i): n + 1 for i, n in seqs.items()})
    return acks


async def _store_results(conn: AsyncConnection, postgres: bool, audience: str,
                         rows: Sequence[tuple[str, str, str, str]], now_us: int) -> None:
    """(issuer, jti, state, result) per message. On PostgreSQL one statement over arrays: an
    executemany would plan each row afresh (plan_cache_mode = force_custom_plan, ADR 0004)."""
    if postgres:
        await conn.execute(text(
            "UPDATE inbox_messages AS m SET state = v.s, result = v.r, processed_at_us = :t "
            "FROM unnest(CAST(:i AS text[]), CAST(:j AS text[]), CAST(:s AS text[]), "
            "CAST(:r AS text[])) AS v(i, j, s, r) "
            "WHERE m.audience = :a AND m.issuer = v.i AND m.jti = v.j"),
            {"a": audience, "t": now_us, "i": [r[0] for r in rows], "j": [r[1] for r in rows],
             "s": [r[2] for r in rows], "r": [r[3] for r in rows]})
        return
    m = inbox_messages.c
    await conn.execute(update(inbox_messages).where(
        m.audience == bindparam("a"), m.issuer == bindparam("i"), m.jti == bindparam("j"),
    ).values(state=bindparam("s"), result=bindparam("r"), processed_at_us=bindparam("t")),
        [{"a": audience, "i": i, "j": j, "s": st, "r": r, "t": now_us} for i, j, st, r in rows])


async def _attach_acks(conn: AsyncConnection, rows: list[Row]) -> list[Row]:
    """Each processed row's acknowledgement token, as `ack` (from `hub_acks`)."""
    wanted: set[tuple[str, int]] = set()
    for row in rows:
        if row.get("result"):
            seq = json.loads(row["result"]).get("ack_seq")
            if seq is not None:
                wanted.add((row["issuer"], int(seq)))
    tokens: dict[tuple[str, int], str] = {}
    if wanted:
        found = (await conn.execute(select(hub_acks).where(
            hub_acks.c.recipient.in_(sorted({r for r, _ in wanted})),
            hub_acks.c.seq.in_(sorted({q for _, q in wanted}))))).all()
        tokens = {(r.recipient, int(r.seq)): r.token for r in found}
    for row in rows:
        seq = json.loads(row["result"]).get("ack_seq") if row.get("result") else None
        row["ack"] = tokens.get((row["issuer"], int(seq))) if seq is not None else None
    return rows


async def save_rejections(db: Database, rows: Sequence[Row], older_than_us: int | None = None
                          ) -> None:
    """Insert refusals not kept already (same token hash and reason: a retried refusal is one
    row); first delete every refusal received before `older_than_us` (the retention)."""
    if not rows:
        return
    async with db.engine.begin() as conn:
        if older_than_us is not None:
            await conn.execute(inbox_rejections.delete().where(
                inbox_rejections.c.received_at_us < older_than_us))
        kept = {(r.token_sha256, r.reason) for r in (await conn.execute(select(
            inbox_rejections.c.token_sha256, inbox_rejections.c.reason).where(
            inbox_rejections.c.token_sha256.in_(sorted({r["token_sha256"] for r in rows})))))}
        fresh = [r for r in rows if (r["token_sha256"], r["reason"]) not in kept]
        if fresh:
            await conn.execute(insert(inbox_rejections), fresh)


async def messages(db: Database, audience: str, issuer: str | None, state: str | None,
                   limit: int) -> list[Row]:
    query = select(inbox_messages).where(inbox_messages.c.audience == audience)
    if issuer is not None:
        query = query.where(inbox_messages.c.issuer == issuer)
    if state is not None:
        query = query.where(inbox_messages.c.state == state)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query.order_by(inbox_messages.c.received_at_us.desc())
                                   .limit(limit))).all()
        return await _attach_acks(conn, [dict(r._mapping) for r in rows])


async def rejections(db: Database, audience: str, limit: int) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(inbox_rejections).where(
            inbox_rejections.c.audience == audience).order_by(inbox_rejections.c.id.desc())
            .limit(limit))).all()
    return [dict(r._mapping) for r in rows]


async def channels(db: Database) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(message_channels).order_by(
            message_channels.c.issuer, message_channels.c.audience))).all()
    return [dict(r._mapping) for r in rows]
