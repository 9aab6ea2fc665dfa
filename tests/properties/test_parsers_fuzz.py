"""Bad input at scale, without a server (issue 16 item 5): every fund's declaration parser and
checks, the channels' day-file parser, and the inbox's message decoding are fed arbitrary bytes
and mutations of good input. Each may refuse, with a typed error or a finding, and must never
raise anything else. The number of inputs is fixed per run, and the draws are derandomised in
the default profile; `HYPOTHESIS_PROFILE=soak` runs many more (docs/security.md).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.adapters.conformance import checks
from ledger.adapters.registry import adapters, codec, get_adapter
from ledger.app.demo_imports import sample_files
from ledger.channels.dayfile import HEADER, parse_day_file
from ledger.domain.errors import DomainError
from ledger.settlement.jws import ALG_ED25519, b64url_encode, sign_compact
from ledger.settlement.keys import HUB, Party, SigningKey, TrustRegistry
from ledger.settlement.messages import (
    HEADER_TYP,
    MessageRejected,
    MessageType,
    sign_message,
    verify_message,
)
from tests.properties.profiles import profile

EXAMPLES = 3000 if profile() == "soak" else 100
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=profile() != "soak",
                database=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])
FUNDS = sorted(adapters())
SAMPLES = {fund: sample_files(fund)[0].read_bytes() for fund in FUNDS}


@st.composite
def mutated(draw: st.DrawFn, good: bytes) -> bytes:
    """A good file with a few bytes changed, cut, repeated or inserted."""
    data = bytearray(good)
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        match draw(st.sampled_from(("flip", "cut", "repeat", "insert", "truncate"))):
            case "flip":
                data[at] = draw(st.integers(0, 255))
            case "cut":
                del data[at:at + draw(st.integers(1, 40))]
            case "repeat":
                end = min(len(data), at + draw(st.integers(1, 200)))
                data[at:at] = data[at:end] * draw(st.integers(1, 4))
            case "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=30))
            case "truncate":
                del data[at:]
    return bytes(data)


def _file_inputs(fund: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=2000), mutated(SAMPLES[fund]),
                     st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")))


@pytest.mark.parametrize("fund", FUNDS)
def test_a_funds_parser_and_checks_never_crash(fund: str) -> None:
    adapter, found = get_adapter(fund), codec(fund)

    @FUZZ
    @given(_file_inputs(fund))
    def run(data: bytes) -> None:
        try:
            result = checks.check_file(adapter, found, data.splitlines(keepends=True))
        except DomainError:
            return  # a typed refusal
        assert result.fund == fund

    run()


DAY_HEADER = (",".join(HEADER) + "\n").encode()
DAY_LINE = b"mw-1,payment,wkr_abcd1234,VN-VSS,voluntary-si,158714,THB,1000,1100000,VND\n"


@FUZZ
@given(st.one_of(st.binary(max_size=2000), mutated(DAY_HEADER + DAY_LINE * 3)))
def test_the_day_file_parser_never_crashes(data: bytes) -> None:
    try:
        entries = parse_day_file(data)
    except DomainError:
        return
    assert isinstance(entries, list)


FUND_KEY = SigningKey.generate(Party("TH-SSO"))
REGISTRY = TrustRegistry()
REGISTRY.load_jwks(Party("TH-SSO"), {"keys": [FUND_KEY.public_jwk()]})
GOOD = sign_message(FUND_KEY, aud=HUB, typ=MessageType.TRANSFER_REQUEST, seq=1,
                    body={"action": "approve", "flow_id": "pt-1"}, iat=int(time.time()),
                    jti="fuzz-1")
# Integers a double holds exactly, finite floats: the signer writes no others; the decoder meets
# larger ones in the raw-text strategies above.
JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**53), 2**53)
                    | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@st.composite
def claims(draw: st.DrawFn) -> dict[str, Any]:
    """Claims near the real ones: each kept, dropped or replaced by any JSON."""
    now = int(time.time())
    real: dict[str, Any] = {"iss": "TH-SSO", "aud": HUB, "iat": now, "exp": now + 600,
                            "jti": "fuzz-2", "seq": 1, "typ": "transfer.request",
                            "body": {"action": "approve", "flow_id": "pt-1"}}
    out: dict[str, Any] = {}
    for name, value in real.items():
        choice = draw(st.sampled_from(("keep", "keep", "drop", "replace")))
        if choice == "keep":
            out[name] = value
        elif choice == "replace":
            out[name] = draw(JSON)
    return out | draw(st.dictionaries(st.text(max_size=6), JSON, max_size=2))


def _signed(payload: bytes, header: dict[str, Any] | None = None) -> str:
    head = {"alg": ALG_ED25519, "kid": FUND_KEY.kid, "typ": HEADER_TYP, **(header or {})}
    return sign_compact(head, payload, FUND_KEY.private_key)


def _tokens() -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300),
        mutated(GOOD.encode()).map(lambda b: b.decode("latin-1")),
        claims().map(lambda c: _signed(orjson.dumps(c, option=orjson.OPT_SORT_KEYS))),
        st.binary(max_size=200).map(_signed),
        st.dictionaries(st.text(max_size=6), JSON, max_size=4).map(
            lambda h: _signed(orjson.dumps({"x": 1}), h)),
        st.lists(st.text(max_size=40), max_size=5).map(".".join),
        st.binary(max_size=120).map(lambda b: ".".join([b64url_encode(b)] * 3)),
    )


@FUZZ
@given(_tokens())
def test_message_decoding_only_refuses_with_a_reason(token: str | bytes) -> None:
    try:
        message = verify_message(token, REGISTRY, HUB, int(time.time()))
    except MessageRejected as exc:
        reason = exc.reason
    else:
        assert message.iss == "TH-SSO"  # accepted only when well signed and well formed
        return
    assert reason is not None
