"""Keys: JWKS export/import, validity windows, rotation with overlap, revocation, dev storage."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from settlement_support import DAY, HUB, KH, NOW, TH

from ledger.domain.errors import DomainError, ErrorCode
from ledger.settlement.jws import b64url_encode
from ledger.settlement.keys import (
    Keyring,
    KeyState,
    SigningKey,
    TrustRegistry,
    Validity,
    thumbprint,
)
from ledger.settlement.messages import (
    MessageRejected,
    MessageType,
    RejectReason,
    sign_message,
    verify_message,
)


def _sign(key: SigningKey, iat: int, seq: int = 1) -> str:
    return sign_message(key, aud=HUB, typ=MessageType.TRANSFER_ACK, seq=seq,
                        body={"ok": True}, iat=iat, jti=f"j-{iat}-{seq}")


def _reason(token: str, registry: TrustRegistry, now: int) -> RejectReason:
    with pytest.raises(MessageRejected) as caught:
        verify_message(token, registry, HUB, now)
    return caught.value.reason


# --- generation and JWKS ---------------------------------------------------------------------


def test_generated_key_defaults_kid_to_rfc7638_thumbprint() -> None:
    key = SigningKey.generate(TH)
    assert key.kid == thumbprint(key.x)
    assert len(key.kid) == 43


def test_public_jwk_is_an_rfc8037_okp_key_with_window_members() -> None:
    key = SigningKey.generate(TH, kid="th-1", validity=Validity(NOW, NOW + DAY))
    assert key.public_jwk() == {
        "kty": "OKP", "crv": "Ed25519", "x": key.x, "kid": "th-1", "alg": "Ed25519",
        "use": "sig", "nbf": NOW, "exp": NOW + DAY,
    }


def test_published_jwks_loads_into_a_registry_and_verifies() -> None:
    ring = Keyring(TH)
    ring.add(SigningKey.generate(TH, validity=Validity(NOW - DAY, NOW + DAY)))
    registry = TrustRegistry()
    loaded = registry.load_jwks(TH, ring.public_jwks())
    assert [k.kid for k in loaded] == [ring.keys[0].kid]
    assert registry.issuers() == {TH}
    assert registry.export_jwks(TH) == ring.public_jwks()
    assert verify_message(_sign(ring.current(NOW), NOW), registry, HUB, NOW).iss == TH


def _jwk(**overrides: Any) -> dict[str, Any]:
    base = SigningKey.generate(TH, kid="k1").public_jwk()
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.mark.parametrize(
    ("jwk", "field"),
    [
        (_jwk(d="nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"), "keys[0].d"),
        (_jwk(kty="RSA"), "keys[0].kty"),
        (_jwk(crv="X25519"), "keys[0].kty"),
        (_jwk(crv="Ed448"), "keys[0].kty"),
        (_jwk(kid=...), "keys[0].kid"),
        (_jwk(kid=""), "keys[0].kid"),
        (_jwk(alg="RS256"), "keys[0].alg"),
        (_jwk(use="enc"), "keys[0].use"),
        (_jwk(x=...), "keys[0].x"),
        (_jwk(x=b64url_encode(bytes(31))), "keys[0].x"),
        (_jwk(x=b64url_encode(bytes(32)) + "="), "keys[0].x"),
        (_jwk(nbf="2026-01-01"), "keys[0].nbf"),
        (_jwk(nbf=NOW, exp=NOW), "keys[0].exp"),
        (_jwk(exp=True), "keys[0].exp"),
        (_jwk(revoked_at=1.5), "keys[0].revoked_at"),
    ],
)
def test_load_jwks_refuses_bad_keys(jwk: dict[str, Any], field: str) -> None:
    registry = TrustRegistry()
    with pytest.raises(DomainError) as caught:
        registry.load_jwks(TH, {"keys": [jwk]})
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.field == field
    assert len(registry) == 0


@pytest.mark.parametrize("jwks", [{}, {"keys": {}}, [], {"keys": [1]}])
def test_load_jwks_refuses_what_is_not_a_key_set(jwks: Any) -> None:
    with pytest.raises(DomainError):
        TrustRegistry().load_jwks(TH, jwks)


def test_load_jwks_is_all_or_nothing() -> None:
    good = SigningKey.generate(TH, kid="good").public_jwk()
    registry = TrustRegistry()
    with pytest.raises(DomainError):
        registry.load_jwks(TH, {"keys": [good, _jwk(kty="RSA")]})
    with pytest.raises(DomainError):
        registry.load_jwks(TH, {"keys": [good, good]})
    assert len(registry) == 0


def test_a_kid_belongs_to_its_issuer() -> None:
    """Issue 25 finding 9: TH-SSO published `jp-jps-2027-01` and JP-JPS was then refused its own
    kid. Two issuers may use one kid; one issuer may not give one kid two keys."""
    th_key = SigningKey.generate(TH, kid="shared")
    registry = TrustRegistry([th_key.trusted()])
    kh_key = SigningKey.generate(KH, kid="shared")
    registry.add(kh_key.trusted())  # the other issuer's own key under the same name
    assert registry.get("shared", str(TH)).x == th_key.x  # type: ignore[union-attr]
    assert registry.get("shared", str(KH)).x == kh_key.x  # type: ignore[union-attr]
    assert registry.get("shared") is None  # ambiguous without the issuer
    with pytest.raises(DomainError, match="already registered"):
        registry.add(SigningKey.generate(TH, kid="shared").trusted())  # same issuer, other key
    registry.add(th_key.trusted())  # re-adding the same key is an update, not a conflict
    registry.revoke("shared", NOW, str(KH))
    assert registry.get("shared", str(KH)).validity.revoked_at == NOW  # type: ignore[union-attr]
    assert registry.get("shared", str(TH)).validity.revoked_at is None  # type: ignore[union-attr]


def test_a_message_is_verified_with_its_issuers_key_of_that_kid() -> None:
    th_key = SigningKey.generate(TH, kid="shared")
    kh_key = SigningKey.generate(KH, kid="shared")
    registry = TrustRegistry([th_key.trusted(), kh_key.trusted()])
    for key, issuer in ((th_key, TH), (kh_key, KH)):
        token = sign_message(key, aud="HUB", typ=MessageType.TRANSFER_ACK, seq=1, body={},
                             iat=NOW)
        assert verify_message(token, registry, "HUB", NOW).iss == issuer
    # A key of one issuer cannot sign for the other, whatever kid they share.
    forged = sign_message(SigningKey.from_private_key(KH, th_key.private_key, "shared"),
                          aud="HUB", typ=MessageType.TRANSFER_ACK, seq=1, body={}, iat=NOW)
    with pytest.raises(MessageRejected) as caught:
        verify_message(forged, registry, "HUB", NOW)
    assert caught.value.reason is RejectReason.SIGNATURE_INVALID


# --- windows -------------------------------------------------------------------------------------


def test_window_bounds_not_before_inclusive_not_after_exclusive() -> None:
    window = Validity(NOW, NOW + 10, revoked_at=NOW + 5)
    assert window.state_at(NOW - 1) is KeyState.NOT_YET_VALID
    assert window.state_at(NOW) is KeyState.VALID
    assert window.state_at(NOW + 4) is KeyState.VALID
    assert window.state_at(NOW + 5) is KeyState.REVOKED
    assert Validity(NOW, NOW + 10).state_at(NOW + 10) is KeyState.EXPIRED
    assert Validity().state_at(0) is KeyState.VALID


# --- rotation --------------------------------------------------------------------------------


def test_rotation_overlaps_old_and_new_keys() -> None:
    ring = Keyring(TH)
    old = SigningKey.generate(TH, kid="th-old", validity=Validity(NOW - 90 * DAY))
    ring.add(old)
    new = ring.rotate(NOW, overlap_s=7 * DAY, lifetime_s=365 * DAY)
    assert ring.current(NOW).kid == new.kid  # sign with the new key from the switch on
    registry = TrustRegistry()
    registry.load_jwks(TH, ring.public_jwks())

    signed_by_old = _sign(ring.keys[0], NOW + DAY)
    signed_by_new = _sign(new, NOW + DAY, seq=2)
    # Both are valid during the overlap: messages in flight at the switch still land.
    assert verify_message(signed_by_old, registry, HUB, NOW + DAY).kid == "th-old"
    assert verify_message(signed_by_new, registry, HUB, NOW + DAY).kid == new.kid
    # After the overlap, only the new key.
    late = _sign(new, NOW + 8 * DAY, seq=3)
    assert verify_message(late, registry, HUB, NOW + 8 * DAY).kid == new.kid
    assert registry.get("th-old") is not None
    assert _reason(signed_by_old, registry, NOW + 7 * DAY) is RejectReason.KEY_EXPIRED


def test_rotation_never_extends_an_older_key() -> None:
    ring = Keyring(TH)
    ring.add(SigningKey.generate(TH, kid="short", validity=Validity(NOW - DAY, NOW + DAY)))
    ring.rotate(NOW, overlap_s=30 * DAY)
    assert ring.keys[0].validity.not_after == NOW + DAY


def test_keyring_guards() -> None:
    ring = Keyring(TH)
    with pytest.raises(DomainError, match="no key valid"):
        ring.current(NOW)
    with pytest.raises(DomainError, match="belongs to"):
        ring.add(SigningKey.generate(KH))
    key = SigningKey.generate(TH)
    ring.add(key)
    with pytest.raises(DomainError, match="already"):
        ring.add(key)
    with pytest.raises(DomainError):
        ring.rotate(NOW, overlap_s=-1)
    with pytest.raises(DomainError):
        ring.revoke("nope", NOW)


# --- revocation ----------------------------------------------------------------------------------


def test_revoked_key_fails_at_and_after_revocation_whatever_iat_says() -> None:
    key = SigningKey.generate(TH, validity=Validity(NOW - DAY))
    registry = TrustRegistry([key.trusted()])
    token = _sign(key, NOW)  # signed well before the revocation
    registry.revoke(key.kid, NOW + 60)
    assert verify_message(token, registry, HUB, NOW + 59).kid == key.kid
    assert _reason(token, registry, NOW + 60) is RejectReason.KEY_REVOKED
    assert _reason(token, registry, NOW + 600) is RejectReason.KEY_REVOKED


def test_revocation_is_sticky_and_the_earliest_time_wins() -> None:
    key = SigningKey.generate(TH)
    registry = TrustRegistry([key.trusted()])
    registry.revoke(key.kid, NOW + 100)
    registry.revoke(key.kid, NOW + 500)  # a later revocation does not extend the key's life
    registry.load_jwks(TH, {"keys": [key.public_jwk()]})  # republished without revoked_at
    revoked = registry.get(key.kid)
    assert revoked is not None
    assert revoked.validity.revoked_at == NOW + 100


def test_revocation_published_in_the_jwks() -> None:
    ring = Keyring(TH)
    key = SigningKey.generate(TH)
    ring.add(key)
    ring.revoke(key.kid, NOW)
    jwks = ring.public_jwks()
    assert jwks["keys"][0]["revoked_at"] == NOW
    registry = TrustRegistry()
    registry.load_jwks(TH, jwks)
    assert _reason(_sign(key, NOW - 10), registry, NOW) is RejectReason.KEY_REVOKED


def test_revoking_an_unknown_kid_is_an_error() -> None:
    with pytest.raises(DomainError):
        TrustRegistry().revoke("nope", NOW)


# --- dev-only storage ----------------------------------------------------------------------------


@pytest.mark.parametrize("password", [None, b"correct horse battery staple"])
def test_pem_round_trip(password: bytes | None) -> None:
    key = SigningKey.generate(TH, kid="th-pem")
    pem = key.to_pem(password)
    assert pem.startswith(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----" if password else b"-----BEGIN PRIVATE KEY-----"
    )
    loaded = SigningKey.from_pem(TH, pem, kid="th-pem", password=password)
    assert loaded.x == key.x
    assert loaded.kid == "th-pem"


def test_pem_of_another_key_type_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(DomainError, match="Ed25519"):
        SigningKey.from_pem(TH, other)


def test_private_jwk_round_trip_and_mismatch() -> None:
    key = SigningKey.generate(TH, kid="th-jwk", validity=Validity(NOW, NOW + DAY))
    private = key.private_jwk()
    loaded = SigningKey.from_private_jwk(TH, private)
    assert (loaded.x, loaded.kid, loaded.validity) == (key.x, key.kid, key.validity)
    private["x"] = SigningKey.generate(TH).x
    with pytest.raises(DomainError, match="does not match"):
        SigningKey.from_private_jwk(TH, private)


def test_private_key_is_not_in_repr() -> None:
    key = SigningKey.generate(TH)
    assert "private" not in repr(key)
    assert key.private_jwk()["d"] not in repr(key)
