"""`clmtv fund …`: a member fund's side of the hub, for fund integrators.

A fund generates its signing key (`keygen`), publishes the public half (`publish`: PUT
/v1/keys/{fund} with the fund's own token), builds and signs any message the hub's inbox takes
from a JSON body (`sign`), sends signed messages (`send`) and reads the answer: each outcome,
with the hub's signed acknowledgement verified against the hub's published keys. `window`
reads a settlement window's signed statement for the fund, verifies it and writes the body of
the fund's `settlement.confirmation`.

The tool talks to the hub over its HTTP API only, as the fund: the token comes from `--token`
or CLMTV_FUND_TOKEN (a token on the command line shows in the process list), and goes over
https, or plain http to this machine only. The private key stays in its file, created readable
by its owner only; a production fund signs inside its HSM, and this tool is the reference its
own signer is tested against (the messages' format is docs/settlement.md's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ledger.cli import exits
from ledger.cli.verify import VerifyInputError, is_loopback, money, parse_time
from ledger.domain.errors import DomainError
from ledger.settlement.keys import HUB, Party, SigningKey, TrustRegistry, Validity
from ledger.settlement.messages import (
    DEFAULT_TTL_S,
    MessageRejected,
    MessageType,
    sign_message,
    verify_message,
)
from ledger.text import plural

TOKEN_VARIABLE = "CLMTV_FUND_TOKEN"  # noqa: S105 (the variable's name, not a token)
# The types a fund sends to the hub's inbox (ledger/services/message_handlers.py handles them).
INBOX_TYPES = (MessageType.TRANSFER_REQUEST.value, MessageType.TRANSFER_ACK.value,
               MessageType.SETTLEMENT_CONFIRMATION.value)
TIMEOUT_S = 30
ANSWER_BYTES_MAX = 16 * 1024 * 1024
# Outcomes the fund need not act on: applied now, or applied before (a retry).
SETTLED_OUTCOMES = ("processed", "duplicate")


class FundToolError(Exception):
    """Input the tool cannot use, or a hub it cannot reach: one line, the cause (exit 2)."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fund = sub.add_parser("fund", help="a member fund's side: keys, signed messages, the inbox")
    commands = fund.add_subparsers(dest="fund_command", required=True)

    keygen = commands.add_parser("keygen", help="generate the fund's signing key (a JWK file)")
    keygen.add_argument("fund", help="the fund code the key signs for, e.g. TH-SSO")
    keygen.add_argument("--out", required=True, type=Path,
                        help="the private key file to create (refuses to overwrite one)")
    keygen.add_argument("--valid-from", help="not valid before (ISO 8601 or Unix seconds)")
    keygen.add_argument("--valid-until",
                        help="valid until, not including (ISO 8601 or Unix seconds)")

    def hub_args(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--hub", required=True,
                            help="the hub's base URL (https; http to this machine only)")
        parser.add_argument("--token", help=f"the fund's bearer token (default: ${TOKEN_VARIABLE})")

    publish = commands.add_parser("publish", help="publish the key's public half to the hub")
    publish.add_argument("--key", required=True, type=Path, help="the fund's private key file")
    hub_args(publish)

    sign = commands.add_parser("sign", help="build and sign an inbox message from a JSON body")
    sign.add_argument("--key", required=True, type=Path, help="the fund's private key file")
    sign.add_argument("--type", required=True, choices=INBOX_TYPES, dest="message_type",
                      help="the message type")
    sign.add_argument("--body", required=True,
                      help="the body: JSON, or @FILE to read it from a file")
    sign.add_argument("--seq", type=int, help="the sequence number (default: the next one the "
                      "hub expects from this fund, asked with --hub and the token)")
    sign.add_argument("--hub", help="the hub's base URL, to ask the next sequence number")
    sign.add_argument("--token", help=f"the fund's bearer token (default: ${TOKEN_VARIABLE})")
    sign.add_argument("--ttl", type=int, default=DEFAULT_TTL_S,
                      help="seconds the message stays valid (default: %(default)s)")
    sign.add_argument("--out", type=Path, help="write the token here (default: print it)")

    send = commands.add_parser("send", help="send signed messages to the hub's inbox and read "
                               "each outcome and the hub's signed acknowledgement")
    send.add_argument("tokens", nargs="+", help="files holding one compact JWS each ('-': stdin)")
    hub_args(send)
    send.add_argument("--json", action="store_true", help="print the inbox's answer as JSON")

    window = commands.add_parser("window", help="read and verify a settlement window's signed "
                                 "statement; write the body of the fund's confirmation")
    window.add_argument("window_id", help="the window, e.g. USD-000002")
    window.add_argument("--fund", required=True, help="the fund whose statement to read")
    hub_args(window)
    window.add_argument("--out", type=Path,
                        help="write the confirmation's body here (JSON, for `fund sign --body @`)")


