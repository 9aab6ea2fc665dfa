"""One case per refusal the settlement layer declares (see `refusals_domain.py` for the shape)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from ledger.adapters.refunds import BenefitKind, Payment, RefundResult
from ledger.domain.accounts import member_account
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FundCode, SchemeCode
from ledger.domain.ids import WorkerId
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month, PeriodState
from ledger.settlement import netting
from ledger.settlement.agreement import (
    PeriodUnit,
    bundled_agreement,
    load_agreement,
    parse_agreement,
)
from ledger.settlement.canonical import canonicalize
from ledger.settlement.coverage import CertificateOfCoverage, check_certificate
from ledger.settlement.jws import b64url_encode
from ledger.settlement.keys import (
    HUB,
    Keyring,
    Party,
    SigningKey,
    TrustedKey,
    TrustRegistry,
    Validity,
)
from ledger.settlement.legs import Destination, FlowPlan, Use, clearing_account, plan_legs
from ledger.settlement.messages import (
    HEADER_TYP,
    TOKEN_CHARS_MAX,
    MessageType,
    sign_message,
    verify_message,
)
from ledger.settlement.outcomes import lump_sum_outcome
from ledger.settlement.rounding import round_ratio, round_ratio_array
from ledger.settlement.totalisation import (
    EligibilityRule,
    PeriodRecord,
    Threshold,
    apply_pro_rata,
    own_months,
    policy_of,
    totalise,
)
from ledger.settlement.windows import SettlementWindow, WindowId
from tests.unit.refusals_domain import Case

THB, USD, JPY, KHR = Currency.THB, Currency.USD, Currency.JPY, Currency.KHR
PILOT = bundled_agreement("clmtv-2019-pilot")


# -- agreements ----------------------------------------------------------------------------------
@contextmanager
def _file(content: bytes) -> Iterator[str]:
    handle, path = tempfile.mkstemp(suffix=".yaml")
    os.write(handle, content)
    os.close(handle)
    try:
        yield path
    finally:
        os.unlink(path)


def load(content: bytes) -> object:
    """`load_agreement` of a file holding `content`; its random path reads `<file>`."""
    with _file(content) as path:
        try:
            return load_agreement(path)
        except DomainError as exc:
            raise DomainError(exc.code, exc.message.replace(path, "<file>"), field=exc.field,
                              index=exc.index, details=exc.details) from exc


def _no_weeks() -> object:
    assert PILOT.totalisation is not None
    months_only = PILOT.totalisation.model_copy(update={"unit_months": {PeriodUnit.MONTH: 1}})
    return months_only.to_months(2, PeriodUnit.WEEK)


AGREEMENTS = [
    Case("a unit the agreement cannot convert", _no_weeks, ErrorCode.INVALID_INPUT, "unit"),
    Case("an agreement file that is not there",
         lambda: load_agreement("/nonexistent/agreement.yaml"), ErrorCode.INVALID_AGREEMENT, None),
    Case("an agreement file over 1 MiB", lambda: load(b"#" * (1024 * 1024 + 1)),
         ErrorCode.INVALID_AGREEMENT, None),
    Case("a bundled agreement named with a path", lambda: bundled_agreement("../secrets"),
         ErrorCode.INVALID_AGREEMENT, None),
    Case("an agreement that is a list", lambda: parse_agreement([1, 2]),
         ErrorCode.INVALID_AGREEMENT, None),
    Case("an agreement missing its keys", lambda: parse_agreement({"name": "pilot-2"}),
         ErrorCode.INVALID_AGREEMENT, "title"),
    Case("a key written twice", lambda: load(b"name: a\nname: b\n"),
         ErrorCode.INVALID_AGREEMENT, "name"),
    Case("bytes YAML cannot read", lambda: load(b"name: \x00\n"),
         ErrorCode.INVALID_AGREEMENT, None),
]


# -- certificates, legs, outcomes -----------------------------------------------------------------
def certificate(**changes: Any) -> CertificateOfCoverage:
    fields: dict[str, Any] = {
        "certificate_id": "coc-1", "worker_id": WorkerId("wkr_abcd"),
        "home_fund": FundCode("KH-NSSF"), "host_fund": FundCode("TH-SSO"),
        "valid_from": Month(2026, 1), "valid_to": Month(2026, 12),
        "issued_by": FundCode("KH-NSSF")}
    fields.update(changes)
    return CertificateOfCoverage(**fields)


def plan(**changes: Any) -> object:
    member = member_account("wkr_abcd", "JP-JPS", "epi", JPY)
    fields: dict[str, Any] = {
        "flow_id": "pt-1", "worker_id": "wkr_abcd", "host": "JP-JPS", "home": "KH-NSSF",
        "destination": Destination.WORKER, "sources": ((member, 100),),
        "uses": (Use("lump-sum", 100, clearing_account("JP-JPS", "KH-NSSF", JPY)),),
        "settlement": Money(1, USD), "target": Money(4100, KHR)}
    fields.update(changes)
    return plan_legs(FlowPlan(**fields))


def _refund(fund: str) -> RefundResult:
    return RefundResult(fund, "s33-old-age", BenefitKind.LUMP_SUM, Money(100, THB),
                        (Payment("refund", Money(100, THB)),), (Month(2026, 1),))


OTHERS = [
    Case("a certificate from a fund to itself", lambda: certificate(host_fund="KH-NSSF"),
         ErrorCode.INVALID_INPUT, "host_fund"),
    Case("a certificate issued by the host", lambda: certificate(issued_by="TH-SSO"),
         ErrorCode.INVALID_INPUT, "issued_by"),
    Case("a certificate ending before it starts", lambda: certificate(valid_to=Month(2025, 12)),
         ErrorCode.INVALID_INPUT, "valid_to"),
    Case("a certificate without an agreement",
         lambda: check_certificate(certificate(), bundled_agreement("no-agreement")),
         ErrorCode.INVALID_INPUT, "home_fund"),
    Case("a flow whose uses exceed its sources", lambda: plan(uses=(Use(
        "lump-sum", 101, clearing_account("JP-JPS", "KH-NSSF", JPY)),)),
         ErrorCode.INVALID_INPUT, "sources"),
    Case("a flow whose value does not travel via clearing", lambda: plan(uses=(Use(
        "lump-sum", 100, member_account("wkr_abcd", "JP-JPS", "epi", JPY)),)),
         ErrorCode.INVALID_INPUT, "uses"),
    Case("a lump sum outcome for a Thai refund", lambda: lump_sum_outcome(PILOT, _refund("TH-SSO")),
         ErrorCode.INVALID_INPUT, "fund"),
]


# -- netting and rounding -------------------------------------------------------------------------
def net(payers: object = (0,), payees: object = (1,), amounts: object = (5,),
        funds: tuple[str, ...] = ("TH-SSO", "KH-NSSF")) -> netting.NettingResult:
    return netting.net_obligations(payers, payees, amounts, funds, USD)  # type: ignore[arg-type]


def _too_many_rows() -> object:
    bound = netting._ROWS_MAX
    netting._ROWS_MAX = 1  # two rows stand in for 2**31
    try:
        return net((0, 0), (1, 1), (1, 1))
    finally:
        netting._ROWS_MAX = bound


NETTING = [
    Case("a position of a fund outside the window", lambda: net().position("VN-VSS"),
         ErrorCode.UNKNOWN_FUND, "fund"),
    Case("a window of one fund twice", lambda: net(funds=("TH-SSO", "TH-SSO")),
         ErrorCode.INVALID_INPUT, "funds"),
    Case("columns of different lengths", lambda: net(payees=(1, 0)),
         ErrorCode.INVALID_INPUT, None),
    Case("more obligations than can be summed", _too_many_rows, ErrorCode.BATCH_TOO_LARGE, None),
    Case("a gross volume beyond 64 bits", lambda: net((0, 0), (1, 1), (2**62, 2**62)),
         ErrorCode.OVERFLOW, None),
    Case("a column of floats", lambda: net(amounts=(1.5,)), ErrorCode.INVALID_INPUT,
         "amounts_minor"),
    Case("a column above int64", lambda: net(amounts=np.array([2**63], dtype=np.uint64)),
         ErrorCode.OVERFLOW, "amounts_minor"),
    Case("a fund owing itself", lambda: net((0, 1), (1, 1), (5, 5)),
         ErrorCode.INVALID_INPUT, "payees", 1),
    Case("a rate of zero", lambda: netting.convert_to_settlement(
        [1], THB, USD, Decimal(0), Rounding.DOWN), ErrorCode.INVALID_RATE, None),
    Case("a conversion beyond 64 bits", lambda: netting.convert_to_settlement(
        [2**62], THB, USD, Decimal(4), Rounding.DOWN), ErrorCode.OVERFLOW, None),
    Case("a ratio over zero", lambda: round_ratio(1, 0, Rounding.UP), ErrorCode.INVALID_INPUT,
         None),
    Case("an array over zero", lambda: round_ratio_array(
        np.array([1], dtype=np.int64), 0, Rounding.UP), ErrorCode.INVALID_INPUT, None),
]


# -- totalisation ---------------------------------------------------------------------------------
def record(fund: str, scheme: str, month: Month, state: PeriodState = PeriodState.ACTIVE,
           to: str | None = None) -> PeriodRecord:
    return PeriodRecord(FundCode(fund), SchemeCode(scheme), month, state,
                        FundCode(to) if to else None)


_JAN = Month(2026, 1)
_POLICY = policy_of(["TH-SSO"], [EligibilityRule(FundCode("TH-SSO"), (
    Threshold(180, 55, Month(2027, 1)),))], 12)

TOTALISATION = [
    Case("a transferred period going nowhere", lambda: record(
        "TH-SSO", "s33-old-age", _JAN, PeriodState.TRANSFERRED), ErrorCode.INVALID_INPUT,
         "transferred_to"),
    Case("a period transferred to its own fund", lambda: record(
        "TH-SSO", "s33-old-age", _JAN, PeriodState.TRANSFERRED, "TH-SSO"),
         ErrorCode.INVALID_INPUT, "transferred_to"),
    Case("no threshold in force yet", lambda: totalise(
        [record("TH-SSO", "s33-old-age", _JAN)], _POLICY, as_of=Month(2026, 12)),
         ErrorCode.INVALID_INPUT, None),
    Case("a fund without a rule", lambda: totalise(
        [record("JP-JPS", "epi", _JAN)], _POLICY, as_of=Month(2027, 1)),
         ErrorCode.INVALID_INPUT, "rules"),
    Case("a fund the worker never paid into", lambda: totalise(
        [record("TH-SSO", "s33-old-age", _JAN)], _POLICY, as_of=Month(2027, 1)).fund("JP-JPS"),
         ErrorCode.UNKNOWN_FUND, None),
    Case("a short-term branch's period", lambda: own_months(
        [record("TH-SSO", "s33-old-age", _JAN), record("TH-SSO", "s33-sickness", _JAN)]),
         ErrorCode.INVALID_INPUT, "periods.scheme", 1),
    Case("one month recorded twice", lambda: own_months(
        [record("JP-JPS", "epi", _JAN), record("JP-JPS", "np", _JAN),
         record("JP-JPS", "epi", _JAN)]), ErrorCode.INVALID_INPUT, "periods", 2),
    Case("a pro-rata fraction above one", lambda: apply_pro_rata(
        Money(100, THB), Fraction(3, 2), Rounding.DOWN), ErrorCode.INVALID_RATE, None),
]


# -- settlement windows ---------------------------------------------------------------------------
def window(*ids: str) -> SettlementWindow:
    w = SettlementWindow(WindowId("w-1"), USD)
    w.add_transfers(ids)
    return w


def closed() -> SettlementWindow:
    w = window("t1")
    w.close(net())
    return w


WINDOWS = [
    Case("a transfer offered twice", lambda: window("t1", "t2").add_transfers(["t3", "t2"]),
         ErrorCode.ID_CONFLICT, "transfer_id", 1),
    Case("a transfer offered to a closed window", lambda: closed().add_transfer("t9"),
         ErrorCode.WINDOW_NOT_OPEN, None),
    Case("a netting in another currency", lambda: SettlementWindow(WindowId("w-2"), THB).close(
        net()), ErrorCode.CURRENCY_MISMATCH, None),
    Case("a netting of other transfers", lambda: window("t1", "t2").close(net()),
         ErrorCode.INVALID_INPUT, "netting"),
    Case("an abort without a reason", lambda: window().abort("  "),
         ErrorCode.INVALID_INPUT, "reason"),
    Case("settling an open window", lambda: window().settle(),
         ErrorCode.ILLEGAL_WINDOW_TRANSITION, None),
]


# -- keys ----------------------------------------------------------------------------------------
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
TH = Party("TH-SSO")
_KEY = SigningKey.generate(TH, kid="th-1", validity=Validity(NOW - 100, NOW + 100_000))


def jwk(**changes: Any) -> dict[str, Any]:
    out = {**_KEY.public_jwk(), **changes}
    return {k: v for k, v in out.items() if v is not ...}


def _ec_pem() -> bytes:
    return generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def _keyring_with(*keys: SigningKey) -> Keyring:
    ring = Keyring(TH)
    for key in keys:
        ring.add(key)
    return ring


def _registry() -> TrustRegistry:
    return TrustRegistry([_KEY.trusted()])


KEYS = [
    Case("a key window in float seconds", lambda: Validity(1.5),  # type: ignore[arg-type]
         ErrorCode.INVALID_INPUT, "not_before"),
    Case("a key window ending as it starts", lambda: Validity(10, 10),
         ErrorCode.INVALID_INPUT, "not_after"),
    Case("a JWK that is a list", lambda: TrustedKey.from_jwk(TH, [], "keys[0]"),  # type: ignore[arg-type]
         ErrorCode.INVALID_INPUT, "keys[0]"),
    Case("a public JWK with its private half", lambda: TrustedKey.from_jwk(TH, jwk(d="x")),
         ErrorCode.INVALID_INPUT, "jwk.d"),
    Case("a JWK of another curve", lambda: TrustedKey.from_jwk(TH, jwk(crv="P-256")),
         ErrorCode.INVALID_INPUT, "jwk.kty"),
    Case("a JWK without a kid", lambda: TrustedKey.from_jwk(TH, jwk(kid="")),
         ErrorCode.INVALID_INPUT, "jwk.kid"),
    Case("a JWK for RS256", lambda: TrustedKey.from_jwk(TH, jwk(alg="RS256")),
         ErrorCode.INVALID_INPUT, "jwk.alg"),
    Case("a JWK for encryption", lambda: TrustedKey.from_jwk(TH, jwk(use="enc")),
         ErrorCode.INVALID_INPUT, "jwk.use"),
    Case("a JWK whose x is a number", lambda: TrustedKey.from_jwk(TH, jwk(x=7)),
         ErrorCode.INVALID_INPUT, "jwk.x"),
    Case("a JWK whose x is not base64url", lambda: TrustedKey.from_jwk(TH, jwk(x="a+b=")),
         ErrorCode.INVALID_INPUT, "jwk.x"),
    Case("a JWK whose x is short", lambda: TrustedKey.from_jwk(TH, jwk(x=b64url_encode(b"1"))),
         ErrorCode.INVALID_INPUT, "jwk.x"),
    Case("a JWK window backwards", lambda: TrustedKey.from_jwk(TH, jwk(nbf=NOW, exp=NOW - 1)),
         ErrorCode.INVALID_INPUT, "jwk.exp"),
    Case("a private JWK whose d is missing", lambda: SigningKey.from_private_jwk(TH, {}),
         ErrorCode.INVALID_INPUT, "jwk.d"),
    Case("a private JWK whose x is another key's", lambda: SigningKey.from_private_jwk(
        TH, {**_KEY.private_jwk(), "x": SigningKey.generate(TH).x}),
         ErrorCode.INVALID_INPUT, "jwk.x"),
    Case("a PEM holding an EC key", lambda: SigningKey.from_pem(TH, _ec_pem()),
         ErrorCode.INVALID_INPUT, "pem"),
    Case("another party's key in a keyring", lambda: _keyring_with(
        SigningKey.generate(Party("KH-NSSF"))), ErrorCode.INVALID_INPUT, "issuer"),
    Case("one kid twice in a keyring", lambda: _keyring_with(_KEY, _KEY),
         ErrorCode.INVALID_INPUT, "kid"),
    Case("a keyring with no key valid now", lambda: _keyring_with(_KEY).current(NOW - 1000),
         ErrorCode.INVALID_INPUT, "keys"),
    Case("a rotation with a negative overlap", lambda: _keyring_with(_KEY).rotate(
        NOW, overlap_s=-1), ErrorCode.INVALID_INPUT, "overlap_s"),
    Case("revoking a key the keyring lacks", lambda: _keyring_with(_KEY).revoke("nope", NOW),
         ErrorCode.INVALID_INPUT, "kid"),
    Case("a kid registered for another key", lambda: _registry().add(
        SigningKey.generate(TH, kid="th-1").trusted()), ErrorCode.INVALID_INPUT, "kid"),
    Case("a JWKS without keys", lambda: _registry().load_jwks(TH, {"key": []}),
         ErrorCode.INVALID_INPUT, "keys"),
    Case("a JWKS naming one kid twice", lambda: _registry().load_jwks(
        TH, {"keys": [jwk(), jwk()]}), ErrorCode.INVALID_INPUT, "keys"),
    Case("revoking an unknown kid", lambda: _registry().revoke("nope", NOW),
         ErrorCode.INVALID_INPUT, "kid"),
]


# -- signed messages -----------------------------------------------------------------------------
def claims(**changes: Any) -> dict[str, Any]:
    out = {"iss": str(TH), "aud": str(HUB), "iat": NOW, "exp": NOW + 900, "jti": "m-1",
           "seq": 1, "typ": MessageType.TRANSFER_ACK.value, "body": {}, **changes}
    return {k: v for k, v in out.items() if v is not ...}


def token(payload: bytes | dict[str, Any] | None = None, key: SigningKey = _KEY,
          **header: Any) -> str:
    head = {k: v for k, v in {"alg": "Ed25519", "kid": key.kid, "typ": HEADER_TYP,
                              **header}.items() if v is not ...}
    body = canonicalize(claims()) if payload is None else (
        canonicalize(payload) if isinstance(payload, dict) else payload)
    signing_input = b64url_encode(json.dumps(head).encode()) + "." + b64url_encode(body)
    return signing_input + "." + b64url_encode(key.private_key.sign(signing_input.encode()))


def verify(text: str, now: int = NOW, *keys: SigningKey, **kw: Any) -> object:
    registry = TrustRegistry([k.trusted() for k in (keys or (_KEY,))])
    return verify_message(text, registry, kw.pop("audience", str(HUB)), now, **kw)


def sign(key: SigningKey = _KEY, **kw: Any) -> str:
    fields: dict[str, Any] = {"aud": str(HUB), "typ": MessageType.TRANSFER_ACK, "seq": 1,
                              "body": {}, "iat": NOW, **kw}
    return sign_message(key, **fields)


_REVOKED = SigningKey.generate(TH, kid="th-r", validity=Validity(NOW - 100, None, NOW - 10))
_LATER = SigningKey.generate(TH, kid="th-l", validity=Validity(NOW + 100, None))
_OLD = SigningKey.generate(TH, kid="th-o", validity=Validity(NOW - 1000, NOW - 100))


def rejected(name: str, call: Callable[[], object], reason: str,
             claim: str | None = None) -> Case:
    return Case(name, call, ErrorCode.MESSAGE_REJECTED, claim, reason=reason)


MESSAGES = [
    rejected("signing a body with a float", lambda: sign(body={"x": float("nan")}), "malformed"),
    rejected("signing a body with a fraction", lambda: sign(body={"x": 0.5}),
             "number_not_allowed"),
    rejected("signing with a revoked key", lambda: sign(_REVOKED), "key_revoked"),
    rejected("a token too long", lambda: verify("a" * (TOKEN_CHARS_MAX + 1)), "malformed"),
    rejected("a token of two parts", lambda: verify("a.b"), "malformed"),
    rejected("a signature by another key under the kid", lambda: verify(
        token(key=SigningKey.generate(TH, kid=_KEY.kid))), "signature_invalid"),
    rejected("alg none", lambda: verify(token(alg="none")), "alg_not_allowed"),
    rejected("a header carrying a jwk", lambda: verify(token(jwk={})), "header_rejected"),
    rejected("a header of another typ", lambda: verify(token(typ="JWT")), "header_rejected"),
    rejected("a header without kid", lambda: verify(token(kid=...)), "missing_kid"),
    rejected("a kid nobody published", lambda: verify(token(kid="x")), "unknown_key"),
    rejected("a key not valid yet", lambda: verify(token(key=_LATER), NOW, _LATER),
             "key_not_yet_valid"),
    rejected("a key expired", lambda: verify(token(key=_OLD), NOW, _OLD), "key_expired"),
    rejected("a key revoked", lambda: verify(token(key=_REVOKED), NOW, _REVOKED), "key_revoked"),
    rejected("a payload with a fraction", lambda: verify(token(b'{"a":1.5}')),
             "number_not_allowed"),
    rejected("a payload that is not JSON", lambda: verify(token(b"{")), "malformed"),
    rejected("a payload that is a list", lambda: verify(token(b"[]")), "malformed"),
    rejected("a payload with a lone surrogate", lambda: verify(token(b'{"a":"\\ud800"}')),
             "malformed"),
    rejected("a payload not in canonical form", lambda: verify(token(b'{"b":1, "a":2}')),
             "non_canonical_payload"),
    rejected("a claim missing", lambda: verify(token(claims(jti=...))), "missing_claim", "jti"),
    rejected("a claim too many", lambda: verify(token(claims(zz=1))), "invalid_claim", "zz"),
    rejected("a sequence of zero", lambda: verify(token(claims(seq=0))), "invalid_claim", "seq"),
    rejected("a message from another issuer's key", lambda: verify(
        token(claims(iss="KH-NSSF"))), "issuer_key_mismatch", "iss"),
    rejected("a message for someone else", lambda: verify(token(), audience="KH-NSSF"),
             "wrong_audience", "aud"),
    rejected("a message dated before its key", lambda: verify(
        token(claims(iat=NOW - 200, exp=NOW + 900))), "key_not_yet_valid", "iat"),
    rejected("a message dated after its key retired", lambda: verify(
        token(claims(iat=NOW + 100_000, exp=NOW + 100_900)), NOW + 100_000 - 5),
             "key_expired", "iat"),
    rejected("a message expired", lambda: verify(token(claims(exp=NOW + 10)), NOW + 1000),
             "message_expired", "exp"),
    rejected("a message living longer than the receiver allows", lambda: verify(
        token(), lifetime_max_s=899), "lifetime_too_long", "exp"),
    rejected("a message from the future", lambda: verify(
        token(claims(iat=NOW + 1000, exp=NOW + 2000))), "message_not_yet_valid", "iat"),
]

CASES = AGREEMENTS + OTHERS + NETTING + TOTALISATION + WINDOWS + KEYS + MESSAGES
