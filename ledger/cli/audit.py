"""`clmtv audit seal | verify | check`: the tamper-evident journal (ADR 0050, 0059).

The journal has two logs: the transfers' and the period state changes'. Each command does both.

- `seal` appends what was committed since the last seal and signs the tree head (a server does
  this by itself every CLMTV_JOURNAL_SEAL_INTERVAL_S);
- `verify` recomputes both logs from the database (CLMTV_DATABASE_URL) and names the first
  transfer, or period change, edited, deleted, inserted or moved since it was sealed (and any
  period stored otherwise than its recorded changes say);
- `check FILE` verifies an inclusion or consistency proof document (from
  `/v1/journal/transfers/ID/inclusion`, `/v1/journal/periods/ID/inclusion` or
  `/v1/journal/consistency`) offline, with the hub's published keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.cli import exits
from ledger.config import Settings

if TYPE_CHECKING:
    from ledger.services.journal import JournalService
from ledger.settlement.keys import HUB, TrustRegistry

DOCUMENT_BYTES_MAX = 16 * 1024 * 1024


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the tamper-evident journal: seal, verify, check "
                           "proofs")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    seal = commands.add_parser("seal", help="seal what was committed since the last seal")
    seal.add_argument("--every", type=float, metavar="SECONDS",
                      help="keep sealing every SECONDS until stopped (SIGTERM, Ctrl-C): the "
                      "sealer as a process of its own, for servers run with "
                      "CLMTV_JOURNAL_SEAL_INTERVAL_S=0 (docs/operations.md)")
    verify = commands.add_parser(
        "verify", help="recompute the journal's logs from the database and name the first "
        "transfer or period change edited, deleted, inserted or moved")
    verify.add_argument("--jwks", help="the hub's JWKS (file or base URL); default: the public "
                        "part of CLMTV_HUB_KEY_FILE")
    verify.add_argument("--allow-http-loopback", action="store_true",
                        help="accept plain http for --jwks, from this machine only")
    verify.add_argument("--kept", action="append", default=[], metavar="FILE",
                        help="tree heads a fund kept (the JSON of /v1/journal/tree-heads or "
                        "of one head, or a JWS), of either log: the transfers or period "
                        "changes must still match each (repeatable)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    check = commands.add_parser("check", help="verify a proof document offline")
    check.add_argument("file", help="a JSON proof document (inclusion or consistency)")
    check.add_argument("--jwks", required=True, help="the hub's JWKS: a file, or its base URL")
    check.add_argument("--at", help="check as of this time (ISO 8601 or Unix seconds)")
    check.add_argument("--allow-http-loopback", action="store_true",
                       help="accept plain http for --jwks, from this machine only")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.audit_command == "check":
        return _check(args)
    return asyncio.run(_with_journal(settings, args))


def _registry(source: str, allow_http_loopback: bool) -> TrustRegistry:
    from ledger.cli.verify import load_jwks

    registry = TrustRegistry()
    registry.load_jwks(HUB, load_jwks(source, allow_http_loopback))
    return registry


async def _seal_every(interval_s: float, journals: list[JournalService]) -> int:
    """Each log's sealer, until SIGTERM or SIGINT; what is committed by then is sealed."""
    if not 0 < interval_s <= 3600:
        print("clmtv: --every must be more than 0 and at most 3600 seconds", file=sys.stderr)
        return exits.REFUSED
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"sealing every {interval_s:g} s until stopped", flush=True)
    sealers = [asyncio.create_task(j.run_sealer(interval_s)) for j in journals]
    await stop.wait()
    for task in sealers:
        task.cancel()
    await asyncio.gather(*sealers, return_exceptions=True)
    for journal in journals:
        await journal.seal_all()
    print("stopped: everything committed is sealed", flush=True)
    return exits.OK