def run(args: argparse.Namespace) -> int:
    try:
        command = args.fund_command
        if command == "keygen":
            return _keygen(args)
        if command == "publish":
            return _publish(args)
        if command == "sign":
            return _sign(args)
        if command == "send":
            return _send(args)
        return _window(args)
    except (FundToolError, VerifyInputError) as exc:
        print(f"clmtv fund {args.fund_command}: {exc}", file=sys.stderr)
        return exits.REFUSED
    except MessageRejected as exc:  # the tool refuses to sign what the hub would refuse
        print(f"clmtv fund {args.fund_command}: {exc.reason.value}: {exc.message}",
              file=sys.stderr)
        return exits.REFUSED
    except DomainError as exc:  # a bad key file, a bad validity window
        print(f"clmtv fund {args.fund_command}: {exc.message}", file=sys.stderr)
        return exits.REFUSED


# -- keys ---------------------------------------------------------------------------------------
def _keygen(args: argparse.Namespace) -> int:
    validity = Validity(parse_time(args.valid_from) if args.valid_from else None,
                        parse_time(args.valid_until) if args.valid_until else None)
    key = SigningKey.generate(Party(args.fund), validity=validity)
    path: Path = args.out
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FundToolError(f"{path} exists; a key is never overwritten (rotate by generating "
                            "a new one and publishing it beside the old)") from None
    except OSError as exc:
        raise FundToolError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "w") as handle:
        json.dump({**key.private_jwk(), "iss": args.fund}, handle)
    print(f"created {path} (private: readable by its owner only) for {args.fund}; "
          f"key id {key.kid}")
    print(f"publish its public half: clmtv fund publish --key {path} --hub URL")
    return exits.OK


def load_key(path: Path) -> SigningKey:
    """The fund's key from its file: a private JWK with the issuer in `iss` (as `keygen`
    writes it)."""
    if not path.is_file():
        raise FundToolError(f"no such key file: {path}")
    try:
        jwk = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise FundToolError(f"{path} is not a JSON key file") from None
    if not isinstance(jwk, dict) or not isinstance(jwk.get("iss"), str) or "d" not in jwk:
        raise FundToolError(f"{path} is not a fund's private key (made by `clmtv fund keygen`: "
                            "a private JWK with the fund's code in 'iss')")
    issuer = jwk.pop("iss")
    return SigningKey.from_private_jwk(Party(issuer), jwk)


def _publish(args: argparse.Namespace) -> int:
    key = load_key(args.key)
    hub = Hub(args.hub, _token(args.token))
    answer = hub.call("PUT", f"/v1/keys/{urllib.parse.quote(key.issuer)}",
                      {"keys": [key.public_jwk()]})
    published = [k.get("kid") for k in answer.get("keys", [])] if isinstance(answer, dict) else []
    print(f"published key {key.kid} for {key.issuer}; the hub now holds "
          f"{plural(len(published), 'key')} for it")
    return exits.OK


# -- messages -----------------------------------------------------------------------------------
def _body(text: str) -> dict[str, Any]:
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise FundToolError(f"no such body file: {path}")
        text = path.read_text(encoding="utf-8")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise FundToolError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise FundToolError("the body must be a JSON object")
    return body


