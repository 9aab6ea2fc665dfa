"""Interoperability with joserfc, an independent JOSE implementation (a test-only dependency).

Our tokens must verify there (as JWS and as a JWT with standard claim checks), and tokens that
joserfc signs with an Ed25519 key must verify here when their payload is canonical — and be
refused with `non_canonical_payload`, not a signature error, when it is not.
"""

from __future__ import annotations

from typing import Any

import pytest
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, UnsupportedKeyAlgorithmError
from joserfc.jwk import OKPKey
from settlement_support import HUB, NOW, TH, Parties, claims

from ledger.settlement.canonical import canonicalize
from ledger.settlement.keys import SigningKey, TrustedKey, TrustRegistry, thumbprint
from ledger.settlement.messages import (
    HEADER_TYP,
    MessageRejected,
    MessageType,
    RejectReason,
    sign_message,
    verify_message,
)

ALGS = ["Ed25519", "EdDSA"]


def _public(key: SigningKey, *, pin_alg: bool = True) -> OKPKey:
    jwk = key.public_jwk()
    if not pin_alg:
        del jwk["alg"]
    return OKPKey.import_key(jwk)


def _ours(parties: Parties, **kw: Any) -> str:
    return sign_message(parties.th, aud=HUB, typ=MessageType.SETTLEMENT_STATEMENT, seq=3,
                        body={"window": "2026-01", "net": {"amount_minor": "-5000",
                                                           "currency": "USD"}},
                        iat=NOW, jti="stmt-1", **kw)


# --- ours -> joserfc -----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
@pytest.mark.parametrize("alg", ALGS)
def test_our_token_verifies_as_jws_in_joserfc(parties: Parties, alg: str) -> None:
    token = _ours(parties, alg=alg)
    # Our JWKs pin "alg": "Ed25519" and joserfc enforces that, so an EdDSA token only verifies
    # there under a JWK without alg: one more reason we emit Ed25519 (ADR 0011).
    public = _public(parties.th, pin_alg=alg == "Ed25519")
    result = jws.deserialize_compact(token, public, algorithms=[alg])
    assert result.protected == {"alg": alg, "kid": parties.th.kid, "typ": HEADER_TYP}
    assert result.payload == verify_message(token, parties.registry, HUB, NOW).payload


def test_our_token_validates_as_jwt_in_joserfc(parties: Parties) -> None:
    token = jwt.decode(_ours(parties), _public(parties.th), algorithms=["Ed25519"])
    assert token.claims["iss"] == TH
    assert token.claims["body"]["net"]["amount_minor"] == "-5000"
    registry = jwt.JWTClaimsRegistry(
        now=NOW, iss={"essential": True, "value": TH}, aud={"essential": True, "value": HUB},
        jti={"essential": True},
    )
    registry.validate(token.claims)


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
def test_joserfc_enforces_our_published_alg(parties: Parties) -> None:
    with pytest.raises(UnsupportedKeyAlgorithmError):
        jws.deserialize_compact(_ours(parties, alg="EdDSA"), _public(parties.th),
                                algorithms=["EdDSA"])


def test_joserfc_rejects_our_token_under_another_key(parties: Parties) -> None:
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(_ours(parties), _public(parties.kh), algorithms=["Ed25519"])


def test_joserfc_reads_our_jwks_and_agrees_on_thumbprints(parties: Parties) -> None:
    for key in (parties.th, parties.kh, parties.hub):
        theirs = OKPKey.import_key(key.public_jwk())
        assert theirs.thumbprint() == thumbprint(key.x)
        private = OKPKey.import_key(key.private_jwk())
        assert private.is_private


# --- joserfc -> ours -----------------------------------------------------------------------------


@pytest.fixture
def joserfc_party() -> tuple[OKPKey, TrustRegistry]:
    key = OKPKey.generate_key("Ed25519", parameters={"kid": "th-joserfc"})
    registry = TrustRegistry([TrustedKey.from_jwk(TH, key.as_dict(private=False))])
    return key, registry


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
@pytest.mark.parametrize("alg", ALGS)
def test_joserfc_token_with_canonical_payload_verifies_here(
    joserfc_party: tuple[OKPKey, TrustRegistry], alg: str
) -> None:
    key, registry = joserfc_party
    header = {"alg": alg, "kid": "th-joserfc", "typ": HEADER_TYP}
    token = jws.serialize_compact(header, canonicalize(claims()), key, algorithms=[alg])
    message = verify_message(token, registry, HUB, NOW)
    assert (message.iss, message.kid, message.alg) == (TH, "th-joserfc", alg)
    assert message.body == claims()["body"]


def test_joserfc_jwt_encode_in_sorted_order_is_canonical_and_verifies(
    joserfc_party: tuple[OKPKey, TrustRegistry],
) -> None:
    # joserfc writes claims compactly in insertion order; sorted input is then JCS already.
    key, registry = joserfc_party
    sorted_claims = _sorted(claims())
    token = jwt.encode({"alg": "Ed25519", "kid": "th-joserfc", "typ": HEADER_TYP}, sorted_claims,
                       key, algorithms=["Ed25519"])
    assert verify_message(token, registry, HUB, NOW).jti == "msg-0001"


def test_joserfc_jwt_in_insertion_order_is_refused_as_non_canonical(
    joserfc_party: tuple[OKPKey, TrustRegistry],
) -> None:
    key, registry = joserfc_party
    token = jwt.encode({"alg": "Ed25519", "kid": "th-joserfc", "typ": HEADER_TYP}, claims(),
                       key, algorithms=["Ed25519"])
    with pytest.raises(MessageRejected) as caught:
        verify_message(token, registry, HUB, NOW)
    assert caught.value.reason is RejectReason.NON_CANONICAL_PAYLOAD


def test_joserfc_default_jwt_typ_is_refused(joserfc_party: tuple[OKPKey, TrustRegistry]) -> None:
    key, registry = joserfc_party
    token = jwt.encode({"alg": "Ed25519", "kid": "th-joserfc"}, _sorted(claims()), key,
                       algorithms=["Ed25519"])  # joserfc adds typ: JWT
    with pytest.raises(MessageRejected) as caught:
        verify_message(token, registry, HUB, NOW)
    assert caught.value.reason is RejectReason.HEADER_REJECTED


def test_joserfc_key_imported_as_signing_key_produces_tokens_joserfc_accepts() -> None:
    theirs = OKPKey.generate_key("Ed25519", private=True)
    ours = SigningKey.from_private_jwk(TH, theirs.as_dict(private=True))
    token = sign_message(ours, aud=HUB, typ="transfer.ack", seq=1, body={}, iat=NOW)
    assert jws.deserialize_compact(token, theirs, algorithms=["Ed25519"]).payload


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    return value
