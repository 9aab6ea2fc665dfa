"""RFC 8785 (JCS): the RFC's own examples, Appendix B number vectors, the reference test data of
cyberphone/json-canonicalization (testdata/input -> testdata/output), and properties."""

from __future__ import annotations

import json
import math
import re
import struct
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.settlement.canonical import (
    CanonicalizationError,
    JsonParseError,
    NumberNotAllowedError,
    canonical_text,
    canonicalize,
    format_number,
    is_canonical_ijson,
    parse_json,
)

# --- RFC 8785 §3.2.2 / §3.2.3 / §3.2.4 -----------------------------------------------------------

RFC_SAMPLE_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC_SAMPLE_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)
# RFC 8785 §3.2.4: the UTF-8 bytes of the canonical sample, as the RFC prints them in hex.
RFC_SAMPLE_HEX = (
    "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 2c "
    "22 6e 75 6d 62 65 72 73 22 3a 5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 "
    "65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c 22 73 74 72 69 6e 67 22 "
    "3a 22 e2 82 ac 24 5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d"
)

RFC_SORT_INPUT = r"""{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"""
RFC_SORT_ORDER = [
    "Carriage Return",
    "One",
    "Control",
    "Latin Small Letter O With Diaeresis",
    "Euro Sign",
    "Emoji: Grinning Face",
    "Hebrew Letter Dalet With Dagesh",
]


def test_rfc8785_sample_canonicalises_to_the_published_output() -> None:
    assert canonical_text(parse_json(RFC_SAMPLE_INPUT)) == RFC_SAMPLE_OUTPUT


def test_rfc8785_sample_bytes_match_the_published_hex() -> None:
    assert canonicalize(parse_json(RFC_SAMPLE_INPUT)) == bytes.fromhex(RFC_SAMPLE_HEX)


def test_rfc8785_property_sorting_is_by_utf16_code_units() -> None:
    out = canonicalize(parse_json(RFC_SORT_INPUT))
    assert list(json.loads(out).values()) == RFC_SORT_ORDER
    # U+1F600 (D83D DE00) sorts before U+FB33 by UTF-16 code unit, after it by code point.
    assert out.index("😀".encode()) < out.index("\ufb33".encode())


# --- RFC 8785 Appendix B: IEEE 754 -> ECMAScript number text -------------------------------------

APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),  # minus zero
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),  # round to even
]


def _double(hex_bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(hex_bits))[0]
    return value


@pytest.mark.parametrize(("hex_bits", "expected"), APPENDIX_B)
def test_appendix_b_number_serialisation(hex_bits: str, expected: str) -> None:
    assert format_number(_double(hex_bits)) == expected
    assert canonical_text([_double(hex_bits)]) == f"[{expected}]"


