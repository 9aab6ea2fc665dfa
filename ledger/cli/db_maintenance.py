"""`clmtv db prune-replays`: database upkeep run by the operator (a timer, daily), against
CLMTV_DATABASE_URL.

`prune-replays` deletes idempotency keys and applied inbox messages past their retention
(ADR 0043), in short batches; an interrupted run leaves nothing half done, and the next one
goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime

from ledger.cli import exits
from ledger.config import Settings
from ledger.db.engine import open_database
from ledger.db.migrate import upgrade
from ledger.limits import REPLAY_RECORDS_KEEP_DAYS, REPLAY_RECORDS_KEEP_DAYS_MIN
from ledger.services import replay_records


def add_parsers(db_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    prune = db_sub.add_parser(
        "prune-replays", help="delete idempotency keys and applied inbox messages past their "
        "retention (ADR 0043)")
    prune.add_argument("--keep-days", type=int, default=REPLAY_RECORDS_KEEP_DAYS,
                       help=f"keep records younger than this (default: %(default)s; at least "
                       f"{REPLAY_RECORDS_KEEP_DAYS_MIN}); older ones also wait until a "
                       "settlement window opened after them has finished")
    prune.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    prune.add_argument("--json", action="store_true", help="print the report as JSON")


def run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_prune(settings, args))


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
