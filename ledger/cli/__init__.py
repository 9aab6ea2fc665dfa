"""`clmtv`: the one front door to the ledger, its adapters, settlement and the simulator.

Every command joins this argparse tree (docs/cli.md is generated from it), documents its exit
codes (`exits.py`), shows progress when it can run longer than a few seconds and offers `--json`
where a script would read its output. The database comes from CLMTV_DATABASE_URL (default: the
SQLite file clmtv.db).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.cli import exits, serving
from ledger.config import ConfigurationError, Settings, get_settings
from ledger.db.engine import open_database
from ledger.db.migrate import upgrade
from ledger.domain.errors import DomainError
from ledger.runtime import tune_gc
from ledger.text import plural

if TYPE_CHECKING:
    from ledger.app.demo_summary import DemoSummary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clmtv", description="The clmtv ledger: serve it, seed a demo, import fund files, "
        "settle windows, verify signed documents, simulate policies. The database comes from "
        "CLMTV_DATABASE_URL (default: the SQLite file clmtv.db).")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API")
    serving.add_server_args(serve)
    serve.add_argument("--workers", type=int, default=1,
                       help="server processes (default: %(default)s)")

    demo = sub.add_parser("demo", help="seed a small population and run the API")
    serving.add_server_args(demo)
    demo.add_argument("--no-serve", action="store_true", help="seed and exit")

    db = sub.add_parser("db", help="database administration")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations up to the latest schema")
    from ledger.cli import db_maintenance

    db_maintenance.add_parsers(db_sub)

    from ledger.adapters.conformance import cli as adapters_cli
    from ledger.cli import channels as channels_cli
    from ledger.cli import imports as import_cli
    from ledger.cli import loadtest as loadtest_cli
    from ledger.cli import stats as stats_cli

    import_cli.add_parser(sub)
    adapters_cli.add_parser(sub)
    channels_cli.add_parser(sub)
    loadtest_cli.add_parser(sub)
    stats_cli.add_parser(sub)

    verify = sub.add_parser("verify", help="verify a signed message, statement or monitoring "
                            "release offline")
    verify.add_argument("file", help="a compact JWS (e.g. from /v1/workers/ID/statement.jws), "
                        "or a monitoring release's folder (its release.jws and every file it "
                        "signs are checked)")
    verify.add_argument("--jwks", required=True,
                        help="the issuer's JWKS: a file, or the hub's base URL")
    verify.add_argument("--at", help="check as of this time (ISO 8601 or Unix seconds)")
    verify.add_argument("--type", default="statement.worker",
                        help="the document type expected (default: %(default)s)")
    verify.add_argument("--audience", "--worker", dest="audience",
                        help="whom the document must be issued to: the worker id of the person "
                        "presenting a statement or receipt (without it, anyone's genuine "
                        "statement passes)")
    verify.add_argument("--allow-http-loopback", action="store_true",
                        help="accept plain http for --jwks, from this machine only")

    settle = sub.add_parser("settle", help="close, confirm and settle a settlement window")
    settle.add_argument("--currency", default="USD", help="the window's settlement currency")
    settle.add_argument("--fund-keys", help="dev only: a directory of the member funds' private "
                        "JWKs; confirm on their behalf (created on first use)")
    settle.add_argument("--json", action="store_true",
                        help="print only the window's report, as JSON")

    from ledger.cli import audit as audit_cli
    from ledger.cli import clients as clients_cli
    from ledger.cli import fund as fund_cli

    clients_cli.add_parser(sub)
    fund_cli.add_parser(sub)
    audit_cli.add_parser(sub)

    hub_key = sub.add_parser("hub-key", help="the hub's signing key (a JWK file)")
    hub_key_sub = hub_key.add_subparsers(dest="hub_key_command", required=True)
    create = hub_key_sub.add_parser(
        "create", help="create the hub's signing key file (refuses to overwrite one)")
    create.add_argument("--file", help="where to write it (default: CLMTV_HUB_KEY_FILE)")

    from simulator import cli as simulator_cli

    simulator_cli.add_arguments(sub.add_parser("simulate", help="run the policy simulator"))
    from simulator.calibration import cli as calibration_cli

    calibration_cli.add_arguments(sub.add_parser(
        "calibrate", help="fit the baseline to published figures and compare them"))
    from simulator import sweep_cli

    sweep_cli.add_arguments(sub.add_parser(
        "sweep", help="run the simulator over a grid of parameter values and seeds on Dask"))
    _document_exit_codes(parser)
    return parser


def parser() -> argparse.ArgumentParser:
    """The whole command tree (docs/cli.md is generated from it: `python3 dev.py cli-docs`)."""
    return _parser()


# What exit code 1 means for each command (None: the command has no such outcome). A command
# missing here fails tests/test_cli_docs.py: every command documents its exit codes.
EXIT_FAILED: dict[tuple[str, ...], str | None] = {
    ("serve",): None,
    ("demo",): "a step of the seeding failed (its summary says which): nothing is served",
    ("db", "upgrade"): None,
    ("db", "prune-replays"): None,
    ("db", "partitions"): None,
    ("db", "rotate-identity-keys"): "some rows could not be rotated (each named): opened by "
    "neither key, or refused by a unique index",
    ("import",): "the file was rejected: nothing booked",
    ("adapters", "list"): None,
    ("adapters", "check"): "a conformance check failed",
    ("verify",): "the signature, key or claims are invalid",
    ("settle",): "the settled window does not reconcile",
    ("clients", "add"): None,
    ("channels", "list"): None,
    ("channels", "show"): None,
    ("channels", "day-file"): "the day file reconciled with discrepancies (each one listed)",
    ("channels", "report"): None,
    ("channels", "export"): None,
    ("channels", "balances"): None,
    ("clients", "list"): None,
    ("clients", "revoke"): None,
    ("clients", "rotate"): None,
    ("hub-key", "create"): None,
    ("fund", "keygen"): None,
    ("fund", "publish"): None,
    ("fund", "sign"): None,
    ("fund", "send"): "a message was rejected, held or failed (each outcome is listed)",
    ("fund", "window"): "the hub's statement does not verify",
    ("audit", "seal"): None,
    ("audit", "verify"): "the journal differs from what was sealed (the first difference is "
    "named)",
    ("audit", "check"): "the proof or its tree head does not verify",
    ("simulate",): "the replay's ledger totals differ from the simulator's",
    ("calibrate",): "a tight or band target lies outside its tolerance",
    ("sweep",): "one or more runs failed (each named in the report; the others are kept)",
    ("loadtest", "run"): "the audit found a problem (a lost or twice-booked acknowledgement, "
    "an unbalanced currency, a day that does not reconcile)",
    ("loadtest", "prepare"): None,
    ("loadtest", "shape"): None,
    ("stats", "release"): None,
    ("stats", "export"): None,
    ("stats", "list"): None,
}
# Commands with outcomes beyond 0, 1 and 2: their whole exit-code paragraph.
EXIT_MORE = {
    ("loadtest", "run"): "; 3 no step held the target (the audit is clean); 4 the run broke "
    "(the API or Locust failed, or the time bound cut it short)",
}


def _document_exit_codes(root: argparse.ArgumentParser) -> None:
    for path, command in commands(root):
        if path in EXIT_FAILED:
            command.epilog = exits.epilog(EXIT_FAILED[path])
            if path in EXIT_MORE:
                command.epilog = command.epilog.removesuffix(".") + EXIT_MORE[path] + "."


def commands(root: argparse.ArgumentParser, path: tuple[str, ...] = ()
             ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable command of the tree, with its path of names (e.g. ("db", "upgrade"))."""
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = []
    subparsers = [a for a in root._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers and path:
        return [(path, root)]
    for action in subparsers:
        for name, child in action.choices.items():
            found.extend(commands(child, (*path, name)))
    return found


async def _upgrade(settings: Settings) -> list[str]:
    db = open_database(settings.database_url, 1)
    try:
        return await upgrade(db)
    finally:
        await db.dispose()


async def _prepare_server(settings: Settings) -> None:
    """Migrate, then refuse (ConfigurationError) a store that would lose acknowledged
    postings in a crash (`ledger/db/durability.py`)."""
    from ledger.db.durability import durability_problems

    db = open_database(settings.database_url, 1)
    try:
        await upgrade(db)
        problems = await durability_problems(db)
    finally:
        await db.dispose()
    if problems:
        raise ConfigurationError(problems)


def _upgraded(applied: list[str], settings: Settings) -> str:
    where = settings.database_url.split("@")[-1]
    if not applied:
        return f"{where}: already up to date"
    return (f"{where}: applied {plural(len(applied), 'migration')} "
            f"({applied[0]}..{applied[-1]}); now at {applied[-1]}")


async def _seed_demo(settings: Settings) -> DemoSummary:
    from ledger.app.demo import seed
    from ledger.composition import running_services

    async with running_services(settings) as services:
        return await seed(services)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    try:
        if args.command == "db" and args.db_command != "upgrade":
            from ledger.cli import db_maintenance

            return db_maintenance.run(settings, args)
        if args.command == "db":
            print(_upgraded(asyncio.run(_upgrade(settings)), settings))
        elif args.command == "fund":
            from ledger.cli import fund as fund_cli

            return fund_cli.run(args)
        elif args.command == "clients":
            from ledger.cli import clients as clients_cli

            return clients_cli.run(settings, args)
        elif args.command == "audit":
            from ledger.cli import audit as audit_cli

            return audit_cli.run(settings, args)
        elif args.command == "simulate":
            from simulator import cli as simulator_cli

            return simulator_cli.run(args)
        elif args.command == "calibrate":
            from simulator.calibration import cli as calibration_cli

            return calibration_cli.run(args)
        elif args.command == "sweep":
            from simulator import sweep_cli

            return sweep_cli.run(args)
        elif args.command == "verify":
            return _verify(args)
        elif args.command == "adapters":
            from ledger.adapters.conformance import cli as adapters_cli

            return adapters_cli.run(args)
        elif args.command == "channels":
            from ledger.cli import channels as channels_cli

            return channels_cli.run(settings, args)
        elif args.command == "loadtest":
            from ledger.cli import loadtest as loadtest_cli

            return loadtest_cli.run(settings, args)
        elif args.command == "stats":
            from ledger.cli import stats as stats_cli

            return stats_cli.run(settings, args)
        elif args.command == "import":
            from ledger.cli import imports as import_cli

            return import_cli.run(settings, args)
        elif args.command == "settle":
            from ledger.app.settle_run import settle_command

            return asyncio.run(settle_command(settings, args.currency, args.fund_keys,
                                              args.json))
        elif args.command == "hub-key":
            return _create_hub_key(Path(args.file or settings.hub_key_file))
        elif args.command == "demo":
            return _demo(settings.model_copy(update={"dev_mode": True}), args)
        elif args.command == "serve":
            settings.require_servable()
            settings.warn_if_dev_keys()
            if serving.refuse_busy_port(args):
                return exits.REFUSED
            asyncio.run(_prepare_server(settings))
            serving.serve(settings, args)
    except DomainError as exc:
        print(f"clmtv: {exc.code.value}: {exc.message}", file=sys.stderr)
        return exits.REFUSED
    except ConfigurationError as exc:
        for problem in exc.problems:
            print(f"clmtv: refusing to start: {problem}", file=sys.stderr)
        return exits.REFUSED
    except FileNotFoundError as exc:  # e.g. the hub key file of a command that signs
        print(f"clmtv: {exc}", file=sys.stderr)
        return exits.REFUSED
    return exits.OK


def _create_hub_key(path: Path) -> int:
    from ledger.services.signing import HubSigner

    if path.exists():
        print(f"clmtv: {path} exists; the hub keeps its identity (rotate by publishing a new "
              "key, never by overwriting)", file=sys.stderr)
        return exits.REFUSED
    signer = HubSigner.from_file(path, create=True)
    kids = [key["kid"] for key in signer.jwks()["keys"]]
    print(f"created {path} (readable by its owner only); key id {', '.join(kids)}")
    return exits.OK


def _verify(args: argparse.Namespace) -> int:
    from ledger.cli.verify import (
        MessageRejected,
        VerifyInputError,
        describe,
        verify_file,
        verify_release,
    )

    problems: list[str] = []
    try:
        if Path(args.file).is_dir():
            message, problems = verify_release(
                args.file, args.jwks, args.at, audience=args.audience,
                allow_http_loopback=args.allow_http_loopback)
        else:
            message = verify_file(args.file, args.jwks, args.at, expected_type=args.type,
                                  audience=args.audience,
                                  allow_http_loopback=args.allow_http_loopback)
    except MessageRejected as exc:
        print(f"invalid: {exc.reason.value}: {exc.message}", file=sys.stderr)
        return exits.FAILED
    except VerifyInputError as exc:
        print(f"clmtv verify: {exc}", file=sys.stderr)
        return exits.REFUSED
    print(describe(message, audience_checked=args.audience is not None))
    for problem in problems:
        print(f"invalid: {problem}", file=sys.stderr)
    return exits.FAILED if problems else exits.OK


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    """Seed, say how to use it, and end with the summary: exit 1 (and no server) unless every
    step succeeded. The port is checked before seeding: a busy one is refused at once."""
    if not args.no_serve and serving.refuse_busy_port(args):
        return exits.REFUSED
    print(f"clmtv demo: seeding {settings.database_url.split('@')[-1]}")
    summary = asyncio.run(_seed_demo(settings))
    print(serving.demo_greeting(args))
    print("\n".join(summary.lines()))
    if not summary.ok:
        return exits.FAILED
    if not args.no_serve:
        serving.serve(settings, args)
    return exits.OK


def run() -> int:
    """The `clmtv` program: every command is a process of its own (serve, import, settle,
    simulate), so the process-wide collector settings are made here, not in `main`, which
    tests call in-process (ADR 0025)."""
    tune_gc()
    return main()


if __name__ == "__main__":
    sys.exit(run())
