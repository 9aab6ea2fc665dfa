"""A fund's side of the hub's message format, written from the spec, not from the ledger's code.

Owns `FundSigner`: signs `clmtv-msg+jwt` messages (JWS compact, alg Ed25519, RFC 8785 payload)
with a fund's private JWK from the preparation step, as a fund's own system would. The messages
a load test sends carry only strings, integers and objects, for which RFC 8785 is Python's JSON
with sorted keys, no spaces and UTF-8 kept as is; anything else is refused rather than guessed.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HEADER_TYP = "clmtv-msg+jwt"
ALG = "Ed25519"
TTL_S = 900


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _plain(value: Any, where: str) -> None:
    """Only what this module can canonicalise exactly: str, int (not bool), dict, list."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str) or (isinstance(value, int) and abs(value) <= 2**53 - 1):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys are strings")
            _plain(item, f"{where}.{key}")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _plain(item, f"{where}[{index}]")
        return
    raise TypeError(f"{where}: {type(value).__name__} has no canonical form here")


def canonical(value: Any) -> bytes:
    """RFC 8785 for ASCII-keyed objects of strings and safe integers."""
    _plain(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


class FundSigner:
    def __init__(self, fund: str, jwk: Mapping[str, Any]) -> None:
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" not in jwk:
            raise ValueError(f"{fund}: not an Ed25519 private JWK")
        self.fund = fund
        self.kid = str(jwk["kid"])
        self._key = Ed25519PrivateKey.from_private_bytes(b64url_decode(str(jwk["d"])))

    def sign(self, *, aud: str, typ: str, seq: int, body: Mapping[str, Any], iat: int,
             ttl_s: int = TTL_S) -> str:
        claims = {"iss": self.fund, "aud": aud, "iat": iat, "exp": iat + ttl_s,
                  "jti": str(uuid.uuid4()), "seq": seq, "typ": typ, "body": dict(body)}
        header = {"alg": ALG, "kid": self.kid, "typ": HEADER_TYP}
        signing_input = b64url(canonical(header)) + "." + b64url(canonical(claims))
        signature = self._key.sign(signing_input.encode("ascii"))
        return signing_input + "." + b64url(signature)


def payload_of(token: str) -> dict[str, Any]:
    """The claims of a compact JWS, unverified (the hub's statement, read for its netting)."""
    decoded: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return decoded
