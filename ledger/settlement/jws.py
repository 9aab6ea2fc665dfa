"""JWS compact serialisation (RFC 7515 §7.1) with Ed25519 only (RFC 8037, RFC 9864).

Owns strict base64url (no padding, one encoding per byte string), splitting and signing compact
tokens, and the algorithm policy: we emit the fully-specified `"Ed25519"` (RFC 9864) and also
accept the polymorphic `"EdDSA"` (RFC 8037) from peers, both meaning Ed25519 here because every
key in our registries is an Ed25519 OKP key. Everything else — `none`, HMAC, RSA, ECDSA, Ed448 —
is refused before any key is looked at. See docs/adr/0011-jws-alg-ed25519.md.

No claim semantics here; `messages.py` builds on this.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from ledger.settlement.canonical import JsonParseError, canonicalize, parse_json

ALG_ED25519 = "Ed25519"  # RFC 9864, fully specified: what we emit
ALG_EDDSA = "EdDSA"  # RFC 8037, polymorphic: accepted from peers, deprecated by RFC 9864
ACCEPTED_ALGS: frozenset[str] = frozenset({ALG_ED25519, ALG_EDDSA})
SIGNATURE_LENGTH = 64
# Our headers are ~120 characters encoded. The bound also caps what the header cache can hold.
HEADER_CHARS_MAX = 1024

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class JwsFormatError(ValueError):
    """Not a JWS compact serialisation we can read (parts, base64url, header JSON)."""


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of `b64url_encode`: refuses padding, other alphabets, whitespace and
    non-zero trailing bits, so each byte string has exactly one accepted encoding and the token
    we store is the only spelling of what was signed.
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise JwsFormatError("not unpadded base64url")
    # The last character of a 2- or 3-character final group carries 4 or 2 unused low bits; a
    # decoder ignores them, so they must be zero or one byte string would have 4 or 16 spellings.
    unused_bits = {0: 0, 2: 4, 3: 2}[len(text) % 4]
    if unused_bits and _B64URL_ALPHABET.index(text[-1]) & ((1 << unused_bits) - 1):
        raise JwsFormatError("base64url has non-zero trailing bits")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class CompactJws:
    """A split compact JWS: the header parsed, payload and signature decoded, nothing verified."""

    header: Mapping[str, Any]  # read-only (shared by the header cache)
    payload: bytes
    signature: bytes
    signing_input: bytes  # ASCII(b64(header) '.' b64(payload)), what the signature covers


def parse_compact(token: str | bytes) -> CompactJws:
    """Split and decode; raises `JwsFormatError`. Says nothing about the signature."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError as exc:
            raise JwsFormatError("token is not ASCII") from exc
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsFormatError(f"expected 3 dot-separated parts, got {len(parts)}")
    header_b64, payload_b64, signature_b64 = parts
    if len(header_b64) > HEADER_CHARS_MAX:
        raise JwsFormatError(f"header longer than {HEADER_CHARS_MAX} characters")
    header = _parse_header(header_b64)
    payload = b64url_decode(payload_b64)
    signature = b64url_decode(signature_b64)
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return CompactJws(header, payload, signature, signing_input)


@functools.lru_cache(maxsize=1024)
def _parse_header(header_b64: str) -> Mapping[str, Any]:
    """Decode and parse a protected header. Cached: a peer sends the same few headers (alg, kid,
    typ) on every message, so this saves a decode and a JSON parse per message. The result is
    read-only because it is shared. Failures raise and are therefore not cached.
    """
    try:
        header = parse_json(b64url_decode(header_b64))
    except JsonParseError as exc:
        raise JwsFormatError(f"header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise JwsFormatError("header is not a JSON object")
    return MappingProxyType(header)


def sign_compact(header: Mapping[str, Any], payload: bytes, key: Ed25519PrivateKey) -> str:
    """Sign `payload` under `header` (serialised canonically) with Ed25519."""
    alg = header.get("alg")
    if alg not in ACCEPTED_ALGS:
        raise ValueError(f"alg must be one of {sorted(ACCEPTED_ALGS)}, not {alg!r}")
    signing_input = b64url_encode(canonicalize(header)) + "." + b64url_encode(payload)
    # libsodium, like verification (ADR 0023): the same deterministic RFC 8032 signature as
    # `key.sign`, in about half the time (a receipt per payment: issue 15).
    signed = crypto_sign(signing_input.encode("ascii"), _sodium_secret(key.private_bytes_raw()))
    return signing_input + "." + b64url_encode(signed[:SIGNATURE_LENGTH])


@functools.lru_cache(maxsize=64)
def _sodium_secret(seed: bytes) -> bytes:
    """libsodium's 64-byte signing key (seed and public key) for an Ed25519 seed."""
    return crypto_sign_seed_keypair(seed)[1]


def verify_signature(jws: CompactJws, key: Ed25519PublicKey) -> bool:
    """True iff the Ed25519 signature over the signing input is valid for `key`.

    Checked by libsodium (PyNaCl), twice as fast as OpenSSL's Ed25519 here and stricter: it also
    refuses small-order keys and R values, which RFC 8032 verification lets through. Keys are
    still parsed and signatures made with `cryptography` (docs/adr/0023-libsodium-verification.md).
    """
    if len(jws.signature) != SIGNATURE_LENGTH:
        return False
    try:
        crypto_sign_open(jws.signature + jws.signing_input, key.public_bytes_raw())
    except BadSignatureError:
        return False
    return True