@pytest.mark.parametrize("hex_bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_appendix_b_nan_and_infinity_are_refused(hex_bits: str) -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize({"n": _double(hex_bits)})


# --- cyberphone/json-canonicalization testdata ---------------------------------------------------

REFERENCE_DATA = {
    "arrays": (
        '[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]',
        '[56,{"1":[],"10":null,"d":true}]',
    ),
    "french": (
        '{\n  "peach": "This sorting order",\n  "péché": "is wrong according to French",\n'
        '  "pêche": "but canonicalization MUST",\n  "sin":   "ingnore locale"\n}\n',
        '{"peach":"This sorting order","péché":"is wrong according to French",'
        '"pêche":"but canonicalization MUST","sin":"ingnore locale"}',
    ),
    "structures": (
        '{\n  "1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0},\n  "10": { },\n  "": "empty",\n'
        '  "a": { },\n  "111": [ { } ],\n  "A": { }\n}',
        '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}',
    ),
    "unicode": (
        '{\n  "Unnormalized Unicode":"\\u1e0d\\u0307"\n}\n',
        '{"Unnormalized Unicode":"\u1e0d\u0307"}',
    ),
    "values": (
        '{\n  "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],\n'
        '  "escaping": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
        '  "literals": [null, true, false]\n}',
        '{"escaping":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/","literals":[null,true,false],'
        '"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}',
    ),
    "weird": (
        '{\n  "\\u20ac": "Euro Sign",\n  "1": "One",\n  "\\u0080": "Control\\u007f",\n'
        '  "\\ud83d\\ude02": "Smiley",\n  "\\u00f6": "Latin Small Letter O With Diaeresis",\n'
        '  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "</script>": "Browser Challenge"\n}\n',
        '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f",'
        '"ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😂":"Smiley",'
        '"\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    ),
    "simpleString": ('"this is a test string 1235"', '"this is a test string 1235"'),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_DATA))
def test_reference_testdata(name: str) -> None:
    source, expected = REFERENCE_DATA[name]
    assert canonicalize(parse_json(source)) == expected.encode("utf-8")


def test_simple_string_matches_reference_outhex() -> None:
    outhex = (
        "22 74 68 69 73 20 69 73 20 61 20 74 65 73 74 20 73 74 72 69 6E 67 20 31 32 33 35 22"
    )
    assert canonicalize("this is a test string 1235") == bytes.fromhex(outhex)


# --- edges ----------------------------------------------------------------------------------------


def test_control_characters_use_short_escapes_or_lowercase_u_escapes() -> None:
    text = "".join(chr(c) for c in range(0x20)) + "\x7f/"
    expected = (
        '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r'
        '\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019'
        '\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\x7f/"'
    )
    assert canonical_text(text) == expected


def test_integers_print_exactly_up_to_2_to_53() -> None:
    assert canonical_text([0, -1, 2**53, -(2**53), 123456789012345]) == (
        "[0,-1,9007199254740992,-9007199254740992,123456789012345]"
    )


def test_big_integer_that_is_a_double_prints_like_ecmascript() -> None:
    # 2**60 is an exact double; ECMAScript prints its shortest digits padded with zeros.
    assert canonical_text(2**60) == "1152921504606847000"
    assert canonical_text(2**68) == "295147905179352830000"


@pytest.mark.parametrize("value", [2**53 + 1, -(2**53 + 1), 10**400])
def test_integer_that_would_be_rounded_is_refused(value: int) -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize({"amount": value})


@pytest.mark.parametrize(
    "value",
    [{1: "x"}, {"s": "\ud800"}, {"\udc00": 1}, {"x": {1, 2}}, {"b": b"bytes"}, float("nan")],
)
def test_values_without_a_json_form_are_refused(value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize(value)


def test_nesting_is_bounded() -> None:
    deep: Any = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(CanonicalizationError):
        canonicalize(deep)


def test_tuples_are_arrays_and_bool_is_not_an_integer() -> None:
    assert canonical_text({"t": (1, True, False, None)}) == '{"t":[1,true,false,null]}'


# --- strict reader -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1,"a":2}',
        b'{"x":{"b":1,"b":1}}',
        b'{"n":NaN}',
        b'{"n":Infinity}',
        b'{"n":-Infinity}',
        b"\xef\xbb\xbf{}",  # BOM
        '{"a":1}'.encode("utf-16"),
        b'{"a":"\xff"}',  # not UTF-8
        b'{"a":1} x',
        b"",
        b"[" * 100_000,
    ],
)
def test_parse_json_refuses_what_is_not_strict_ijson(data: bytes) -> None:
    with pytest.raises(JsonParseError):
        parse_json(data)


@pytest.mark.parametrize("data", [b'{"a":1.5}', b'{"a":1e3}', b'{"a":1.0}', b"[9007199254740992]"])
def test_integers_only_profile_refuses_other_numbers(data: bytes) -> None:
    assert parse_json(data) is not None
    with pytest.raises(NumberNotAllowedError):
        parse_json(data, integers_only=True)


def test_integers_only_profile_accepts_the_ijson_range() -> None:
    assert parse_json(b"[9007199254740991,-9007199254740991]", integers_only=True) == [
        2**53 - 1,
        -(2**53 - 1),
    ]


# --- properties ----------------------------------------------------------------------------------

KEYS = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=6)
INTEGERS = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
SCALARS = st.none() | st.booleans() | INTEGERS | st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), max_size=12
)
JSON_INT = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


@given(JSON_INT)
def test_canonical_form_is_a_fixed_point(value: Any) -> None:
    once = canonicalize(value)
    assert canonicalize(parse_json(once)) == once
    assert json.loads(once) == value


@given(JSON_INT)
def test_the_signers_fast_path_writes_what_the_general_path_writes(value: Any) -> None:
    # Keys and strings reach above U+FFFF too (the fast path must step aside for them).
    assert canonicalize(value, integers_only=True) == canonicalize(value)


def test_the_signers_fast_path_steps_aside_for_what_it_cannot_write() -> None:
    class Kind(IntEnum):
        ONE = 1

    above = {"\U0001F600": 1, "\uE000": 2}  # UTF-16 order differs from code point order
    assert canonicalize(above, integers_only=True) == canonicalize(above)
    assert canonicalize(above, integers_only=True).index("\U0001F600".encode()) < \
        canonicalize(above, integers_only=True).index("\uE000".encode())
    assert canonicalize({"k": Kind.ONE}, integers_only=True) == b'{"k":1}'
    assert canonicalize(({"a": [True, None]},), integers_only=True) == b'[{"a":[true,null]}]'
    with pytest.raises(CanonicalizationError, match="not a string"):
        canonicalize({1: "x"}, integers_only=True)
    with pytest.raises(CanonicalizationError, match="lone surrogate"):
        canonicalize({"a": "\ud800"}, integers_only=True)
    with pytest.raises(NumberNotAllowedError):
        canonicalize({"a": [1.5]}, integers_only=True)
    deep: Any = "x"
    for _ in range(65):
        deep = [deep]
    with pytest.raises(CanonicalizationError, match="nesting"):
        canonicalize(deep, integers_only=True)


