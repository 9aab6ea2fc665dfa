"""`clmtv import FUND FILE`: import a declaration file from the command line, with progress.

Runs as the hub operator against CLMTV_DATABASE_URL (it is an operator's tool: whoever can run
it can reach the database). Prints the import report (readable, or `--json`); the exit code is 0
when rows were booked (or the file had been imported before), 1 when the file was rejected.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from ledger import text
from ledger.composition import identity_vault
from ledger.config import Settings
from ledger.db.engine import open_database
from ledger.db.migrate import upgrade
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.imports import ImportReport, ImportService
from ledger.text import plural

OPERATOR = Principal("cli-import", PrincipalKind.HUB_OPERATOR)
ERRORS_SHOWN = 20


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("import", help="import a fund's declaration file")
    parser.add_argument("fund", help="fund code, e.g. TH-SSO")
    parser.add_argument("file", type=Path, help="the file, in the fund's native format")
    parser.add_argument("--partial", action="store_true",
                        help="book the good rows of a file that has bad ones")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"clmtv: no such file: {args.file}", file=sys.stderr)
        return 2
    report = asyncio.run(_import(settings, args))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        describe(report, text.console())
    return 0 if report.posted_anything() else 1


async def _import(settings: Settings, args: argparse.Namespace) -> ImportReport:
    db = open_database(settings.database_url, 2)
    try:
        await upgrade(db)
        service = ImportService(db, identity_vault(settings))
        console = Console(stderr=True)
        with Progress(TextColumn(f"importing {args.file.name}"), BarColumn(), DownloadColumn(),
                      TextColumn("{task.fields[rows]:,} rows"), TimeRemainingColumn(),
                      console=console, transient=True, disable=args.json) as bar:
            task = bar.add_task("import", total=args.file.stat().st_size, rows=0)

            def progress(done: int, total: int, rows: int) -> None:
                bar.update(task, completed=done, total=total, rows=rows)

            with args.file.open("rb") as source:
                return await service.import_file(OPERATOR, args.fund, source,
                                                 partial=args.partial, progress=progress)
    finally:
        await db.dispose()


def describe(report: ImportReport, console: Console) -> None:
    verdict = {"posted": "[green]posted[/]", "partial": "[yellow]partially posted[/]",
               "rejected": "[red]rejected: nothing was booked[/]"}[report.status]
    console.print(f"{report.fund} {report.format} file for {report.month or '?'} "
                  f"(sha256 {report.file_sha256[:12]}…): {verdict}"
                  + (" — imported before; this is its original report" if report.replayed
                     else ""))
    if not report.header_read:
        console.print(f"  the header could not be read: {report.first_reason()}", markup=False)
        console.print("  rows: none read (the file is refused at its header)")
    else:
        if report.rows_parsed == 0 and not report.replayed:
            console.print(f"  no row could be read: {report.first_reason()}", markup=False)
        console.print(f"  rows: {report.rows_total:,} read, {report.rows_accepted:,} accepted, "
                      f"{report.rows_rejected:,} rejected, {report.rows_already_booked:,} "
                      f"already booked; {plural(report.contributions_booked, 'contribution')} "
                      "booked")
    if report.header_read and not report.header_reconciled:
        console.print("  [red]the header's totals do not match the rows[/]")
    for scheme, by_payer in report.pooled_minor.items():
        amounts = ", ".join(f"{payer} {amount}" for payer, amount in by_payer.items())
        console.print(f"  pooled {scheme} (minor units): {amounts}")
    for error in report.errors[:ERRORS_SHOWN]:
        where = f"line {error['line']}" if error["line"] else "file"
        console.print(f"  {where}: {error['field']}: {error['reason']}", markup=False)
    hidden = len(report.errors) - ERRORS_SHOWN + report.errors_not_listed
    if hidden > 0:
        console.print(f"  … and {plural(hidden, 'more error')} (--json lists the first 1,000)")