async def _with_journal(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.db import journal_repo
    from ledger.db.engine import open_database
    from ledger.db.migrate import upgrade
    from ledger.services.journal import AuditReport, JournalService
    from ledger.services.signing import HubSigner

    logs = (journal_repo.TRANSFERS, journal_repo.PERIODS)

    db = open_database(settings.database_url, 2)
    try:
        await upgrade(db)
        if args.audit_command == "seal":
            signer = HubSigner.from_file(Path(settings.hub_key_file), create=settings.dev_mode)
            if args.every is not None:
                return await _seal_every(args.every, [JournalService(db, signer, log)
                                                      for log in logs])
            for log in logs:
                made = await JournalService(db, signer, log).seal_all()
                if not made:
                    print(f"{log.name}: nothing to seal")
                for seal in made:
                    print(f"{log.name}: sealed a tree of {seal.tree_size} leaves up to "
                          f"{log.noun} seq {seal.last_seq}, root {seal.root_hash.hex()}")
            return exits.OK
        registry = (_registry(args.jwks, args.allow_http_loopback) if args.jwks
                    else HubSigner.from_file(Path(settings.hub_key_file)).trust())
        kept = _kept_tokens(args.kept)
        reports: dict[str, AuditReport] = {}
        for log in logs:
            reports[log.name] = await JournalService(db, None, log).audit(
                registry, kept=[t for t in kept if _log_of(t) == log.name])
    finally:
        await db.dispose()
    if args.json:
        print(json.dumps({**reports["transfers"].to_dict(),
                          "periods": reports["periods"].to_dict()}, indent=2))
    for log in logs if not args.json else ():
        report = reports[log.name]
        print(f"{log.name}: {report.tree_heads} signed tree heads, tree of {report.tree_size} "
              f"leaves up to seq {report.last_seq}; {report.transfers_checked} "
              f"{log.noun}s recomputed")
        first = report.first
        if first is None:
            print(f"ok: every {log.noun} is as it was sealed")
        else:
            print(f"TAMPERED: first at {first.line()}")
            for finding in report.to_dict()["findings"][1:10]:
                print(f"  also {finding}")
    return exits.OK if all(r.ok for r in reports.values()) else exits.FAILED


def _log_of(token: str) -> str:
    """Which log a kept tree head belongs to, by its (not yet verified) type: only to route it
    to that log's audit, which verifies it. Anything unreadable goes to the transfers' audit,
    which reports it invalid."""
    from ledger.settlement.journal import PERIODS, TRANSFERS, TREE_HEAD_TYPES
    from ledger.settlement.jws import b64url_decode

    try:
        claims = json.loads(b64url_decode(token.split(".")[1]))
        return PERIODS if claims.get("typ") == TREE_HEAD_TYPES[PERIODS] else TRANSFERS
    except (ValueError, IndexError, AttributeError):
        return TRANSFERS


def _kept_tokens(paths: list[str]) -> list[str]:
    """The tree heads in each file: a /v1/journal/tree-heads answer, one head, or a JWS."""
    tokens: list[str] = []
    for name in paths:
        text = Path(name).read_text(encoding="utf-8").strip()
        try:
            loaded = json.loads(text)
        except ValueError:
            tokens.append(text)
            continue
        heads = loaded.get("tree_heads", [loaded]) if isinstance(loaded, dict) else loaded
        tokens.extend(str(head["token"]) for head in heads)
    return tokens


def _check(args: argparse.Namespace) -> int:
    from ledger.cli.verify import VerifyInputError, parse_time
    from ledger.settlement.journal import ProofInvalid, check_document
    from ledger.settlement.messages import MessageRejected

    try:
        path = Path(args.file)
        if not path.is_file():
            raise VerifyInputError(f"no such file: {args.file}")
        if path.stat().st_size > DOCUMENT_BYTES_MAX:
            raise VerifyInputError(f"{args.file} is larger than {DOCUMENT_BYTES_MAX} bytes")
        try:
            document = json.loads(path.read_bytes())
        except ValueError:
            raise VerifyInputError(f"{args.file} is not JSON") from None
        if not isinstance(document, dict):
            raise VerifyInputError(f"{args.file} is not a proof document (a JSON object)")
        registry = _registry(args.jwks, args.allow_http_loopback)
        verdict = check_document(document, registry, parse_time(args.at))
    except VerifyInputError as exc:
        print(f"clmtv audit check: {exc}", file=sys.stderr)
        return exits.REFUSED
    except MessageRejected as exc:
        print(f"invalid: the tree head: {exc.reason.value}: {exc.message}", file=sys.stderr)
        return exits.FAILED
    except ProofInvalid as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return exits.FAILED
    print("\n".join(verdict.lines))
    return exits.OK
