"""`clmtv verify FILE`: check a signed message (e.g. a worker statement) offline.

Needs only the file and the issuer's published keys (a JWKS file, or the hub's URL). The audience
is read from the token before verification and then bound by the signature check.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.settlement.keys import HUB, TrustRegistry
from ledger.settlement.messages import MessageRejected, VerifiedMessage, verify_message
from ledger.text import plural


def load_jwks(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        url = source if source.endswith(".json") else source.rstrip("/") + "/.well-known/jwks.json"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - operator-given
            data: dict[str, Any] = json.load(response)
            return data
    loaded: dict[str, Any] = json.loads(Path(source).read_text())
    return loaded


def claimed_audience(token: str) -> str:
    """The aud claim, unverified: only used to ask verify_message the right question."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims.get("aud", ""))
    except (IndexError, ValueError):
        return ""


def parse_time(text: str | None) -> int:
    if text is None:
        return int(time.time())
    if text.isdigit():
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def verify_file(path: str, jwks_source: str, at: str | None = None) -> VerifiedMessage:
    token = Path(path).read_text().strip()
    registry = TrustRegistry()
    registry.load_jwks(HUB, load_jwks(jwks_source))
    return verify_message(token, registry, claimed_audience(token), parse_time(at))


def describe(message: VerifiedMessage) -> str:
    lines = [
        f"valid: {message.typ} from {message.iss} to {message.aud}, key {message.kid}",
        f"issued {datetime.fromtimestamp(message.iat, tz=UTC).isoformat()}, "
        f"expires {datetime.fromtimestamp(message.exp, tz=UTC).isoformat()}",
    ]
    body = message.body
    for fund in body.get("funds", []):
        totals = ", ".join(f"{t['amount_minor']} {t['currency']}" for t in fund["totals"])
        lines.append(f"  {fund['fund']}: {plural(fund['months'], 'month')}, {totals} "
                     "(minor units)")
    return "\n".join(lines)


__all__ = ["MessageRejected", "describe", "verify_file"]
