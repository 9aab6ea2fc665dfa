"""Signing keys and the trust registry: who may sign settlement messages, with which key, when.

Owns
- `SigningKey`: one party's Ed25519 private key with its kid and validity window, and its
  dev-only storage forms (PEM, private JWK). Real deployments keep private keys in an HSM/KMS and
  only the public half ever leaves it; nothing here is meant to protect a private key at rest.
- `TrustedKey`: a public key as the rest of the network knows it (RFC 7517/8037 OKP JWK, plus the
  extra members `nbf`, `exp`, `revoked_at`: NumericDate seconds), and `KeyState` at an instant.
- `Keyring`: one party's own keys, choosing the signing key and rotating with overlap.
- `TrustRegistry`: issuer (fund code or "HUB") -> published keys, loaded from JWKS documents.

Time is NumericDate: integer seconds since the epoch, UTC, like `iat`/`exp` in messages.
Revocation is absolute: a key revoked at T is refused for every check made at or after T,
whatever `iat` the message claims (a stolen key can sign any `iat`). See
docs/adr/0012-key-registry-validity-and-revocation.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, NewType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.domain.errors import DomainError, ErrorCode
from ledger.settlement.canonical import canonicalize
from ledger.settlement.jws import (
    ACCEPTED_ALGS,
    ALG_ED25519,
    JwsFormatError,
    b64url_decode,
    b64url_encode,
)

Party = NewType("Party", str)  # a message issuer or audience: a fund code, or HUB
KeyId = NewType("KeyId", str)
HUB = Party("HUB")

KEY_BYTES = 32


# Validity field -> the JWK member that carries it.
_WINDOW_MEMBERS = {"not_before": "nbf", "not_after": "exp", "revoked_at": "revoked_at"}


class KeyState(StrEnum):
    VALID = "valid"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


def _invalid(message: str, field: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, message, field=field)


def thumbprint(x: str) -> KeyId:
    """RFC 7638 JWK thumbprint of an Ed25519 OKP key (RFC 8037 §2): the default kid.

    The thumbprint input is the required members in lexicographic order without whitespace,
    which is exactly their RFC 8785 form.
    """
    digest = hashlib.sha256(canonicalize({"crv": "Ed25519", "kty": "OKP", "x": x})).digest()
    return KeyId(b64url_encode(digest))


@dataclass(frozen=True, slots=True)
class Validity:
    """[not_before, not_after) in NumericDate seconds; None = open-ended. `revoked_at` wins."""

    not_before: int | None = None
    not_after: int | None = None
    revoked_at: int | None = None

    def __post_init__(self) -> None:
        for name in ("not_before", "not_after", "revoked_at"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise _invalid(f"{name} must be integer seconds", name)
        if (
            self.not_before is not None
            and self.not_after is not None
            and self.not_after <= self.not_before
        ):
            raise _invalid("not_after must be later than not_before", "not_after")

    def state_at(self, t: int) -> KeyState:
        if self.revoked_at is not None and t >= self.revoked_at:
            return KeyState.REVOKED
        if self.not_before is not None and t < self.not_before:
            return KeyState.NOT_YET_VALID
        if self.not_after is not None and t >= self.not_after:
            return KeyState.EXPIRED
        return KeyState.VALID

    def members(self) -> dict[str, int]:
        """The extra JWK members carrying this window."""
        out: dict[str, int] = {}
        if self.not_before is not None:
            out["nbf"] = self.not_before
        if self.not_after is not None:
            out["exp"] = self.not_after
        if self.revoked_at is not None:
            out["revoked_at"] = self.revoked_at
        return out


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A published public key. `public_key` is parsed once here, so verification never re-parses."""

    issuer: Party
    kid: KeyId
    x: str  # base64url of the 32 raw public key bytes
    validity: Validity
    public_key: Ed25519PublicKey = field(compare=False, repr=False)

    def state_at(self, t: int) -> KeyState:
        return self.validity.state_at(t)

    def to_jwk(self) -> dict[str, Any]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.x,
            "kid": self.kid,
            "alg": ALG_ED25519,
            "use": "sig",
            **self.validity.members(),
        }

    @classmethod
    def from_jwk(cls, issuer: Party, jwk: Mapping[str, Any], field: str = "jwk") -> TrustedKey:
        """Import a public OKP/Ed25519 JWK; refuses private material and unknown algorithms."""
        if not isinstance(jwk, Mapping):
            raise _invalid("a JWK must be a JSON object", field)
        if "d" in jwk:
            # A public key set that carries a private key is a leak somewhere upstream.
            raise _invalid("public key set contains private key material 'd'", f"{field}.d")
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise _invalid("only kty OKP with crv Ed25519 is accepted", f"{field}.kty")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid("kid must be a non-empty string", f"{field}.kid")
        if "alg" in jwk and jwk["alg"] not in ACCEPTED_ALGS:
            raise _invalid(f"alg {jwk['alg']!r} is not an Ed25519 algorithm", f"{field}.alg")
        if "use" in jwk and jwk["use"] != "sig":
            raise _invalid("use must be 'sig'", f"{field}.use")
        x = jwk.get("x")
        if not isinstance(x, str):
            raise _invalid("x must be a base64url string", f"{field}.x")
        public_key = Ed25519PublicKey.from_public_bytes(_decode_key_bytes(x, f"{field}.x"))
        try:
            validity = Validity(jwk.get("nbf"), jwk.get("exp"), jwk.get("revoked_at"))
        except DomainError as exc:
            member = _WINDOW_MEMBERS.get(exc.field or "", exc.field)
            raise _invalid(exc.message, f"{field}.{member}") from exc
        return cls(issuer, KeyId(kid), x, validity, public_key)