@given(JSON_INT)
def test_fast_check_agrees_with_the_general_canonicaliser(value: Any) -> None:
    data = canonicalize(value)
    assert is_canonical_ijson(data, parse_json(data, integers_only=True))
    reformatted = json.dumps(value, indent=1).encode()  # same value, other bytes
    if reformatted != data:
        assert not is_canonical_ijson(reformatted, json.loads(reformatted))


@given(st.dictionaries(KEYS, st.integers(0, 9), min_size=2, max_size=8))
def test_members_sort_by_utf16_code_units(value: dict[str, int]) -> None:
    keys = list(json.loads(canonicalize(value)))
    assert keys == sorted(value, key=lambda k: k.encode("utf-16-be"))


ES_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d*[1-9])?(e[+-][1-9]\d*)?")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_double_round_trips_in_ecmascript_form(value: float) -> None:
    text = format_number(value)
    assert ES_NUMBER.fullmatch(text), text
    assert float(text) == value or (value == 0 and text == "0")
    if text != "0":
        assert math.copysign(1, float(text)) == math.copysign(1, value)


# --- what each refusal says, and the limits at their edges --------------------------------------


def refusal(call: Any, kind: type[Exception] = CanonicalizationError) -> str:
    with pytest.raises(kind) as err:
        call()
    assert type(err.value) is kind
    return str(err.value)


@pytest.mark.parametrize(("value", "message"), [
    ({1: "x"}, "object key 1 is not a string"),
    ({"a": 1, 2: "x"}, "object key 2 is not a string"),
    ({"x": {1, 2}}, "set is not a JSON value"),
    ([b"bytes"], "bytes is not a JSON value"),
    ({"s": "\ud800"}, "string contains a lone surrogate code unit"),
    (float("nan"), "nan has no JSON representation"),
    (float("inf"), "inf has no JSON representation"),
    ([float("-inf")], "-inf has no JSON representation"),
    (10**400, f"integer {10**400} is outside the IEEE 754 range"),
    (2**53 + 1, "integer 9007199254740993 is not exactly representable as an IEEE 754 double; "
                "send it as a string"),
    (-(2**53) - 1, "integer -9007199254740993 is not exactly representable as an IEEE 754 "
                   "double; send it as a string"),
])
def test_each_value_without_a_json_form_is_refused_saying_why(value: Any, message: str) -> None:
    assert refusal(lambda: canonicalize(value)) == message


def test_integers_just_beyond_2_to_53_print_when_they_are_doubles() -> None:
    assert canonical_text([2**53 + 2, -(2**53) - 2]) == "[9007199254740994,-9007199254740994]"


def nested(kind: str, depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"k": value} if kind == "object" else [value]
    return value


@pytest.mark.parametrize("kind", ["object", "array"])
def test_nesting_up_to_64_levels_is_taken_and_65_refused(kind: str) -> None:
    text = canonical_text(nested(kind, 64))
    assert text.count("{" if kind == "object" else "[") == 64
    assert refusal(lambda: canonicalize(nested(kind, 65))) == "nesting deeper than 64"


def test_mixed_nesting_counts_every_level() -> None:
    mixed: Any = 0
    for level in range(65):
        mixed = [mixed] if level % 2 else {"k": mixed}
    assert refusal(lambda: canonicalize(mixed)) == "nesting deeper than 64"


