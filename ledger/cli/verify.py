"""`clmtv verify FILE`: check a signed document (a worker statement, by default) offline.

Needs only the file and the issuer's published keys: a JWKS file, or the hub's https URL. The
trust anchor is fetched strictly: https only (plain http only to loopback, and only with
`--allow-http-loopback`), no redirects, at most JWKS_BYTES_MAX bytes. The document's type is
pinned (`--type`, default `statement.worker`) and, with `--audience` (or its alias `--worker`),
so is whom it was issued to: a genuine statement of worker A presented for worker B is refused.
A statement or receipt also names its subject in its body (`worker_id`); it must be the worker
it is addressed to, or the document is refused whatever `--audience` says.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.domain.errors import DomainError
from ledger.domain.money import Currency, Money
from ledger.settlement.keys import HUB, TrustRegistry
from ledger.settlement.messages import (
    MessageRejected,
    MessageType,
    RejectReason,
    VerifiedMessage,
    verify_message,
)
from ledger.stats.package import SIGNATURE, check_files
from ledger.text import plural

# Documents about one worker, addressed to that worker: their body's worker_id is the subject.
WORKER_DOCUMENTS = frozenset({MessageType.STATEMENT_WORKER.value,
                              MessageType.PAYMENT_RECEIPT.value})
JWKS_BYTES_MAX = 256 * 1024
TOKEN_BYTES_MAX = 1024 * 1024
FETCH_TIMEOUT_S = 10


class VerifyInputError(Exception):
    """The document or the keys could not be read: one line, the cause (exit code 2)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        raise VerifyInputError(f"the JWKS URL redirects ({code} to {newurl}); give the final "
                               "https URL: a trust anchor is never followed elsewhere")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_jwks(source: str, allow_http_loopback: bool = False) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        return _fetch_jwks(source, allow_http_loopback)
    path = Path(source)
    if not path.is_file():
        raise VerifyInputError(f"no such JWKS file: {source}")
    if path.stat().st_size > JWKS_BYTES_MAX:
        raise VerifyInputError(f"{source} is larger than {JWKS_BYTES_MAX} bytes: not a JWKS")
    return _parse_jwks(path.read_bytes(), source)


def _fetch_jwks(source: str, allow_http_loopback: bool) -> dict[str, Any]:
    url = source if source.endswith(".json") else source.rstrip("/") + "/.well-known/jwks.json"
    parts = urllib.parse.urlsplit(url)
    loopback_http = allow_http_loopback and is_loopback(parts.hostname or "")
    if parts.scheme != "https" and not loopback_http:
        raise VerifyInputError(
            "the keys must come over https (plain http is accepted only from this machine, "
            "with --allow-http-loopback)")
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(url, timeout=FETCH_TIMEOUT_S) as response:
            data = response.read(JWKS_BYTES_MAX + 1)
    except VerifyInputError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise VerifyInputError(f"cannot fetch {url}: {reason}") from None
    if len(data) > JWKS_BYTES_MAX:
        raise VerifyInputError(f"{url} sent more than {JWKS_BYTES_MAX} bytes: not a JWKS")
    return _parse_jwks(data, url)


def _parse_jwks(data: bytes, where: str) -> dict[str, Any]:
    try:
        loaded = json.loads(data)
    except ValueError:
        raise VerifyInputError(f"{where} is not JSON") from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("keys"), list):
        raise VerifyInputError(f"{where} is not a JWKS (an object with a 'keys' list)")
    return loaded


