"""Is this signed statement or receipt genuine? The server's answer, beside the browser's.

The same check as `clmtv verify`: the hub's published keys (with their validity windows), the
signature, the claims, and the document's type. The audience is the worker the document names
unless the caller pins one (`audience`): a genuine statement of worker A presented as worker B's
is then refused. An invalid document is an answer (`valid: false` and the reason), not an error.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, TrustRegistry
from ledger.settlement.messages import MessageRejected, MessageType, verify_message

# What the hub signs for workers and the page therefore accepts.
DOCUMENT_TYPES = frozenset({MessageType.STATEMENT_WORKER.value, MessageType.PAYMENT_RECEIPT.value})


class VerificationService:
    def __init__(self, signer: HubSigner) -> None:
        self.signer = signer

    def verify(self, token: str, audience: str | None = None, now: int | None = None
               ) -> dict[str, Any]:
        registry = TrustRegistry()
        registry.load_jwks(HUB, self.signer.jwks())
        at = int(time.time()) if now is None else now
        expected = audience or _claimed_audience(token.strip())
        try:
            message = verify_message(token.strip(), registry, expected, at)
        except MessageRejected as refused:
            return {"valid": False, "reason": refused.details["reason"],
                    "detail": refused.message}
        if message.typ not in DOCUMENT_TYPES:
            return {"valid": False, "reason": "wrong_type",
                    "detail": f"a {message.typ} is not a statement or receipt"}
        return {"valid": True, "type": str(message.typ), "issuer": message.iss,
                "audience": message.aud, "audience_checked": audience is not None,
                "key": message.kid, "issued_at": message.iat, "expires_at": message.exp,
                "body": message.body}


def _claimed_audience(token: str) -> str:
    """The aud claim, unverified: only to ask `verify_message` the right question (the
    signature over it is checked there)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims.get("aud", "")) if isinstance(claims, dict) else ""
    except (IndexError, ValueError):
        return ""
