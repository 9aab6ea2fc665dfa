"""`clmtv clients add | list | revoke | rotate`: API clients and their bearer tokens.

A token is printed once, when it is made (add, rotate); the hub keeps only its SHA-256. Runs
against CLMTV_DATABASE_URL as the operator's tool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime

from ledger.adapters.registry import adapters
from ledger.channels.registry import load_registry
from ledger.composition import PILOT_AGREEMENT
from ledger.config import Settings
from ledger.db.engine import open_database
from ledger.db.migrate import upgrade
from ledger.domain.principals import PrincipalKind
from ledger.services.clients import ClientService
from ledger.settlement.agreement import bundled_agreement

DAY_S = 24 * 3600


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clients = sub.add_parser("clients", help="API clients (bearer tokens)")
    commands = clients.add_subparsers(dest="clients_command", required=True)
    add = commands.add_parser("add", help="create a client and print its token once")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=[k.value for k in PrincipalKind])
    add.add_argument("--scope", help="fund code (fund, employer), channel code (channel, as in "
                     "channels/*.yaml) or worker id (worker)")
    add.add_argument("--employer", metavar="NUMBER",
                     help="an employer client's employer number at its fund (required for "
                     "--kind employer): it posts only as that employer, for its employees")
    add.add_argument("--expires-in", type=int, metavar="DAYS",
                     help="the token stops working after this many days (default: never)")
    listing = commands.add_parser("list", help="every client: kind, scope, expiry, revocation")
    listing.add_argument("--json", action="store_true", help="print JSON")
    for verb, text in (("revoke", "stop a client's token now"),
                       ("rotate", "give a client a new token (printed once); the old one stops")):
        commands.add_parser(verb, help=text).add_argument("name")


def run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_run(settings, args))


def _when(us: object) -> str:
    if not isinstance(us, int):
        return "-"
    return datetime.fromtimestamp(us / 1e6, tz=UTC).isoformat(timespec="seconds")


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    adapters()  # every fund the registry knows (MY-SOCSO too) may have clients
    channels = load_registry(bundled_agreement(PILOT_AGREEMENT)).channels
    db = open_database(settings.database_url, 1)
    try:
        await upgrade(db)
        service = ClientService(db, channels)
        command = args.clients_command
        if command == "add":
            expires = None if args.expires_in is None else args.expires_in * DAY_S
            token = await service.register(args.name, PrincipalKind(args.kind), args.scope,
                                           expires_in_s=expires, employer=args.employer)
            print(f"client {args.name} created; its token (shown once):\n{token}")
        elif command == "list":
            rows = await service.listing()
            if args.json:
                print(json.dumps(rows, indent=2))
            for row in [] if args.json else rows:
                scope = str(row["scope"] or "-")
                if row["employer"]:
                    scope += f"/{row['employer']}"
                print(f"{row['name']:32} {row['kind']:13} {scope:14} "
                      f"expires {_when(row['expires_at_us'])}  "
                      f"revoked {_when(row['revoked_at_us'])}")
        elif command == "revoke":
            await service.revoke(args.name)
            print(f"client {args.name} revoked: its token stops working (within 30 s in "
                  "every server process)")
        else:
            token = await service.rotate(args.name)
            print(f"client {args.name} has a new token (shown once); the old one stops:\n{token}")
    finally:
        await db.dispose()
    return 0