def claimed_audience(token: str) -> str:
    """The aud claim, unverified: only used to ask verify_message the right question."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims.get("aud", ""))
    except (IndexError, ValueError, AttributeError):
        return ""


def parse_time(text: str | None) -> int:
    if text is None:
        return int(time.time())
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise VerifyInputError(f"--at {text!r} is neither ISO 8601 nor Unix seconds") from None


def read_token(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise VerifyInputError(f"no such file: {path}")
    if file.stat().st_size > TOKEN_BYTES_MAX:
        raise VerifyInputError(f"{path} is larger than {TOKEN_BYTES_MAX} bytes: not a JWS")
    try:
        return file.read_text(encoding="ascii").strip()
    except UnicodeDecodeError:
        raise VerifyInputError(f"{path} is not a compact JWS (not ASCII text)") from None


def verify_file(path: str, jwks_source: str, at: str | None = None, *,
                expected_type: str = MessageType.STATEMENT_WORKER.value,
                audience: str | None = None,
                allow_http_loopback: bool = False) -> VerifiedMessage:
    """The verified message, or MessageRejected (invalid) / VerifyInputError (unreadable)."""
    token = read_token(path)
    registry = TrustRegistry()
    registry.load_jwks(HUB, load_jwks(jwks_source, allow_http_loopback))
    message = verify_message(token, registry, audience or claimed_audience(token),
                             parse_time(at))
    if message.typ != expected_type:
        raise VerifyInputError(f"this is a {message.typ}, not a {expected_type} (pass --type "
                               f"{message.typ} if that is what you expect)")
    subject = message.body.get("worker_id")
    if message.typ in WORKER_DOCUMENTS and subject != message.aud:
        raise MessageRejected(RejectReason.WRONG_AUDIENCE,
                              f"the document is about {subject!r} but addressed to "
                              f"{message.aud!r}", claim="aud")
    return message


def verify_release(folder: str, jwks_source: str, at: str | None = None, *,
                   audience: str | None = None, allow_http_loopback: bool = False
                   ) -> tuple[VerifiedMessage, list[str]]:
    """A monitoring release's folder: its release.jws (type stats.release), then every file it
    lists against its SHA-256. The problems are [] when every file is as signed."""
    signature = Path(folder) / SIGNATURE
    if not signature.is_file():
        raise VerifyInputError(f"{folder} has no {SIGNATURE}: not a monitoring release")
    message = verify_file(str(signature), jwks_source, at,
                          expected_type=MessageType.STATS_RELEASE.value, audience=audience,
                          allow_http_loopback=allow_http_loopback)
    return message, check_files(Path(folder), message.body)


def describe(message: VerifiedMessage, audience_checked: bool = False) -> str:
    checked = "checked" if audience_checked else "NOT checked: pass --audience to check"
    lines = [
        f"valid: {message.typ} from {message.iss} to {message.aud} ({checked}), "
        f"key {message.kid}",
        f"issued {datetime.fromtimestamp(message.iat, tz=UTC).isoformat()}, "
        f"expires {datetime.fromtimestamp(message.exp, tz=UTC).isoformat()}",
    ]
    body = message.body
    scope = body.get("scope")
    if isinstance(scope, dict):
        funds = ", ".join(scope.get("funds", [])) or "none"
        lines.append("scope: the worker's whole record (" + funds + ")" if scope.get("complete")
                     else f"scope: PARTIAL, only {funds}: not the worker's whole record")
    if message.typ == "payment.receipt":
        lines.extend(_receipt_lines(body))
    if message.typ == MessageType.STATS_RELEASE.value:
        lines.append(f"  release {body['release_id']}: " + ", ".join(
            f"{f['path']} ({f['bytes']} bytes)" for f in body["files"]))
    for fund in body.get("funds", []):
        totals = ", ".join(money(t) for t in fund["totals"])
        lines.append(f"  {fund['fund']}: {plural(fund['months'], 'month')}, {totals}")
        for scheme in fund.get("schemes", []):
            lines.append(f"    {scheme['scheme']}: {plural(scheme['months'], 'month')}"
                         f"{_span(scheme)}, balance {money(scheme['balance'])}")
            paid = ", ".join(f"{p['payer']} {money(p['amount'])}"
                             for p in scheme.get("paid_by_payer", []))
            if paid:
                lines.append(f"      paid by {paid}")
    if isinstance(body.get("totals"), list) and body.get("funds"):
        lines.append("  total: " + (", ".join(money(t) for t in body["totals"]) or "nothing"))
    return "\n".join(lines)


def money(wire: dict[str, Any]) -> str:
    """A wire amount as a person reads it (`268,975.00 THB`); as sent if it is not one."""
    try:
        return Money(int(wire["amount_minor"]), Currency(wire["currency"])).display()
    except (KeyError, ValueError, TypeError, DomainError):
        return f"{wire.get('amount_minor')} {wire.get('currency')} (minor units)"


def _span(scheme: dict[str, Any]) -> str:
    first, last = scheme.get("first_month"), scheme.get("last_month")
    if first and last and first != last:
        return f" ({first} … {last})"
    return f" ({first})" if first else ""


def _receipt_lines(body: dict[str, Any]) -> list[str]:
    """A channel payment's receipt (docs/channels.md), in words."""
    rate = body["rate"]
    return [
        f"  payment {body['payment_id']} by {body['channel']} at {body['paid_at']}",
        f"  paid {money(body['paid'])}: principal {money(body['principal'])}, "
        f"fee {money(body['fee'])}",
        f"  rate {rate['rate']} {rate['quote']}/{rate['base']} ({rate['rounding']}; "
        f"{rate['source']})",
        f"  {body['fund']} {body['scheme']}: contribution {money(body['contribution'])}, "
        f"state support {money(body['state_support'])}",
        f"  months covered: {', '.join(body['months_covered'])}",
    ]


__all__ = ["MessageRejected", "VerifyInputError", "describe", "verify_file", "verify_release"]
