"""`clmtv stats`: build, sign and store a monitoring release; list and export them.

`release --period 2026-Q3` builds the public release of a quarter (or a month, `2026-09`) from
the ledger in CLMTV_DATABASE_URL, with the hub's key (CLMTV_HUB_KEY_FILE), spends its ε from the
budget and stores it; `--out DIR` also writes the data package there. `export` writes a stored
release to a folder, `list` shows them. docs/monitoring.md says what the tables hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ledger.cli import exits
from ledger.config import Settings
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal, PrincipalKind
from ledger.stats import package

OPERATOR = Principal("cli-stats", PrincipalKind.HUB_OPERATOR)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stats = sub.add_parser("stats", help="monitoring statistics: differentially private, "
                           "signed open-data releases")
    commands = stats.add_subparsers(dest="stats_command", required=True)
    release = commands.add_parser("release", help="build, sign and store a release")
    release.add_argument("--period", required=True, help="a quarter (2026-Q3) or a month "
                         "(2026-09)")
    release.add_argument("--audience", default="public",
                         help="public (default), ministry:<country> (its nationals, private) "
                         "or fund:<fund> (its members, exact)")
    release.add_argument("--epsilon", help="ε to spend (default: CLMTV_STATS_EPSILON)")
    release.add_argument("--out", help="also write the data package into this folder")
    release.add_argument("--simulation", help="a simulator's monitoring.csv (clmtv simulate "
                         "--out DIR writes DIR/monitoring.csv) to publish beside the tables")
    release.add_argument("--json", action="store_true", help="print the release row as JSON")
    export = commands.add_parser("export", help="write a stored release into a folder")
    export.add_argument("release_id")
    export.add_argument("--out", required=True, help="the folder (created)")
    commands.add_parser("list", help="every stored release: period, audience, ε, build time")


def _epsilon(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value <= 0:
        raise DomainError(ErrorCode.INVALID_INPUT, f"--epsilon must be a positive number, got "
                          f"{text!r}", field="epsilon")
    return value


def _simulation(path: str | None) -> str | None:
    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        raise DomainError(ErrorCode.INVALID_INPUT, f"no such file: {path}", field="simulation")
    return file.read_text(encoding="utf-8")


def run(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> int:
        from ledger.composition import running_services

        async with running_services(settings) as services:
            stats = services.stats
            if args.stats_command == "release":
                built = await stats.build(OPERATOR, args.period, args.audience,
                                          _epsilon(args.epsilon), _simulation(args.simulation))
                files = {**built.files, package.SIGNATURE: built.token.encode()}
                if args.out:
                    package.write(Path(args.out), files)
                row = {k: v for k, v in built.release.items()
                       if k not in ("descriptor", "token", "position_nonce")}
                if args.json:
                    print(json.dumps(row, indent=2))
                else:
                    print(f"release {row['id']}: {row['audience']} {row['period']}, "
                          f"ε={row['epsilon']}, built in {row['build_ms']} ms from "
                          f"{built.workers_seen} workers' records")
                    if args.out:
                        print(f"written to {args.out}: verify with clmtv verify {args.out} "
                              "--jwks JWKS")
            elif args.stats_command == "export":
                files = await stats.files(OPERATOR, args.release_id)
                package.write(Path(args.out), files)
                print(f"{args.release_id}: {len(files)} files written to {args.out}")
            else:
                for row in await stats.releases(OPERATOR):
                    print(f"{row['id']:40} {row['audience']:16} {row['period']:8} "
                          f"ε={row['epsilon']:10} {row['build_ms']} ms")
        return exits.OK

    return asyncio.run(go())
