"""JWS compact + Ed25519: RFC 8032 §7.1 vectors, RFC 8037 Appendix A, strict base64url, parsing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.settlement.jws import (
    CompactJws,
    JwsFormatError,
    b64url_decode,
    b64url_encode,
    parse_compact,
    sign_compact,
    verify_signature,
)
from ledger.settlement.keys import Party, SigningKey, TrustedKey, thumbprint

DATA = Path(__file__).parent / "data"
ISSUER = Party("TEST")

# RFC 8032 §7.1: (secret key, public key, message, signature), hex.
TEST_1 = (
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "",
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6bd25bf5f0595bbe24655141438e7a100b",
)
TEST_2 = (
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "72",
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d"
    "8c387b2eaeb4302aeeb00d291612bb0c00",
)
TEST_3 = (
    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    "af82",
    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6"
    "594a7c15e9716ed28dc027beceea1ec40a",
)
TEST_1024 = (
    "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
    "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
    (DATA / "rfc8032_test1024_message.hex").read_text().strip(),
    "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d9"
    "4b5e8fcd4f681e30a6ac00a9704a188a03",
)
# TEST SHA(abc): the message is SHA-512("abc").
TEST_SHA_ABC = (
    "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
    "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
    hashlib.sha512(b"abc").hexdigest(),
    "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0"
    "303dca179c138ac17ad9bef1177331a704",
)


def test_the_1023_byte_message_file_is_intact() -> None:
    message = bytes.fromhex(TEST_1024[2])
    assert len(message) == 1023
    assert hashlib.sha256(message).hexdigest() == (
        "358c67baee6b3e0265787951d1840a8468b9e9044852f1c67229a892b2cc0d22"
    )


@pytest.mark.parametrize(
    "vector",
    [TEST_1, TEST_2, TEST_3, TEST_1024, TEST_SHA_ABC],
    ids=["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"],
)
def test_rfc8032_ed25519_vectors(vector: tuple[str, str, str, str]) -> None:
    secret, public, message_hex, signature = vector
    message = bytes.fromhex(message_hex)
    key = SigningKey.from_private_jwk(ISSUER, {"kty": "OKP", "crv": "Ed25519", "kid": "k",
                                               "d": b64url_encode(bytes.fromhex(secret))})
    assert b64url_decode(key.x).hex() == public
    assert key.private_key.sign(message).hex() == signature
    trusted = TrustedKey.from_jwk(ISSUER, {"kty": "OKP", "crv": "Ed25519", "kid": "k",
                                           "x": b64url_encode(bytes.fromhex(public))})
    jws = CompactJws({}, b"", bytes.fromhex(signature), message)
    assert verify_signature(jws, trusted.public_key)
    tampered = CompactJws({}, b"", bytes.fromhex(signature), message + b"\x00")
    assert not verify_signature(tampered, trusted.public_key)


# --- RFC 8037 Appendix A -------------------------------------------------------------------------

RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


@pytest.fixture
def rfc8037_key() -> SigningKey:
    # A.1: the private key; its x must be the published A.2 public key.
    return SigningKey.from_private_jwk(
        ISSUER, {"kty": "OKP", "crv": "Ed25519", "d": RFC8037_D, "x": RFC8037_X, "kid": "a1"}
    )


def test_rfc8037_a2_public_key_from_private(rfc8037_key: SigningKey) -> None:
    assert rfc8037_key.x == RFC8037_X


def test_rfc8037_a3_thumbprint() -> None:
    assert thumbprint(RFC8037_X) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_rfc8037_a4_signing_gives_the_published_jws(rfc8037_key: SigningKey) -> None:
    token = sign_compact({"alg": "EdDSA"}, b"Example of Ed25519 signing", rfc8037_key.private_key)
    assert token == RFC8037_JWS


def test_rfc8037_a5_verification(rfc8037_key: SigningKey) -> None:
    jws = parse_compact(RFC8037_JWS)
    assert dict(jws.header) == {"alg": "EdDSA"}
    assert jws.payload == b"Example of Ed25519 signing"
    assert verify_signature(jws, rfc8037_key.trusted().public_key)


def test_signature_malleated_by_adding_the_group_order_is_refused(
    rfc8037_key: SigningKey,
) -> None:
    # S + L verifies under a lax verifier; RFC 8032 §5.1.7 requires S < L, so one signature
    # per message and key: the stored token is unique.
    order = 2**252 + 27742317777372353535851937790883648493
    jws = parse_compact(RFC8037_JWS)
    s = int.from_bytes(jws.signature[32:], "little") + order
    forged = CompactJws(jws.header, jws.payload, jws.signature[:32] + s.to_bytes(32, "little"),
                        jws.signing_input)
    assert not verify_signature(forged, rfc8037_key.trusted().public_key)


def test_a_small_order_key_cannot_validate_a_universal_forgery() -> None:
    """The identity point is a valid encoding of a public key. With it, R = identity and S = 0
    satisfy [S]B = R + [k]A for every message, so a verifier that does not refuse small-order
    keys (OpenSSL's, as RFC 8032 permits) accepts this "signature" on anything. libsodium's
    refuses it: a careless or hostile key publication cannot forge messages for an issuer."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    identity = bytes([1]) + bytes(31)
    key = Ed25519PublicKey.from_public_bytes(identity)
    header = b64url_encode(b'{"alg":"Ed25519"}')
    payload = b64url_encode(b'{"any":"message"}')
    forged = parse_compact(f"{header}.{payload}.{b64url_encode(identity + bytes(32))}")
    assert not verify_signature(forged, key)


def test_wrong_length_signature_is_refused(rfc8037_key: SigningKey) -> None:
    jws = parse_compact(RFC8037_JWS)
    short = CompactJws(jws.header, jws.payload, jws.signature[:63], jws.signing_input)
    assert not verify_signature(short, rfc8037_key.trusted().public_key)


def test_sign_compact_refuses_other_algorithms(rfc8037_key: SigningKey) -> None:
    for alg in ("none", "HS256", "RS256", "Ed448", None):
        with pytest.raises(ValueError, match="alg"):
            sign_compact({"alg": alg}, b"x", rfc8037_key.private_key)


# --- base64url and parsing -----------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", b"\xfb\xff\xfe", bytes(range(256))])
def test_b64url_round_trip_without_padding(data: bytes) -> None:
    encoded = b64url_encode(data)
    assert not set(encoded) & {"=", "+", "/"}
    assert b64url_decode(encoded) == data


@pytest.mark.parametrize(
    "text",
    [
        "Zg==",  # padding
        "Zm8=",
        "-_+/",  # standard alphabet characters
        "Zm 9v",  # whitespace
        "Zm9v\n",
        "Z",  # impossible length
        "Zh",  # "f" is "Zg": non-zero unused bits
        "Zm9",  # "fo" is "Zm8": non-zero unused bits
        "Zm9vé",
    ],
)
def test_b64url_decode_is_strict(text: str) -> None:
    with pytest.raises(JwsFormatError):
        b64url_decode(text)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        b64url_encode(b"not json") + ".e30.AA",
        b64url_encode(b"[1]") + ".e30.AA",
        b64url_encode(b'{"alg":"EdDSA","alg":"none"}') + ".e30.AA",
        "x" * 1100 + ".e30.AA",
    ],
)
def test_parse_compact_refuses_malformed_tokens(token: str) -> None:
    with pytest.raises(JwsFormatError):
        parse_compact(token)


def test_parse_compact_refuses_non_ascii_bytes() -> None:
    with pytest.raises(JwsFormatError):
        parse_compact("é.e30.AA".encode())


def test_parsed_header_is_read_only() -> None:
    jws = parse_compact(RFC8037_JWS)
    with pytest.raises(TypeError):
        jws.header["alg"] = "none"  # type: ignore[index]
