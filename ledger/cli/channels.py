"""`clmtv channels ...`: the payment channels from the command line, as the hub operator.

    clmtv channels list [--json]                     the registry (channels/*.yaml)
    clmtv channels show CHANNEL [--json]             one channel and its fee schedules
    clmtv channels day-file CHANNEL DAY FILE [--json]
                                                     reconcile a channel's day file
    clmtv channels report CHANNEL DAY [--json]       the latest reconciliation of a day
    clmtv channels export CHANNEL DAY [--out FILE]   the hub's view of a day, as a day file
    clmtv channels balances CHANNEL [--json]         the channel's accounts, sub-accounts summed

Runs against CLMTV_DATABASE_URL (an operator's tool: whoever runs it can reach the database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from ledger.cli import exits
from ledger.config import Settings
from ledger.domain.principals import Principal, PrincipalKind

OPERATOR = Principal("cli-channels", PrincipalKind.HUB_OPERATOR)
T = TypeVar("T")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("channels", help="payment channels: registry, day files, balances")
    commands = parser.add_subparsers(dest="channels_command", required=True)
    listing = commands.add_parser("list", help="the channels in channels/*.yaml")
    listing.add_argument("--json", action="store_true")
    show = commands.add_parser("show", help="one channel, with its fee schedules")
    show.add_argument("channel")
    show.add_argument("--json", action="store_true")
    day_file = commands.add_parser("day-file", help="reconcile a channel's day file")
    day_file.add_argument("channel")
    day_file.add_argument("day", help="the channel's business day, YYYY-MM-DD")
    day_file.add_argument("file", type=Path)
    day_file.add_argument("--json", action="store_true")
    report = commands.add_parser("report", help="the latest reconciliation of a day")
    report.add_argument("channel")
    report.add_argument("day")
    report.add_argument("--json", action="store_true")
    export = commands.add_parser("export", help="the hub's view of a day, as a day file")
    export.add_argument("channel")
    export.add_argument("day")
    export.add_argument("--out", type=Path, help="write here instead of standard output")
    balances = commands.add_parser("balances", help="the channel's accounts")
    balances.add_argument("channel")
    balances.add_argument("--json", action="store_true")


def run(settings: Settings, args: argparse.Namespace) -> int:
    command = args.channels_command
    if command in ("list", "show"):
        return _registry(args)
    if command == "day-file":
        if not args.file.is_file():
            print(f"clmtv: no such file: {args.file}", file=sys.stderr)
            return exits.REFUSED
        data = args.file.read_bytes()
        found = _with_services(settings, lambda svc: svc.channel_days.receive(
            OPERATOR, args.channel, args.day, data))
        _print_report(found, args.json)
        return exits.OK if found["status"] == "reconciled" else exits.FAILED
    if command == "report":
        found = _with_services(settings, lambda svc: svc.channel_days.report(
            OPERATOR, args.channel, args.day))
        _print_report(found, args.json)
        return 0
    if command == "export":
        text = _with_services(settings, lambda svc: svc.channel_days.hub_file(
            OPERATOR, args.channel, args.day))
        if args.out:
            args.out.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    found = _with_services(settings, lambda svc: svc.channel_days.balances(OPERATOR,
                                                                            args.channel))
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        for account in found["accounts"]:
            balance = account["balance"]
            print(f"{account['account']:<58} {balance['amount_minor']:>16} "
                  f"{balance['currency']}")
    return 0


def _registry(args: argparse.Namespace) -> int:
    from ledger.adapters.registry import adapters
    from ledger.channels.registry import load_registry
    from ledger.composition import PILOT_AGREEMENT
    from ledger.settlement.agreement import bundled_agreement

    adapters()
    registry = load_registry(bundled_agreement(PILOT_AGREEMENT))
    chosen = ([registry.get(args.channel)] if args.channels_command == "show"
              else list(registry.channels.values()))
    views = [c.public(registry.terms) for c in chosen]
    if args.json:
        print(json.dumps(views if args.channels_command == "list" else views[0], indent=2,
                         ensure_ascii=False))
        return 0
    for view in views:
        fees = "; ".join(f"{cur} {fee['rate']} (min {fee['minimum']['amount_minor']}, "
                         f"cap {fee['cap_rate']})" for cur, fee in view["fees"].items())
        collects = "; ".join(f"{c['fund']}: {', '.join(c['schemes'])}"
                             for c in view["collects"])
        print(f"{view['code']}  {view['operator']} [{view['status']}], {view['country']}, "
              f"day at UTC{view['utc_offset']}\n  wallets: "
              f"{', '.join(view['wallet_currencies'])}; fees: {fees}\n  collects: {collects}")
    return 0


def _with_services(settings: Settings, act: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        from ledger.composition import running_services

        async with running_services(settings) as services:
            return await act(services)

    return asyncio.run(go())


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    counts = ", ".join(f"{n} {outcome}" for outcome, n in report["counts"].items() if n)
    print(f"{report['channel']} {report['day']}: {report['status']} ({report['lines']} lines: "
          f"{counts or 'empty'})" + (" — received before; its report" if report.get("replayed")
                                     else ""))
    for item in report["discrepancies"]:
        where = f"line {item['line']}" if "line" in item else "hub only"
        fields = ", ".join(f"{name}: hub {v['hub']} / channel {v['channel']}"
                           for name, v in item.get("fields", {}).items())
        print(f"  {where}: {item['outcome']} {item['kind']} {item['channel_ref']}"
              + (f" ({fields})" if fields else ""))
    for obligation in report.get("obligations", []):
        print(f"  obligation {obligation['id']}: net {obligation['net']['amount_minor']} "
              f"{obligation['net']['currency']} = {obligation['settlement']['amount_minor']} "
              f"{obligation['settlement']['currency']} (window {obligation['window_id'] or '-'})")
