"""sign_message / verify_message: the happy path, and one test per rejection reason asserting its
exact stable code (the last test checks that every RejectReason is exercised here)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest
from settlement_support import DAY, HUB, KH, NOW, TH, Forge, Parties, claims

from ledger.domain.errors import DomainError, ErrorCode
from ledger.settlement.canonical import canonicalize
from ledger.settlement.jws import b64url_decode, b64url_encode
from ledger.settlement.keys import SigningKey, TrustRegistry, Validity
from ledger.settlement.messages import (
    CLOCK_SKEW_S,
    HEADER_TYP,
    TOKEN_CHARS_MAX,
    Channel,
    MessageRejected,
    MessageType,
    RejectReason,
    sign_message,
    verify_message,
)


def rejected(
    token: str | bytes, registry: TrustRegistry, now: int = NOW, **kw: Any
) -> RejectReason:
    """The reason `verify_message` gives; fails the test if it accepts."""
    with pytest.raises(MessageRejected) as caught:
        verify_message(token, registry, kw.pop("audience", HUB), now, **kw)
    return caught.value.reason


def _parts(token: str) -> list[str]:
    return token.split(".")


# --- happy path ----------------------------------------------------------------------------------


def test_signed_message_verifies(parties: Parties, good_token: str) -> None:
    message = verify_message(good_token, parties.registry, HUB, NOW)
    assert (message.iss, message.aud, message.seq, message.jti) == (TH, HUB, 1, "msg-0001")
    assert message.typ is MessageType.TRANSFER_REQUEST
    assert (message.iat, message.exp) == (NOW, NOW + 900)
    assert message.body == claims()["body"]
    assert message.channel == Channel(TH, HUB)
    assert (message.kid, message.alg) == ("th-2026-01", "Ed25519")
    assert message.token == good_token
    assert message.payload == canonicalize(claims())
    assert message.payload_sha256 == hashlib.sha256(message.payload).hexdigest()


def test_header_carries_alg_kid_typ_only(good_token: str) -> None:
    header = json.loads(b64url_decode(_parts(good_token)[0]))
    assert header == {"alg": "Ed25519", "kid": "th-2026-01", "typ": HEADER_TYP}


def test_bytes_token_verifies(parties: Parties, good_token: str) -> None:
    assert verify_message(good_token.encode(), parties.registry, HUB, NOW).token == good_token


def test_polymorphic_eddsa_alg_is_accepted_and_can_be_refused(parties: Parties) -> None:
    token = sign_message(parties.th, aud=HUB, typ="transfer.ack", seq=1, body={}, iat=NOW,
                         alg="EdDSA")
    assert verify_message(token, parties.registry, HUB, NOW).alg == "EdDSA"
    only_new = frozenset({"Ed25519"})
    assert rejected(token, parties.registry, allowed_algs=only_new) is RejectReason.ALG_NOT_ALLOWED


def test_signing_is_deterministic(parties: Parties) -> None:
    def sign() -> str:
        return sign_message(parties.th, aud=HUB, typ="transfer.ack", seq=7, body={"a": "1"},
                            iat=NOW, jti="same")

    assert sign() == sign()


def test_generated_jti_is_unique(parties: Parties) -> None:
    tokens = {
        verify_message(
            sign_message(parties.th, aud=HUB, typ="transfer.ack", seq=1, body={}, iat=NOW),
            parties.registry, HUB, NOW,
        ).jti
        for _ in range(20)
    }
    assert len(tokens) == 20


def test_rejection_is_a_domain_error_with_the_reason_in_details(
    parties: Parties, forge: Forge
) -> None:
    with pytest.raises(DomainError) as caught:
        verify_message(forge.token(claims(aud=KH)), parties.registry, HUB, NOW)
    error = caught.value
    assert isinstance(error, MessageRejected)
    assert error.code is ErrorCode.MESSAGE_REJECTED
    assert error.to_dict()["details"] == {"reason": "wrong_audience", "claim": "aud"}


# --- malformed -----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "...", "e30.e30.e30.e30"])
def test_malformed_not_three_parts(parties: Parties, token: str) -> None:
    assert rejected(token, parties.registry) is RejectReason.MALFORMED


def test_malformed_bad_base64(parties: Parties, good_token: str) -> None:
    header, payload, signature = _parts(good_token)
    for bad in (
        f"{header}=.{payload}.{signature}",
        f"{header}.{payload}==.{signature}",
        f"{header}.{payload}.{signature[:-2]}+/",
        f"{header}.{payload[:10]}*{payload[11:]}.{signature}",
        f"{header}.{payload}.{signature} ",
    ):
        assert rejected(bad, parties.registry) is RejectReason.MALFORMED


def test_malformed_header_not_json(parties: Parties, forge: Forge) -> None:
    duplicate_alg = b'{"alg":"Ed25519","alg":"none","kid":"th-2026-01","typ":"clmtv-msg+jwt"}'
    for header in (b"{alg:Ed25519}", b'["alg"]', duplicate_alg):
        assert rejected(forge.token(header=header), parties.registry) is RejectReason.MALFORMED


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'["iss","aud"]',
        b'{"iss":"TH-SSO","iss":"HUB"}',
        b"",
        b'{"body":{},"jti":"\\ud800"}',  # lone surrogate: not I-JSON
        b'{"a":NaN}',
    ],
)
def test_malformed_payload_even_when_validly_signed(
    parties: Parties, forge: Forge, payload: bytes
) -> None:
    assert rejected(forge.token(payload), parties.registry) is RejectReason.MALFORMED


def test_malformed_oversized_token(parties: Parties) -> None:
    assert rejected("a" * (TOKEN_CHARS_MAX + 1), parties.registry) is RejectReason.MALFORMED


def test_malformed_non_ascii_token(parties: Parties, good_token: str) -> None:
    assert rejected(good_token.encode() + "é".encode(), parties.registry) is RejectReason.MALFORMED


# --- signature -----------------------------------------------------------------------------------


def test_header_tampered(parties: Parties, good_token: str) -> None:
    _, payload, signature = _parts(good_token)
    header = b64url_encode(json.dumps(
        {"alg": "Ed25519", "kid": "th-2026-01", "typ": "application/clmtv-msg+jwt"}
    ).encode())
    tampered = f"{header}.{payload}.{signature}"
    assert rejected(tampered, parties.registry) is RejectReason.SIGNATURE_INVALID


def test_payload_tampered(parties: Parties, good_token: str) -> None:
    header, _, signature = _parts(good_token)
    more = claims(body={"transfer_id": "tr-1",
                        "amount": {"amount_minor": "923456", "currency": "THB"}})
    tampered = f"{header}.{b64url_encode(canonicalize(more))}.{signature}"
    assert rejected(tampered, parties.registry) is RejectReason.SIGNATURE_INVALID


def test_tampered_payload_that_is_not_even_json_is_still_a_bad_signature(
    parties: Parties, good_token: str
) -> None:
    header, _, signature = _parts(good_token)
    tampered = f"{header}.{b64url_encode(b'garbage')}.{signature}"
    assert rejected(tampered, parties.registry) is RejectReason.SIGNATURE_INVALID


def test_signature_bit_flipped(parties: Parties, good_token: str) -> None:
    header, payload, signature = _parts(good_token)
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 0x01
    flipped = f"{header}.{payload}.{b64url_encode(bytes(raw))}"
    assert rejected(flipped, parties.registry) is RejectReason.SIGNATURE_INVALID


def test_signed_by_another_key_under_our_kid(parties: Parties, forge: Forge) -> None:
    impostor = SigningKey.generate(TH)
    token = forge.token(signer=impostor)
    assert rejected(token, parties.registry) is RejectReason.SIGNATURE_INVALID


def test_empty_signature(parties: Parties, good_token: str) -> None:
    header, payload, _ = _parts(good_token)
    assert rejected(f"{header}.{payload}.", parties.registry) is RejectReason.SIGNATURE_INVALID


# --- algorithm and header policy -----------------------------------------------------------------


def _unsigned(header: dict[str, Any], signature: bytes = b"") -> str:
    return (
        f"{b64url_encode(json.dumps(header).encode())}."
        f"{b64url_encode(canonicalize(claims()))}.{b64url_encode(signature)}"
    )


@pytest.mark.parametrize(
    "alg",
    ["none", "None", "NONE", "HS256", "HS512", "RS256", "PS256", "ES256", "ES256K", "Ed448",
     "eddsa", "ed25519", "", None, ["Ed25519"], 1],
)
def test_alg_not_allowed(parties: Parties, forge: Forge, alg: Any) -> None:
    header = forge.header(alg=alg)
    assert rejected(_unsigned(header, b"\x00" * 64), parties.registry) is (
        RejectReason.ALG_NOT_ALLOWED
    )


def test_alg_none_with_empty_signature(parties: Parties, forge: Forge) -> None:
    token = _unsigned(forge.header(alg="none"))
    assert rejected(token, parties.registry) is RejectReason.ALG_NOT_ALLOWED


def test_alg_missing(parties: Parties, forge: Forge) -> None:
    token = forge.token(header=forge.header(alg=...))
    assert rejected(token, parties.registry) is RejectReason.ALG_NOT_ALLOWED


def test_alg_hs256_key_confusion(parties: Parties, forge: Forge) -> None:
    # The classic attack: HMAC with the *public* key as the secret.
    header = b64url_encode(json.dumps(forge.header(alg="HS256")).encode())
    signing_input = f"{header}.{b64url_encode(canonicalize(claims()))}"
    for secret in (b64url_decode(parties.th.x), parties.th.x.encode()):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64url_encode(mac)}"
        assert rejected(token, parties.registry) is RejectReason.ALG_NOT_ALLOWED


@pytest.mark.parametrize(
    "overrides",
    [
        {"typ": ...},
        {"typ": "JWT"},
        {"typ": "at+jwt"},
        {"typ": 1},
        {"crit": ["exp"]},
        {"b64": False, "crit": ["b64"]},
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"x5c": ["MIIB..."]},
    ],
)
def test_header_rejected(parties: Parties, forge: Forge, overrides: dict[str, Any]) -> None:
    token = forge.token(header=forge.header(**overrides))
    assert rejected(token, parties.registry) is RejectReason.HEADER_REJECTED


def test_header_rejected_embedded_jwk(parties: Parties, forge: Forge) -> None:
    # A token carrying its own key must not be trusted with it, even when that key signed it.
    attacker = SigningKey.generate(TH)
    token = forge.token(header=forge.header(jwk=attacker.public_jwk()), signer=attacker)
    assert rejected(token, parties.registry) is RejectReason.HEADER_REJECTED


def test_typ_with_media_type_prefix_and_other_case_is_ours(parties: Parties, forge: Forge) -> None:
    for typ in ("application/clmtv-msg+jwt", "CLMTV-MSG+JWT"):
        token = forge.token(header=forge.header(typ=typ))
        assert verify_message(token, parties.registry, HUB, NOW).seq == 1


@pytest.mark.parametrize("kid", [..., "", None, 7, ["th-2026-01"]])
def test_missing_kid(parties: Parties, forge: Forge, kid: Any) -> None:
    token = forge.token(header=forge.header(kid=kid))
    assert rejected(token, parties.registry) is RejectReason.MISSING_KID


# --- keys ----------------------------------------------------------------------------------------


def test_unknown_key(parties: Parties, forge: Forge) -> None:
    stranger = SigningKey.generate(TH, kid="th-unpublished")
    token = Forge(stranger).token()
    assert rejected(token, parties.registry) is RejectReason.UNKNOWN_KEY


def test_key_not_yet_valid_now(parties: Parties) -> None:
    future = SigningKey.generate(TH, kid="th-next", validity=Validity(NOW + DAY))
    registry = TrustRegistry([future.trusted()])
    token = Forge(future).token(claims(iat=NOW + DAY, exp=NOW + DAY + 900))
    assert rejected(token, registry) is RejectReason.KEY_NOT_YET_VALID


def test_key_not_yet_valid_at_iat(parties: Parties) -> None:
    # Valid now, but the message says it was signed before the key existed.
    key = SigningKey.generate(TH, kid="th-new", validity=Validity(NOW - 60))
    registry = TrustRegistry([key.trusted()])
    token = Forge(key).token(claims(iat=NOW - 120))
    assert rejected(token, registry) is RejectReason.KEY_NOT_YET_VALID


def test_key_expired_now(parties: Parties) -> None:
    old = SigningKey.generate(TH, kid="th-old", validity=Validity(NOW - 2 * DAY, NOW - DAY))
    registry = TrustRegistry([old.trusted()])
    token = Forge(old).token(claims(iat=NOW - DAY - 60, exp=NOW + 900))
    assert rejected(token, registry) is RejectReason.KEY_EXPIRED


def test_key_expired_at_iat(parties: Parties) -> None:
    # Valid now, but the message is dated (within clock skew) after the key retires.
    key = SigningKey.generate(TH, kid="th-ending", validity=Validity(NOW - DAY, NOW + 30))
    registry = TrustRegistry([key.trusted()])
    token = Forge(key).token(claims(iat=NOW + 40, exp=NOW + 900))
    assert rejected(token, registry) is RejectReason.KEY_EXPIRED


def test_key_revoked(parties: Parties, good_token: str) -> None:
    parties.registry.revoke(parties.th.kid, NOW - 1)
    assert rejected(good_token, parties.registry) is RejectReason.KEY_REVOKED


def test_issuer_key_mismatch(parties: Parties) -> None:
    # KH-NSSF's genuine key, signing a message that claims to come from TH-SSO.
    token = Forge(parties.kh).token(claims(iss=TH))
    assert rejected(token, parties.registry) is RejectReason.ISSUER_KEY_MISMATCH


def test_issuer_key_mismatch_for_an_unregistered_issuer(parties: Parties) -> None:
    token = Forge(parties.th).token(claims(iss="VN-VSS"))
    assert rejected(token, parties.registry) is RejectReason.ISSUER_KEY_MISMATCH


# --- audience and time ---------------------------------------------------------------------------


def test_wrong_audience(parties: Parties, forge: Forge) -> None:
    token = forge.token(claims(aud=KH))
    assert rejected(token, parties.registry) is RejectReason.WRONG_AUDIENCE
    assert verify_message(token, parties.registry, KH, NOW).aud == KH


def test_message_expired(parties: Parties, forge: Forge) -> None:
    token = forge.token(claims(iat=NOW - 1000, exp=NOW - 100))
    assert rejected(token, parties.registry) is RejectReason.MESSAGE_EXPIRED


def test_message_expired_boundary_with_skew(parties: Parties, forge: Forge) -> None:
    token = forge.token(claims(iat=NOW - 1000, exp=NOW))
    # exp <= now - skew is expired; a skew's worth of grace after exp is not.
    assert verify_message(token, parties.registry, HUB, NOW + CLOCK_SKEW_S - 1).exp == NOW
    assert rejected(token, parties.registry, NOW + CLOCK_SKEW_S) is RejectReason.MESSAGE_EXPIRED
    assert rejected(token, parties.registry, NOW, clock_skew_s=0) is RejectReason.MESSAGE_EXPIRED


def test_message_not_yet_valid(parties: Parties, forge: Forge) -> None:
    token = forge.token(claims(iat=NOW + 3600, exp=NOW + 7200))
    assert rejected(token, parties.registry) is RejectReason.MESSAGE_NOT_YET_VALID


def test_message_not_yet_valid_boundary_with_skew(parties: Parties, forge: Forge) -> None:
    token = forge.token(claims(iat=NOW + CLOCK_SKEW_S, exp=NOW + 900))
    assert verify_message(token, parties.registry, HUB, NOW).iat == NOW + CLOCK_SKEW_S
    assert rejected(token, parties.registry, NOW - 1) is RejectReason.MESSAGE_NOT_YET_VALID
    assert rejected(token, parties.registry, NOW, clock_skew_s=10) is (
        RejectReason.MESSAGE_NOT_YET_VALID
    )


def test_a_lifetime_past_the_receivers_bound_is_refused_only_where_it_sets_one(
    parties: Parties, forge: Forge
) -> None:
    token = forge.token(claims(iat=NOW, exp=NOW + 1000))
    assert verify_message(token, parties.registry, HUB, NOW, lifetime_max_s=1000).exp == NOW + 1000
    assert rejected(token, parties.registry, lifetime_max_s=999) is RejectReason.LIFETIME_TOO_LONG
    with pytest.raises(MessageRejected) as caught:
        verify_message(token, parties.registry, HUB, NOW, lifetime_max_s=999)
    assert caught.value.details["claim"] == "exp"
    assert verify_message(token, parties.registry, HUB, NOW).exp == NOW + 1000  # no bound set


# --- claims --------------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["iss", "aud", "iat", "exp", "jti", "seq", "typ", "body"])
def test_missing_claim(parties: Parties, forge: Forge, claim: str) -> None:
    with pytest.raises(MessageRejected) as caught:
        verify_message(forge.token(claims(**{claim: ...})), parties.registry, HUB, NOW)
    assert caught.value.reason is RejectReason.MISSING_CLAIM
    assert caught.value.details["claim"] == claim


@pytest.mark.parametrize(
    ("overrides", "claim"),
    [
        ({"nbf": NOW}, "nbf"),
        ({"iss": ""}, "iss"),
        ({"iss": ["TH-SSO"]}, "iss"),
        ({"aud": ["HUB"]}, "aud"),
        ({"iat": str(NOW)}, "iat"),
        ({"iat": True}, "iat"),
        ({"iat": -1}, "iat"),
        ({"exp": NOW}, "exp"),
        ({"exp": NOW - 1}, "exp"),
        ({"exp": None}, "exp"),
        ({"jti": ""}, "jti"),
        ({"jti": "has space"}, "jti"),
        ({"jti": "x" * 129}, "jti"),
        ({"jti": 42}, "jti"),
        ({"seq": 0}, "seq"),
        ({"seq": -3}, "seq"),
        ({"seq": "1"}, "seq"),
        ({"seq": False}, "seq"),
        ({"typ": "transfer.cancel"}, "typ"),
        ({"typ": ["transfer.ack"]}, "typ"),
        ({"body": []}, "body"),
        ({"body": "{}"}, "body"),
        ({"body": None}, "body"),
    ],
)
def test_invalid_claim(
    parties: Parties, forge: Forge, overrides: dict[str, Any], claim: str
) -> None:
    with pytest.raises(MessageRejected) as caught:
        verify_message(forge.token(claims(**overrides)), parties.registry, HUB, NOW)
    assert caught.value.reason is RejectReason.INVALID_CLAIM
    assert caught.value.details["claim"] == claim


# --- canonical form and numbers ------------------------------------------------------------------


NON_ASCII = claims(body={"name": "Sók Chéa", "n": 0})


@pytest.mark.parametrize(
    "spelling",
    [
        lambda c: json.dumps(c).encode(),  # spaces after separators
        lambda c: json.dumps(c, separators=(",", ":")).encode(),  # members not sorted
        lambda c: json.dumps(c, indent=2, sort_keys=True).encode(),
        lambda c: canonicalize(c).replace(b'"HUB"', b'"H\\u0055B"'),  # needless escape
        lambda c: canonicalize(c).replace(b'"HUB"', b'"HUB\\/"').replace(b"\\/", b"\\u002f"),
        lambda c: json.dumps(c, sort_keys=True, separators=(",", ":")).encode(),  # \u00e9 form
        lambda c: canonicalize(c).replace(b'"n":0', b'"n":-0'),
        lambda c: canonicalize(c).replace(b'"seq":1', b'"seq":1 '),
        lambda c: canonicalize(c) + b"\n",
        lambda c: b" " + canonicalize(c),
    ],
)
def test_non_canonical_payload(parties: Parties, forge: Forge, spelling: Any) -> None:
    payload = spelling(NON_ASCII)
    assert payload != canonicalize(NON_ASCII)
    assert rejected(forge.token(payload), parties.registry) is RejectReason.NON_CANONICAL_PAYLOAD


def test_non_canonical_payload_exact_reason(parties: Parties, forge: Forge) -> None:
    payload = json.dumps(claims(), sort_keys=True).encode()  # canonical but for the spaces
    assert rejected(forge.token(payload), parties.registry) is RejectReason.NON_CANONICAL_PAYLOAD


def test_non_canonical_payload_utf16_order(parties: Parties, forge: Forge) -> None:
    # Code point order puts U+FB33 before U+1F600; RFC 8785 (UTF-16 units) puts it after.
    body = {"\ufb33": "dalet", "\U0001f600": "grin"}
    code_point_order = json.dumps(claims(body=body), sort_keys=True, ensure_ascii=False,
                                  separators=(",", ":")).encode()
    assert rejected(forge.token(code_point_order), parties.registry) is (
        RejectReason.NON_CANONICAL_PAYLOAD
    )
    assert verify_message(forge.token(claims(body=body)), parties.registry, HUB, NOW).body == body


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 1234.56},
        {"rate": 0.05},
        {"amount_minor": 2**53},
        {"amount_minor": -(2**53)},
        {"nested": [{"x": 1.5e-3}]},
    ],
)
def test_number_not_allowed(parties: Parties, forge: Forge, body: dict[str, Any]) -> None:
    assert rejected(forge.token(claims(body=body)), parties.registry) is (
        RejectReason.NUMBER_NOT_ALLOWED
    )


def test_number_not_allowed_exponent_spelling(parties: Parties, forge: Forge) -> None:
    # 1e3 is an integer value, but in exponent spelling: JCS would write 1000; the profile refuses
    # any fraction/exponent number before canonical form is even considered.
    payload = canonicalize(claims(body={"x": 1000})).replace(b"1000", b"1e3")
    assert rejected(forge.token(payload), parties.registry) is RejectReason.NUMBER_NOT_ALLOWED


def test_integers_within_ijson_range_are_fine(parties: Parties, forge: Forge) -> None:
    body = {"count": 2**53 - 1, "delta": -(2**53 - 1), "zero": 0}
    assert verify_message(forge.token(claims(body=body)), parties.registry, HUB, NOW).body == body


# --- signing refuses what verification would refuse ----------------------------------------------


def test_sign_message_refuses_floats(parties: Parties) -> None:
    with pytest.raises(MessageRejected) as caught:
        sign_message(parties.th, aud=HUB, typ="transfer.ack", seq=1, body={"a": 1.5}, iat=NOW)
    assert caught.value.reason is RejectReason.NUMBER_NOT_ALLOWED


def test_sign_message_refuses_bad_claims(parties: Parties) -> None:
    with pytest.raises(MessageRejected) as caught:
        sign_message(parties.th, aud=HUB, typ="transfer.cancel", seq=1, body={}, iat=NOW)
    assert caught.value.reason is RejectReason.INVALID_CLAIM
    with pytest.raises(MessageRejected) as caught:
        sign_message(parties.th, aud=HUB, typ="transfer.ack", seq=0, body={}, iat=NOW)
    assert caught.value.reason is RejectReason.INVALID_CLAIM


def test_sign_message_refuses_non_json_body(parties: Parties) -> None:
    with pytest.raises(MessageRejected) as caught:
        sign_message(parties.th, aud=HUB, typ="transfer.ack", seq=1, body={"s": {1, 2}}, iat=NOW)
    assert caught.value.reason is RejectReason.MALFORMED


def test_sign_message_refuses_a_key_outside_its_window(parties: Parties) -> None:
    with pytest.raises(MessageRejected) as caught:
        sign_message(parties.th, aud=HUB, typ="transfer.ack", seq=1, body={}, iat=NOW + 400 * DAY)
    assert caught.value.reason is RejectReason.KEY_EXPIRED


def test_worker_statement_with_long_lifetime(parties: Parties) -> None:
    token = sign_message(parties.th, aud="wkr_5f3a9c1e7b2d", typ=MessageType.STATEMENT_WORKER,
                         seq=1, body={"periods": []}, iat=NOW, ttl_s=180 * DAY)
    message = verify_message(token, parties.registry, "wkr_5f3a9c1e7b2d", NOW + 90 * DAY)
    assert message.typ is MessageType.STATEMENT_WORKER


# --- completeness --------------------------------------------------------------------------------


def test_every_reject_reason_is_exercised_in_this_module() -> None:
    source = Path(__file__).read_text()
    used = set(re.findall(r"RejectReason\.([A-Z_]+)", source))
    assert {reason.name for reason in RejectReason} <= used


def test_sign_message_refuses_integers_beyond_the_profile(parties: Parties) -> None:
    # Refused while writing (issue 15: the signer no longer parses its payload back).
    for number in (2**53, -(2**53)):
        with pytest.raises(MessageRejected) as caught:
            sign_message(parties.th, aud=HUB, typ="transfer.ack", seq=1,
                         body={"a": [{"b": number}]}, iat=NOW)
        assert caught.value.reason is RejectReason.NUMBER_NOT_ALLOWED
    token = sign_message(parties.th, aud=HUB, typ="transfer.ack", seq=1,
                         body={"a": [{"b": 2**53 - 1}]}, iat=NOW)
    assert verify_message(token, parties.registry, HUB, NOW).body == {"a": [{"b": 2**53 - 1}]}