def _sign(args: argparse.Namespace) -> int:
    key = load_key(args.key)
    body = _body(args.body)
    seq = args.seq
    if seq is None:
        if args.hub is None:
            raise FundToolError("give --seq, or --hub (and the fund's token) to ask the hub "
                                "which sequence number it expects next")
        seq = Hub(args.hub, _token(args.token)).next_seq(key.issuer)
    token = sign_message(key, aud=HUB, typ=args.message_type, seq=seq, body=body,
                         iat=int(time.time()), ttl_s=args.ttl)
    if args.out is None:
        print(token)
    else:
        args.out.write_text(token + "\n", encoding="ascii")
        print(f"signed {args.message_type} #{seq} from {key.issuer} to the hub: {args.out}",
              file=sys.stderr)
    return exits.OK


def _read_tokens(names: list[str]) -> list[tuple[str, str]]:
    """(where it came from, the token) for each token: a file holds one, stdin one a line."""
    tokens: list[tuple[str, str]] = []
    for name in names:
        if name == "-":
            lines = [line.strip() for line in sys.stdin if line.strip()]
            tokens.extend((f"stdin line {i}", token) for i, token in enumerate(lines, 1))
            continue
        path = Path(name)
        if not path.is_file():
            raise FundToolError(f"no such file: {name}")
        try:
            tokens.append((name, path.read_text(encoding="ascii").strip()))
        except UnicodeDecodeError:
            raise FundToolError(f"{name} is not a compact JWS (not ASCII text)") from None
    if not tokens:
        raise FundToolError("no token to send")
    return tokens


def _send(args: argparse.Namespace) -> int:
    tokens = _read_tokens(args.tokens)
    hub = Hub(args.hub, _token(args.token))
    answer = hub.call("POST", "/v1/inbox/messages", {"tokens": [t for _, t in tokens]})
    outcomes = answer.get("outcomes", []) if isinstance(answer, dict) else []
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        registry = hub.registry()
        for (name, _), outcome in zip(tokens, outcomes, strict=False):
            for line in describe_outcome(outcome, registry):
                print(f"{name}: {line}")
    done = all(_settled(o) for o in outcomes) and len(outcomes) == len(tokens)
    return exits.OK if done else exits.FAILED


def _settled(outcome: dict[str, Any]) -> bool:
    result = outcome.get("result")
    return (outcome.get("outcome") in SETTLED_OUTCOMES and isinstance(result, dict)
            and bool(result.get("ok")))


def describe_outcome(outcome: dict[str, Any], hub_keys: TrustRegistry) -> list[str]:
    """One outcome of the inbox, in words; the hub's acknowledgement verified."""
    kind = outcome.get("outcome")
    if kind == "rejected":
        return [f"rejected: {outcome.get('reason')}: {outcome.get('detail')}"]
    if kind == "held":
        gaps = ", ".join(f"{a}..{b}" for a, b in outcome.get("missing", []))
        return [f"held #{outcome.get('seq')}: waits for the missing sequence numbers {gaps}"]
    result = outcome.get("result") or {}
    head = f"{kind} #{outcome.get('seq')}"
    if result.get("ok"):
        lines = [f"{head}: {_value(result.get('value'))}"]
    else:
        error = result.get("error") or {}
        lines = [f"{head}: not applied: {error.get('code')}: {error.get('message')}"]
    ack = outcome.get("ack")
    if ack:
        try:
            message = verify_message(ack, hub_keys, str(outcome.get("issuer")), int(time.time()))
        except MessageRejected as exc:
            lines.append(f"  the hub's acknowledgement does NOT verify: {exc.reason.value}: "
                         f"{exc.message}")
        else:
            lines.append(f"  acknowledged by the hub ({message.typ}, key {message.kid}): "
                         "signature verified")
    return lines


def _value(value: object) -> str:
    if not isinstance(value, dict):
        return json.dumps(value)
    if "state" in value and "id" in value:  # a portability flow
        moved = " → ".join(money(value[k]) for k in ("source", "settlement", "target")
                           if isinstance(value.get(k), dict))
        return f"flow {value.get('id')} is {value.get('state')}" + (f" ({moved})" if moved
                                                                    else "")
    if value.get("confirmed"):
        return f"{value.get('fund')} confirmed window {value.get('window_id')}"
    return json.dumps(value, ensure_ascii=False)


