"""Signed settlement messages: the envelope, `sign_message` and `verify_message`.

Owns the claim set every message between funds and hub carries —
`iss aud iat exp jti seq typ body`, nothing else — its JWS header (`alg`, `kid`,
`typ: clmtv-msg+jwt`), the integers-only number profile, and every reason a message is refused
(`RejectReason`, stable codes: never rename one).

The payload is the RFC 8785 form of the claims and must *be* that form on arrival: equal claims
then have exactly one byte string, so the raw bytes the inbox stores (and hashes for replay
detection) identify the message. Replay and sequence order are the inbox's business
(`inbox.py`); verification only says whether one message is authentic, current and for us.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from ledger.domain.errors import DomainError, ErrorCode
from ledger.settlement.canonical import (
    IJSON_INTEGER_MAX,
    CanonicalizationError,
    JsonParseError,
    NumberNotAllowedError,
    canonicalize,
    is_canonical_ijson,
    parse_json,
)
from ledger.settlement.jws import (
    ACCEPTED_ALGS,
    ALG_ED25519,
    CompactJws,
    JwsFormatError,
    parse_compact,
    sign_compact,
    verify_signature,
)
from ledger.settlement.keys import KeyState, Party, SigningKey, TrustedKey, TrustRegistry

HEADER_TYP = "clmtv-msg+jwt"  # RFC 8725 §3.11 explicit typing: no other JWT passes as ours
CLOCK_SKEW_S = 60
DEFAULT_TTL_S = 900
# Bounds (move to ledger/limits.py once it exists): a statement for a large window is big, but a
# token beyond this is an attack or a bug, and is refused before any decoding.
TOKEN_CHARS_MAX = 4 * 1024 * 1024
JTI_LENGTH_MAX = 128

CLAIMS = ("iss", "aud", "iat", "exp", "jti", "seq", "typ", "body")
# Header members that would make us fetch, trust or process something the signature does not
# pin down: embedded or remote keys (the classic "jwk header" attack), critical extensions,
# unencoded payloads (RFC 7797).
_FORBIDDEN_HEADER = frozenset({"jwk", "jku", "x5u", "x5c", "crit", "b64"})
_PRINTABLE_ID = re.compile(r"[\x21-\x7e]+")


class MessageType(StrEnum):
    TRANSFER_REQUEST = "transfer.request"
    TRANSFER_ACK = "transfer.ack"
    SETTLEMENT_STATEMENT = "settlement.statement"
    SETTLEMENT_CONFIRMATION = "settlement.confirmation"
    STATEMENT_WORKER = "statement.worker"
    PAYMENT_RECEIPT = "payment.receipt"  # hub -> worker: a channel payment (docs/channels.md)
    JOURNAL_TREE_HEAD = "journal.tree_head"  # hub -> anyone: a sealed Merkle tree (ADR 0050)
    # hub -> anyone: the period state changes' sealed Merkle tree (ADR 0059)
    JOURNAL_PERIOD_TREE_HEAD = "journal.period_tree_head"
    STATS_RELEASE = "stats.release"  # hub -> everyone: a monitoring data package (monitoring.md)


_MESSAGE_TYPES = frozenset(t.value for t in MessageType)


class RejectReason(StrEnum):
    """Why `verify_message` refused a token. Stable codes: clients and the inbox log them."""

    MALFORMED = "malformed"  # not 3 parts, bad base64url, header/payload not strict JSON objects
    ALG_NOT_ALLOWED = "alg_not_allowed"  # none, HS256, RS256, ES256, Ed448, missing, ...
    HEADER_REJECTED = "header_rejected"  # typ not ours; jwk/jku/x5u/x5c/crit/b64 present
    MISSING_KID = "missing_kid"
    UNKNOWN_KEY = "unknown_key"  # kid in no issuer's published keys
    KEY_NOT_YET_VALID = "key_not_yet_valid"  # before the key's nbf (at now, or at iat)
    KEY_EXPIRED = "key_expired"  # at/after the key's exp (at now, or at iat)
    KEY_REVOKED = "key_revoked"  # now >= revoked_at, whatever iat says
    SIGNATURE_INVALID = "signature_invalid"  # header or payload tampered, or wrong key
    NON_CANONICAL_PAYLOAD = "non_canonical_payload"  # payload is not the JCS form of itself
    NUMBER_NOT_ALLOWED = "number_not_allowed"  # fraction/exponent, or integer beyond 2**53-1
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"  # wrong type or range, unknown message type, extra claim
    ISSUER_KEY_MISMATCH = "issuer_key_mismatch"  # kid is registered, but not for iss
    WRONG_AUDIENCE = "wrong_audience"
    MESSAGE_EXPIRED = "message_expired"  # exp <= now - skew
    MESSAGE_NOT_YET_VALID = "message_not_yet_valid"  # iat > now + skew
    LIFETIME_TOO_LONG = "lifetime_too_long"  # exp - iat beyond what the receiver accepts


class MessageRejected(DomainError):  # noqa: N818 - reads as what happened, like the reason codes
    """A refused message. `reason` is the stable code; it is also in `details["reason"]`.

    A DomainError so that services and the API handle it like any other expected failure.
    """

    def __init__(self, reason: RejectReason, message: str, *, claim: str | None = None) -> None:
        details: dict[str, Any] = {"reason": reason.value}
        if claim is not None:
            details["claim"] = claim
        super().__init__(ErrorCode.MESSAGE_REJECTED, message, field=claim, details=details)
        self.reason = reason

    def __repr__(self) -> str:
        return f"MessageRejected({self.reason.value!r}, {self.message!r})"


class Channel(NamedTuple):
    """A one-way message stream; `seq` counts within it."""

    iss: str
    aud: str


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """An authentic, current message addressed to us. `payload` is the exact signed bytes."""

    iss: Party
    aud: Party
    iat: int
    exp: int
    jti: str
    seq: int
    typ: MessageType
    body: dict[str, Any]
    kid: str
    alg: str
    token: str
    payload: bytes

    @property
    def channel(self) -> Channel:
        return Channel(self.iss, self.aud)

    @property
    def payload_sha256(self) -> str:
        """Identity of the claims for replay detection: same jti + same hash = same message."""
        return hashlib.sha256(self.payload).hexdigest()


# --- signing -------------------------------------------------------------------------------------


def sign_message(
    key: SigningKey,
    *,
    aud: str,
    typ: MessageType | str,
    seq: int,
    body: Mapping[str, Any],
    iat: int,
    ttl_s: int = DEFAULT_TTL_S,
    jti: str | None = None,
    alg: str = ALG_ED25519,
) -> str:
    """Sign a message from `key.issuer` to `aud`. Refuses (MessageRejected) anything that
    `verify_message` would refuse for its content, so we never emit a message peers must drop.
    """
    claims: dict[str, Any] = {
        "iss": key.issuer,
        "aud": aud,
        "iat": iat,
        "exp": iat + ttl_s,
        "jti": jti if jti is not None else str(uuid.uuid4()),
        "seq": seq,
        "typ": str(typ),
        "body": body,
    }
    if type(body) is not dict:  # the verifier sees a JSON object: a dict, as parsed
        claims["body"] = dict(body)
    # The message profile applied while writing (no float, no integer beyond 2**53 - 1), and
    # the claims checked on the very values written: what the verifier will parse back, with
    # no need to parse it here (a third of a receipt's signing cost, measured: issue 15).
    try:
        payload = canonicalize(claims, integers_only=True)
    except NumberNotAllowedError as exc:
        raise MessageRejected(RejectReason.NUMBER_NOT_ALLOWED, str(exc)) from exc
    except CanonicalizationError as exc:
        raise MessageRejected(RejectReason.MALFORMED, str(exc)) from exc
    _check_claims(claims)
    state = key.validity.state_at(iat)
    if state is not KeyState.VALID:
        raise MessageRejected(_KEY_STATE_REASON[state], f"key {key.kid} is {state} at iat")
    header = {"alg": alg, "kid": key.kid, "typ": HEADER_TYP}
    return sign_compact(header, payload, key.private_key)


# --- verification --------------------------------------------------------------------------------


def verify_message(
    token: str | bytes,
    registry: TrustRegistry,
    expected_audience: str,
    now: int,
    *,
    clock_skew_s: int = CLOCK_SKEW_S,
    allowed_algs: frozenset[str] = ACCEPTED_ALGS,
    lifetime_max_s: int | None = None,
) -> VerifiedMessage:
    """Return the verified message, or raise MessageRejected with the first failing reason.

    Order: structure, header policy, key (known, in force now), signature, then the payload —
    nothing in the payload is believed before the signature over it is checked, and a tampered
    payload is reported as a bad signature, never as whatever its tampered content looks like.
    """
    if len(token) > TOKEN_CHARS_MAX:
        raise MessageRejected(RejectReason.MALFORMED, f"token longer than {TOKEN_CHARS_MAX}")
    try:
        jws = parse_compact(token)
    except JwsFormatError as exc:
        raise MessageRejected(RejectReason.MALFORMED, str(exc)) from exc
    alg, kid = _check_header(jws.header, allowed_algs)
    key = _key_in_force(registry, kid, now, _claimed_issuer(jws.payload))
    if not verify_signature(jws, key.public_key):
        raise MessageRejected(RejectReason.SIGNATURE_INVALID, "signature does not verify")
    claims = _check_claims(_parse_payload(jws.payload))
    _check_binding(claims, key, expected_audience, now, clock_skew_s)
    if lifetime_max_s is not None and claims["exp"] - claims["iat"] > lifetime_max_s:
        raise MessageRejected(RejectReason.LIFETIME_TOO_LONG,
                              f"exp - iat is {claims['exp'] - claims['iat']} s; at most "
                              f"{lifetime_max_s} s", claim="exp")
    text = token.decode("ascii") if isinstance(token, bytes) else token  # ASCII: parse checked
    return _verified(text, jws, claims, kid, alg)


def _check_header(header: Mapping[str, Any], allowed_algs: frozenset[str]) -> tuple[str, str]:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed_algs or alg not in ACCEPTED_ALGS:
        raise MessageRejected(RejectReason.ALG_NOT_ALLOWED, f"alg {alg!r} is not allowed")
    forbidden = _FORBIDDEN_HEADER.intersection(header)
    if forbidden:
        raise MessageRejected(
            RejectReason.HEADER_REJECTED, f"header members not accepted: {sorted(forbidden)}"
        )
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != HEADER_TYP:
        raise MessageRejected(RejectReason.HEADER_REJECTED, f"typ {typ!r} is not {HEADER_TYP}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise MessageRejected(RejectReason.MISSING_KID, "header has no kid")
    return alg, kid


_KEY_STATE_REASON = {
    KeyState.NOT_YET_VALID: RejectReason.KEY_NOT_YET_VALID,
    KeyState.EXPIRED: RejectReason.KEY_EXPIRED,
    KeyState.REVOKED: RejectReason.KEY_REVOKED,
}


def _claimed_issuer(payload: bytes) -> str | None:
    """The `iss` the payload claims, read before the signature is checked: only to choose among
    keys of one kid (a kid belongs to its issuer); nothing else is believed until the signature
    verifies, and `iss` is bound to the key's issuer afterwards (`issuer_key_mismatch`)."""
    try:
        issuer = json.loads(payload).get("iss")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return issuer if isinstance(issuer, str) else None