def _decode_key_bytes(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise _invalid("must be a base64url string", field)
    try:
        raw = b64url_decode(value)
    except JwsFormatError as exc:
        raise _invalid(str(exc), field) from exc
    if len(raw) != KEY_BYTES:
        raise _invalid(f"must decode to {KEY_BYTES} bytes, got {len(raw)}", field)
    return raw


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A party's private key. Dev/test storage only: production signs inside an HSM."""

    issuer: Party
    kid: KeyId
    private_key: Ed25519PrivateKey = field(compare=False, repr=False)
    validity: Validity = Validity()

    @classmethod
    def generate(
        cls, issuer: Party, *, kid: str | None = None, validity: Validity = Validity()
    ) -> SigningKey:
        """A fresh key; kid defaults to the RFC 7638 thumbprint."""
        return cls.from_private_key(issuer, Ed25519PrivateKey.generate(), kid, validity)

    @classmethod
    def from_private_key(
        cls,
        issuer: Party,
        private_key: Ed25519PrivateKey,
        kid: str | None = None,
        validity: Validity = Validity(),
    ) -> SigningKey:
        x = b64url_encode(_raw_public(private_key.public_key()))
        return cls(issuer, KeyId(kid) if kid else thumbprint(x), private_key, validity)

    @property
    def x(self) -> str:
        return b64url_encode(_raw_public(self.private_key.public_key()))

    def trusted(self) -> TrustedKey:
        """The public half, as verifiers hold it."""
        return TrustedKey(self.issuer, self.kid, self.x, self.validity,
                          self.private_key.public_key())

    def public_jwk(self) -> dict[str, Any]:
        return self.trusted().to_jwk()

    # --- dev-only storage -------------------------------------------------------------------

    def private_jwk(self) -> dict[str, Any]:
        """The JWK with `d` (RFC 8037 §2). Dev-only: never publish, never log."""
        raw = self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return {**self.public_jwk(), "d": b64url_encode(raw)}

    @classmethod
    def from_private_jwk(cls, issuer: Party, jwk: Mapping[str, Any]) -> SigningKey:
        """Load a private JWK. `x`, if present, must match `d` (catches a mixed-up key file);
        `kid` defaults to the thumbprint."""
        seed = _decode_key_bytes(jwk.get("d"), "jwk.d")
        private_key = Ed25519PrivateKey.from_private_bytes(seed)
        derived_x = b64url_encode(_raw_public(private_key.public_key()))
        public = {k: v for k, v in jwk.items() if k != "d"}
        public.setdefault("x", derived_x)
        public.setdefault("kid", thumbprint(derived_x))
        trusted = TrustedKey.from_jwk(issuer, public)
        if trusted.x != derived_x:
            raise _invalid("x does not match d", "jwk.x")
        return cls(issuer, trusted.kid, private_key, trusted.validity)

    def to_pem(self, password: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted when a password is given. Dev-only; kid and window not included."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_pem(
        cls,
        issuer: Party,
        pem: bytes,
        *,
        kid: str | None = None,
        validity: Validity = Validity(),
        password: bytes | None = None,
    ) -> SigningKey:
        loaded = serialization.load_pem_private_key(pem, password=password)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise _invalid("PEM does not hold an Ed25519 private key", "pem")
        return cls.from_private_key(issuer, loaded, kid, validity)


def _earliest(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(slots=True)
class Keyring:
    """One party's own signing keys: picks the key to sign with and rotates with overlap."""

    issuer: Party
    keys: list[SigningKey] = field(default_factory=list)

    def add(self, key: SigningKey) -> None:
        if key.issuer != self.issuer:
            raise _invalid(f"key belongs to {key.issuer}, not {self.issuer}", "issuer")
        if any(k.kid == key.kid for k in self.keys):
            raise _invalid(f"kid {key.kid} is already in the keyring", "kid")
        self.keys.append(key)

    def current(self, now: int) -> SigningKey:
        """The valid key that became valid most recently: during an overlap, the new one."""
        valid = [k for k in self.keys if k.validity.state_at(now) is KeyState.VALID]
        if not valid:
            raise _invalid(f"{self.issuer} has no key valid at {now}", "keys")
        return max(valid, key=lambda k: k.validity.not_before or 0)

    def rotate(self, now: int, *, overlap_s: int, lifetime_s: int | None = None) -> SigningKey:
        """Add a key valid from `now`; every older key stops `overlap_s` later (if not sooner).

        During the overlap both verify, so messages signed just before the switch still land.
        """
        if overlap_s < 0:
            raise _invalid("overlap_s must not be negative", "overlap_s")
        retire_at = now + overlap_s
        for index, key in enumerate(self.keys):
            ends = key.validity.not_after
            if ends is None or ends > retire_at:
                self.keys[index] = replace(key, validity=replace(key.validity, not_after=retire_at))
        new_key = SigningKey.generate(
            self.issuer,
            validity=Validity(now, now + lifetime_s if lifetime_s is not None else None),
        )
        self.add(new_key)
        return new_key

    def revoke(self, kid: str, at: int) -> None:
        for index, key in enumerate(self.keys):
            if key.kid == kid:
                self.keys[index] = replace(key, validity=replace(key.validity, revoked_at=at))
                return
        raise _invalid(f"no key {kid} in the keyring", "kid")

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS this party publishes: every key it holds, revoked ones marked."""
        return {"keys": [k.public_jwk() for k in self.keys]}


class TrustRegistry:
    """Issuer -> published keys. A kid belongs to its issuer: two issuers may use the same kid
    (a fund cannot squat another's key ids), so a key is named by (issuer, kid).

    Keys are stored parsed (`TrustedKey.public_key`), so a lookup during verification is one
    dict access and no key decoding.
    """

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        self._keys: dict[tuple[str, str], TrustedKey] = {}
        self._by_kid: dict[str, list[TrustedKey]] = {}
        for key in keys:
            self.add(key)

    def add(self, key: TrustedKey) -> None:
        """Register or update a key. Updating may move its window; it never un-revokes it."""
        name = (str(key.issuer), str(key.kid))
        existing = self._keys.get(name)
        if existing is not None:
            if existing.x != key.x:
                raise _invalid(
                    f"kid {key.kid} is already registered for {existing.issuer} with another key",
                    "kid",
                )
            # Revocation is sticky: a republished JWKS that forgot `revoked_at` (or a replayed
            # old one) must not bring a compromised key back.
            revoked_at = _earliest(existing.validity.revoked_at, key.validity.revoked_at)
            key = replace(key, validity=replace(key.validity, revoked_at=revoked_at))
        self._put(name, key)

    def _put(self, name: tuple[str, str], key: TrustedKey) -> None:
        self._keys[name] = key
        same = [k for k in self._by_kid.get(name[1], []) if k.issuer != key.issuer]
        self._by_kid[name[1]] = [*same, key]

    def load_jwks(self, issuer: Party, jwks: Mapping[str, Any]) -> list[TrustedKey]:
        """Register every key of `issuer`'s published JWKS (RFC 7517 §5). All or nothing."""
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise _invalid("a JWKS must be an object with a 'keys' array", "keys")
        parsed = [TrustedKey.from_jwk(issuer, jwk, f"keys[{i}]") for i, jwk in enumerate(keys)]
        kids = [k.kid for k in parsed]
        if len(set(kids)) != len(kids):
            raise _invalid("duplicate kid in JWKS", "keys")
        staged = TrustRegistry(self)
        for key in parsed:
            staged.add(key)
        self._keys, self._by_kid = staged._keys, staged._by_kid
        return parsed

    def revoke(self, kid: str, at: int, issuer: str | None = None) -> TrustedKey:
        key = self.get(kid, issuer)
        if key is None:
            raise _invalid(f"unknown kid {kid}", "kid")
        revoked_at = _earliest(key.validity.revoked_at, at)
        revoked = replace(key, validity=replace(key.validity, revoked_at=revoked_at))
        self._put((str(key.issuer), str(key.kid)), revoked)
        return revoked

    def get(self, kid: str, issuer: str | None = None) -> TrustedKey | None:
        """The key `kid` of `issuer`; without an issuer, the one key of that kid (None when no
        issuer or more than one uses it)."""
        if issuer is not None:
            return self._keys.get((str(issuer), kid))
        found = self._by_kid.get(kid, [])
        return found[0] if len(found) == 1 else None

    def keys_of(self, issuer: str) -> list[TrustedKey]:
        return [k for k in self._keys.values() if k.issuer == issuer]

    def issuers(self) -> set[Party]:
        return {k.issuer for k in self._keys.values()}

    def export_jwks(self, issuer: str) -> dict[str, Any]:
        return {"keys": [k.to_jwk() for k in self.keys_of(issuer)]}

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(list(self._keys.values()))

    def __len__(self) -> int:
        return len(self._keys)