def test_members_and_items_are_separated_by_single_commas() -> None:
    assert canonical_text({"b": [1, 2, 3], "a": {}, "c": []}) == '{"a":{},"b":[1,2,3],"c":[]}'
    assert canonical_text([]) == "[]" and canonical_text({}) == "{}"


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (-0.0, "0"), (-1.5, "-1.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
    (123e-20, "1.23e-18"), (0.000001, "0.000001"), (1e-7, "1e-7"), (-2e-7, "-2e-7"),
    (5e-324, "5e-324"), (1.5e300, "1.5e+300"), (0.1, "0.1"), (100.0, "100"), (12.5, "12.5"),
    (-123456.789, "-123456.789"),
])
def test_numbers_take_the_ecmascript_layout(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize(("data", "kind", "message"), [
    (b'{"a":1,"a":2}', JsonParseError, "duplicate member name 'a'"),
    (b'{"a":1,"b":2,"b":3}', JsonParseError, "duplicate member name 'b'"),
    (b'{"n":NaN}', JsonParseError, "NaN is not JSON"),
    (b'[-Infinity]', JsonParseError, "-Infinity is not JSON"),
])
def test_strict_reader_refusals_say_why(data: bytes, kind: type[Exception], message: str) -> None:
    assert refusal(lambda: parse_json(data), kind) == message
    assert refusal(lambda: parse_json(data.decode()), kind) == message  # text is read the same


@pytest.mark.parametrize(("data", "message"), [
    (b'{"a":1.5}', "number 1.5 is not an integer; send it as a string"),
    (b'[1e3]', "number 1e3 is not an integer; send it as a string"),
    (b"[9007199254740992]",
     "integer 9007199254740992 is beyond +-(2**53 - 1); send it as a string"),
    (b"[-9007199254740992]",
     "integer -9007199254740992 is beyond +-(2**53 - 1); send it as a string"),
])
def test_message_profile_refusals_say_why(data: bytes, message: str) -> None:
    assert refusal(lambda: parse_json(data, integers_only=True), NumberNotAllowedError) == message


def test_undecodable_and_malformed_input_is_a_parse_error_not_another_one() -> None:
    assert "utf-8" in refusal(lambda: parse_json(b'{"a":"\xff"}'), JsonParseError)
    assert refusal(lambda: parse_json(b"[" * 100_000), JsonParseError)
    assert "Expecting value" in refusal(lambda: parse_json(b""), JsonParseError)


def test_the_reader_keeps_distinct_members_and_plain_values() -> None:
    assert parse_json(b'{"b":[1,2.5,"x",true,null],"a":{"c":-3}}') == {
        "b": [1, 2.5, "x", True, None], "a": {"c": -3}}
    assert parse_json('{"a":1}', integers_only=True) == {"a": 1}


def test_the_fast_check_handles_characters_above_the_bmp() -> None:
    value = {"\U0001f600": 1, "\ue000": 2}  # sorts by UTF-16 units: the emoji first
    data = canonicalize(value)
    assert data == '{"\U0001f600":1,"\ue000":2}'.encode()
    assert is_canonical_ijson(data, value)
    assert not is_canonical_ijson('{"\ue000":2,"\U0001f600":1}'.encode(), value)
    assert not is_canonical_ijson(b'{"a": 1}', {"a": 1})  # BMP only: the fast path says no too
    message = refusal(lambda: is_canonical_ijson(b'"x"', "\ud800"))
    assert message == "string contains a lone surrogate code unit"


def test_the_fast_path_is_taken_exactly_for_plain_values_within_the_profile() -> None:
    # The signer's fast path (issue 15) must be taken for what it writes correctly and only
    # then: the general path gives the same bytes, so only the predicate itself can tell.
    from ledger.settlement.canonical import DEPTH_MAX, _in_message_profile

    class Kind(IntEnum):
        ONE = 1

    class Text(str):
        pass

    limit = 2**53 - 1
    for plain in ("a", True, False, None, 0, limit, -limit, [], (), {}, {"a": [1, ("b",)]}):
        assert _in_message_profile(plain, 0), plain
    for other in (limit + 1, -limit - 1, 1.5, Kind.ONE, Text("a"), {1: "a"}, {"a": {2}},
                  [b"x"], {"a": [1.0]}, ("a", 2.5)):
        assert not _in_message_profile(other, 0), other
    nested: Any = "x"
    for _ in range(DEPTH_MAX):
        nested = [nested]
    assert _in_message_profile(nested, 0)  # 64 levels: what the general path takes
    assert not _in_message_profile([nested], 0)
    assert not _in_message_profile({"a": [nested]}, 0)
    assert _in_message_profile(nested[0], 1) and not _in_message_profile(nested, 1)


def test_the_profiles_refusals_say_why() -> None:
    with pytest.raises(NumberNotAllowedError) as caught:
        canonicalize({"a": 2**53}, integers_only=True)
    assert str(caught.value) == (
        "integer 9007199254740992 is beyond +-(2**53 - 1): send it as a string")
    with pytest.raises(NumberNotAllowedError) as caught:
        canonicalize([0.5], integers_only=True)
    assert str(caught.value) == "number 0.5 is not an integer"
    with pytest.raises(CanonicalizationError) as failed:
        canonicalize({"a": "\ud800"}, integers_only=True)
    assert str(failed.value) == "string contains a lone surrogate code unit"