# -- settlement windows -------------------------------------------------------------------------
def _window(args: argparse.Namespace) -> int:
    hub = Hub(args.hub, _token(args.token))
    window = hub.call("GET", f"/v1/windows/{urllib.parse.quote(args.window_id)}")
    statement = (window.get("statements") or {}).get(args.fund)
    if statement is None:
        raise FundToolError(f"window {args.window_id} holds no statement for {args.fund} (it is "
                            f"{window.get('state')}; only a closed window has statements, and "
                            "only for the funds that take part)")
    try:
        message = verify_message(statement, hub.registry(), args.fund, int(time.time()))
    except MessageRejected as exc:
        print(f"invalid: the statement does not verify: {exc.reason.value}: {exc.message}",
              file=sys.stderr)
        return exits.FAILED
    netting = message.body.get("netting", {})
    position = netting.get("positions_minor", {}).get(args.fund)
    currency = netting.get("currency")
    print(f"window {args.window_id} ({window.get('state')}): the hub's statement to "
          f"{args.fund} verifies (key {message.kid})")
    shown = money({"amount_minor": position, "currency": currency})
    print(f"  {plural(int(netting.get('transfer_count', 0)), 'flow')}; {args.fund}'s position "
          f"{shown} (positive: the fund receives)")
    for payment in message.body.get("payments", []):
        print(f"  {payment['payer']} pays {payment['payee']} {money(payment['amount'])}")
    confirmation = {"window_id": args.window_id,
                    "statement_sha256": hashlib.sha256(statement.encode("ascii")).hexdigest(),
                    "position_minor": position}
    if args.out is not None:
        args.out.write_text(json.dumps(confirmation) + "\n", encoding="utf-8")
        print(f"  confirmation body: {args.out} (confirm only if the fund's own books agree)")
    else:
        print(json.dumps(confirmation))
    return exits.OK


# -- the hub over HTTP --------------------------------------------------------------------------
def _token(given: str | None) -> str:
    token = given or os.environ.get(TOKEN_VARIABLE)
    if not token:
        raise FundToolError(f"no token: give --token or set {TOKEN_VARIABLE} (the fund's "
                            "bearer token, from the hub's operator)")
    return token


class Hub:
    """The hub's HTTP API, as one fund: JSON in, JSON out, a problem+json said in one line."""

    def __init__(self, base: str, token: str | None) -> None:
        parts = urllib.parse.urlsplit(base)
        host = parts.hostname or ""
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(host)):
            raise FundToolError(f"{base}: the hub is reached over https (plain http only to "
                                "this machine): a bearer token never travels in the clear")
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: object | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data, headers, method=method)  # noqa: S310 (https, or http to loopback: checked above)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                return json.loads(response.read(ANSWER_BYTES_MAX) or b"null")
        except urllib.error.HTTPError as exc:
            raise FundToolError(f"{method} {path}: {exc.code} {_problem(exc)}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FundToolError(f"cannot reach the hub at {self.base}: {reason}") from None
        except ValueError:
            raise FundToolError(f"{method} {path}: the hub's answer is not JSON") from None

    def registry(self) -> TrustRegistry:
        """The hub's published keys, to verify what it signs."""
        registry = TrustRegistry()
        registry.load_jwks(HUB, self.call("GET", "/.well-known/jwks.json"))
        return registry

    def next_seq(self, fund: str) -> int:
        channels = self.call("GET", "/v1/inbox/channels").get("channels", [])
        for row in channels:
            if (row.get("issuer"), row.get("audience")) == (fund, HUB):
                return int(row["next_seq"])
        return 1  # the fund has sent nothing yet


def _problem(exc: urllib.error.HTTPError) -> str:
    try:
        problem = json.loads(exc.read(ANSWER_BYTES_MAX))
        return f"{problem.get('code')}: {problem.get('detail')}"
    except (ValueError, AttributeError):
        return str(exc.reason)
