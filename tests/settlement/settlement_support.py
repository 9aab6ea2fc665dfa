"""Test support for the signed-message layer: a clock, parties, a claim-set builder, and a forger
that builds tokens with any header, payload and signature (to exercise each rejection)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ledger.settlement.canonical import canonicalize
from ledger.settlement.jws import b64url_encode
from ledger.settlement.keys import HUB, Party, SigningKey, TrustRegistry
from ledger.settlement.messages import HEADER_TYP, MessageType

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
TH = Party("TH-SSO")
KH = Party("KH-NSSF")
__all__ = ["DAY", "HUB", "KH", "NOW", "TH", "Forge", "Parties", "claims"]


@dataclass
class Parties:
    th: SigningKey
    kh: SigningKey
    hub: SigningKey
    registry: TrustRegistry


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid claim set from TH-SSO to HUB; override any member, or drop it with `...`."""
    base: dict[str, Any] = {
        "iss": TH,
        "aud": HUB,
        "iat": NOW,
        "exp": NOW + 900,
        "jti": "msg-0001",
        "seq": 1,
        "typ": MessageType.TRANSFER_REQUEST.value,
        "body": {"transfer_id": "tr-1", "amount": {"amount_minor": "123456", "currency": "THB"}},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


class Forge:
    """Builds compact tokens below the policy layer: any header, any payload bytes, any signer."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key

    def header(self, **overrides: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"alg": "Ed25519", "kid": self.key.kid, "typ": HEADER_TYP}
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not ...}

    def token(
        self,
        payload: bytes | dict[str, Any] | None = None,
        header: dict[str, Any] | bytes | None = None,
        signer: SigningKey | None = None,
    ) -> str:
        if payload is None:
            payload = claims()
        payload_bytes = canonicalize(payload) if isinstance(payload, dict) else payload
        if header is None:
            header = self.header()
        header_bytes = header if isinstance(header, bytes) else json.dumps(header).encode()
        signing_input = b64url_encode(header_bytes) + "." + b64url_encode(payload_bytes)
        signature = (signer or self.key).private_key.sign(signing_input.encode("ascii"))
        return signing_input + "." + b64url_encode(signature)
