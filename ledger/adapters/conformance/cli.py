"""`clmtv adapters list` and `clmtv adapters check FUND FILE` for fund integrators.

`check` runs every conformance check on the integrator's own file (no database needed) and prints
a readable report; the exit code is 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ledger.adapters.conformance.checks import check_file, describe
from ledger.adapters.registry import adapters, codec, get_adapter


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("adapters", help="fund adapters: list them, check a file")
    commands = parser.add_subparsers(dest="adapters_command", required=True)
    commands.add_parser("list", help="the funds the hub has adapters for, and their formats")
    check = commands.add_parser("check", help="run the conformance checks on a declaration file")
    check.add_argument("fund", help="fund code, e.g. TH-SSO")
    check.add_argument("file", type=Path)


def run(args: argparse.Namespace) -> int:
    if args.adapters_command == "list":
        for fund, adapter in sorted(adapters().items()):
            print(f"{fund:8} {codec(fund).name:24} {adapter.currency}  "
                  f"schemes: {', '.join(adapter.SCHEMES)}")
        return 0
    adapter = get_adapter(args.fund)
    if not args.file.is_file():
        print(f"clmtv: no such file: {args.file}")
        return 2
    with args.file.open("rb") as lines:
        result = check_file(adapter, codec(args.fund), lines)
    print(describe(result, args.file.name))
    return 0 if result.passed else 1
