"""`clmtv adapters list` and `clmtv adapters check FUND FILE` for fund integrators.

`check` runs every conformance check on the integrator's own file (no database needed) and prints
a readable report; the exit code is 0 when every check passes, 1 otherwise. With `--variants`, a
file that passes is also broken in each way the kit knows (`malformed.py`) and re-dated across
the fund's rule changes (`dated.py`), to show the hub refuses what it must for that file too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ledger.adapters.base import FundAdapter
from ledger.adapters.conformance import dated, malformed
from ledger.adapters.conformance.checks import check_file, describe
from ledger.adapters.formats import Codec
from ledger.adapters.registry import adapters, codec, get_adapter


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("adapters", help="fund adapters: list them, check a file")
    commands = parser.add_subparsers(dest="adapters_command", required=True)
    commands.add_parser("list", help="the funds the hub has adapters for, and their formats")
    check = commands.add_parser("check", help="run the conformance checks on a declaration file")
    check.add_argument("fund", help="fund code, e.g. TH-SSO")
    check.add_argument("file", type=Path)
    check.add_argument("--variants", action="store_true",
                       help="also check that broken and re-dated copies of FILE are refused")


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
    if not result.passed or not args.variants:
        return 0 if result.passed else 1
    return 0 if _variants(adapter, codec(args.fund), args.file.read_bytes()) else 1


def _variants(adapter: FundAdapter, found: Codec, data: bytes) -> bool:
    """Print one line per broken variant and per rule change; True if all behaved."""
    print("broken copies of the file (each must be refused on the right line):")
    ok = True
    for made in malformed.variants(adapter, found, data):
        if isinstance(made, malformed.NotApplicable):
            print(f"  N/A   {made.kind:<34} {made.reason}")
            continue
        problems = malformed.verify(adapter, found, made)
        ok = ok and not problems
        first = malformed.findings(adapter, found, made)[:1]
        print(f"  {'FAIL' if problems else 'PASS':4}  {made.kind:<34} "
              + (problems[0].splitlines()[0] if problems else "; ".join(first)))
    print("rule changes (the amounts check must follow the file's month):")
    changes = dated.check_changes(adapter, found, data)
    if not changes:
        print("  N/A   the rows declare no amounts, or no rule change can price them")
    for change in changes:
        ok = ok and not change.problems
        moved = ", ".join(map(str, sorted(change.moved))) or "none"
        print(f"  {'FAIL' if change.problems else 'PASS':4}  {change.month}  "
              f"lines whose amounts change: {moved}")
        for problem in change.problems:
            print(f"        {problem.splitlines()[0]}")
    return ok