def _key_in_force(registry: TrustRegistry, kid: str, now: int, issuer: str | None
                  ) -> TrustedKey:
    key = (registry.get(kid, issuer) if issuer is not None else None) or registry.get(kid)
    if key is None:
        raise MessageRejected(RejectReason.UNKNOWN_KEY, f"no published key {kid!r}")
    state = key.state_at(now)
    if state is not KeyState.VALID:
        raise MessageRejected(_KEY_STATE_REASON[state], f"key {kid} is {state} at {now}")
    return key


def _parse_payload(payload: bytes) -> dict[str, Any]:
    try:
        claims = parse_json(payload, integers_only=True)
    except NumberNotAllowedError as exc:
        raise MessageRejected(RejectReason.NUMBER_NOT_ALLOWED, str(exc)) from exc
    except JsonParseError as exc:
        raise MessageRejected(RejectReason.MALFORMED, f"payload is not JSON: {exc}") from exc
    if not isinstance(claims, dict):
        raise MessageRejected(RejectReason.MALFORMED, "payload is not a JSON object")
    try:
        canonical = is_canonical_ijson(payload, claims)
    except CanonicalizationError as exc:
        raise MessageRejected(RejectReason.MALFORMED, str(exc)) from exc
    if not canonical:
        raise MessageRejected(
            RejectReason.NON_CANONICAL_PAYLOAD, "payload is not in RFC 8785 canonical form"
        )
    return claims


