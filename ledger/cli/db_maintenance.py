"""`clmtv db prune-replays | rotate-identity-keys | partitions`: database upkeep run by the
operator, against CLMTV_DATABASE_URL, while the servers run.

`prune-replays` deletes idempotency keys and applied inbox messages past their retention
(ADR 0054), in short batches; an interrupted run leaves nothing half done, and the next one
goes on. `rotate-identity-keys` re-hashes and re-seals every identity and member number under
the current identity keys (ADR 0055), in batches, with progress; run it again to resume.
`partitions` creates the month partitions ahead on PostgreSQL (issue 18 item 1): a monthly job;
run again, it creates nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime

from ledger.cli import exits
from ledger.composition import identity_vault
from ledger.config import ConfigurationError, Settings
from ledger.db import partitions
from ledger.db.engine import open_database
from ledger.db.migrate import upgrade
from ledger.domain.errors import DomainError, ErrorCode
from ledger.limits import REPLAY_RECORDS_KEEP_DAYS, REPLAY_RECORDS_KEEP_DAYS_MIN
from ledger.services import identity_rotation, replay_records
from ledger.text import plural


def add_parsers(db_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    prune = db_sub.add_parser(
        "prune-replays", help="delete idempotency keys and applied inbox messages past their "
        "retention (ADR 0054)")
    prune.add_argument("--keep-days", type=int, default=REPLAY_RECORDS_KEEP_DAYS,
                       help=f"keep records younger than this (default: %(default)s; at least "
                       f"{REPLAY_RECORDS_KEEP_DAYS_MIN}); older ones also wait until a "
                       "settlement window opened after them has finished")
    prune.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    prune.add_argument("--json", action="store_true", help="print the report as JSON")

    rotate = db_sub.add_parser(
        "rotate-identity-keys", help="re-hash and re-seal every identity and member number "
        "under the current identity keys, reading old rows with CLMTV_PII_PREVIOUS_* (ADR 0055)")
    rotate.add_argument("--batch", type=int, default=identity_rotation.BATCH_ROWS,
                        help="rows per transaction (default: %(default)s)")
    rotate.add_argument("--json", action="store_true", help="print the report as JSON")

    parts = db_sub.add_parser(
        "partitions", help="create the month partitions ahead (PostgreSQL; a monthly job, "
        "idempotent; SQLite has none)")
    parts.add_argument("--ahead", type=int, default=partitions.AHEAD_MONTHS,
                       help="months after the current one that must have a partition "
                       "(default: %(default)s)")
    parts.add_argument("--json", action="store_true", help="print the report as JSON")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.db_command == "rotate-identity-keys":
        return asyncio.run(_rotate(settings, args))
    if args.db_command == "partitions":
        return asyncio.run(_partitions(settings, args))
    return asyncio.run(_prune(settings, args))


async def _rotate(settings: Settings, args: argparse.Namespace) -> int:
    problems = settings.previous_key_problems()
    if problems:
        raise ConfigurationError(problems)
    if args.batch < 1:
        raise DomainError(ErrorCode.INVALID_INPUT, "--batch must be at least 1", field="batch")
    vault = identity_vault(settings)
    db = open_database(settings.database_url, 1)
    try:
        await upgrade(db)

        def progress(done: identity_rotation.TableProgress) -> None:
            if not args.json:
                print(f"{done.table}: {done.examined:,} read, {done.rotated:,} rotated, "
                      f"{done.already:,} done before", file=sys.stderr, flush=True)

        report = await identity_rotation.rotate(db, vault, batch=args.batch, progress=progress)
    finally:
        await db.dispose()
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        for table in report.tables:
            print(f"{table.table}: {table.examined:,} read, {table.rotated:,} rotated, "
                  f"{table.already:,} already under the current keys")
            for what, keys in (("opened by neither key", table.unreadable),
                               ("refused by a unique index", table.refused)):
                if keys:
                    print(f"  {len(keys)} {what}: {', '.join(keys[:20])}")
        print("complete: every number is under the current keys; remove "
              "CLMTV_PII_PREVIOUS_* from the servers" if report.complete else
              "INCOMPLETE: the rows above are still under other keys")
    return exits.OK if report.complete else exits.FAILED


async def _prune(settings: Settings, args: argparse.Namespace) -> int:
    replay_records.check_keep_days(args.keep_days)
    db = open_database(settings.database_url, 1)
    try:
        await upgrade(db)

        def progress(keys: int, messages: int) -> None:
            if not args.json and sys.stderr.isatty():
                print(f"\rdeleted {keys:,} keys, {messages:,} messages", end="",
                      file=sys.stderr, flush=True)

        report = await replay_records.prune(db, int(time.time() * 1_000_000), args.keep_days,
                                            dry_run=args.dry_run, progress=progress)
    finally:
        await db.dispose()
    if args.json:
        print(json.dumps(report.to_dict()))
        return exits.OK
    held = (f" (held back by window {report.horizon.held_by})" if report.horizon.held_by
            else "")
    if report.horizon.before_us <= 0:
        print(f"nothing may go yet: no settlement window has finished{held}")
        return exits.OK
    verb = "would delete" if report.dry_run else "deleted"
    when = datetime.fromtimestamp(report.horizon.before_us / 1e6, tz=UTC)
    print(f"{verb} {report.idempotency_keys:,} idempotency keys and "
          f"{report.inbox_messages:,} inbox messages stored before "
          f"{when.isoformat(timespec='seconds')}{held}")
    return exits.OK


async def _partitions(settings: Settings, args: argparse.Namespace) -> int:
    if args.ahead < 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "--ahead must be 0 or more", field="ahead")
    through = partitions.current_month().plus(args.ahead)
    db = open_database(settings.database_url, 1)
    try:
        await upgrade(db)
        postgres = db.engine.dialect.name == "postgresql"
        created = await partitions.ensure_partitions(db, through)
    finally:
        await db.dispose()
    if args.json:
        print(json.dumps({"through": str(through), "partitioned": postgres,
                          "created": [{"partition": c.partition, "moved_rows": c.moved_rows}
                                      for c in created]}))
        return exits.OK
    if not postgres:
        print("nothing to do: this store (SQLite) has no partitions")
        return exits.OK
    for c in created:
        moved = (f" ({plural(c.moved_rows, 'row')} moved in from the default partition)"
                 if c.moved_rows else "")
        print(f"created {c.partition}{moved}")
    print(f"every partitioned table has its months through {through}"
          + ("" if created else ": nothing to create"))
    return exits.OK