def _check_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """Presence and shape of every claim; the same rules bind signer and verifier."""
    for name in CLAIMS:
        if name not in claims:
            raise MessageRejected(
                RejectReason.MISSING_CLAIM, f"claim {name} is missing", claim=name
            )
    if len(claims) != len(CLAIMS):
        extra = sorted(set(claims).difference(CLAIMS))
        raise MessageRejected(
            RejectReason.INVALID_CLAIM, f"unexpected claims {extra}", claim=extra[0]
        )
    iss, aud, iat, exp = claims["iss"], claims["aud"], claims["iat"], claims["exp"]
    jti, seq, typ = claims["jti"], claims["seq"], claims["typ"]
    _require(type(iss) is str and iss != "", "iss", _NON_EMPTY)
    _require(type(aud) is str and aud != "", "aud", _NON_EMPTY)
    # `type(x) is int` also refuses bool, which is an int subclass.
    _require(type(iat) is int and iat >= 0, "iat", _SECONDS)
    _require(type(exp) is int and exp > iat, "exp", _SECONDS + " later than iat")
    _require(
        type(jti) is str and len(jti) <= JTI_LENGTH_MAX and _PRINTABLE_ID.fullmatch(jti),
        "jti",
        _JTI_SHAPE,
    )
    _require(type(seq) is int and 1 <= seq <= IJSON_INTEGER_MAX, "seq", "an integer >= 1")
    _require(type(typ) is str and typ in _MESSAGE_TYPES, "typ", _TYPES_TEXT)
    _require(type(claims["body"]) is dict, "body", "a JSON object")
    return claims


_NON_EMPTY = "a non-empty string"
_SECONDS = "integer seconds"
_JTI_SHAPE = f"1-{JTI_LENGTH_MAX} printable ASCII characters"
_TYPES_TEXT = f"one of {sorted(_MESSAGE_TYPES)}"


def _require(ok: object, claim: str, expectation: str) -> None:
    if not ok:
        raise MessageRejected(
            RejectReason.INVALID_CLAIM, f"{claim} must be {expectation}", claim=claim
        )


def _check_binding(
    claims: dict[str, Any], key: TrustedKey, audience: str, now: int, skew_s: int
) -> None:
    """Claims against the key that signed them, against us, and against the clock."""
    if claims["iss"] != key.issuer:
        raise MessageRejected(
            RejectReason.ISSUER_KEY_MISMATCH,
            f"key {key.kid} belongs to {key.issuer}, not to {claims['iss']}",
            claim="iss",
        )
    if claims["aud"] != audience:
        raise MessageRejected(
            RejectReason.WRONG_AUDIENCE, f"message is for {claims['aud']}, not {audience}",
            claim="aud",
        )
    # A key must also have been in force when the issuer says it signed: a message dated before
    # a key existed, or after it retired, is not one the issuer can have sent in good faith.
    state = key.state_at(claims["iat"])
    if state is not KeyState.VALID:
        raise MessageRejected(_KEY_STATE_REASON[state], f"key {key.kid} is {state} at iat",
                              claim="iat")
    if claims["exp"] <= now - skew_s:
        raise MessageRejected(RejectReason.MESSAGE_EXPIRED, "message has expired", claim="exp")
    if claims["iat"] > now + skew_s:
        raise MessageRejected(
            RejectReason.MESSAGE_NOT_YET_VALID, "message is dated in the future", claim="iat"
        )


def _verified(
    token: str, jws: CompactJws, claims: dict[str, Any], kid: str, alg: str
) -> VerifiedMessage:
    return VerifiedMessage(
        iss=Party(claims["iss"]),
        aud=Party(claims["aud"]),
        iat=claims["iat"],
        exp=claims["exp"],
        jti=claims["jti"],
        seq=claims["seq"],
        typ=MessageType(claims["typ"]),
        body=claims["body"],
        kid=kid,
        alg=alg,
        token=token,
        payload=jws.payload,
    )
