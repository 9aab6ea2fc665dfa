"""RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of a JSON value that we sign.

Owns `canonicalize` (Python JSON value -> canonical UTF-8 bytes), `parse_json` (strict I-JSON
reader: no duplicate members, no NaN/Infinity, no BOM, UTF-8 only) and the ECMAScript
number serialisation JCS prescribes (`format_number`).

The full RFC is implemented, floats included, so this module is a conformant building block and
can be checked against the published vectors. The *message profile* in `messages.py` is stricter
(integers only, money as strings): see docs/adr/0010-jcs-numbers-integers-only-in-messages.md.

Integers beyond 2**53 are serialised as JCS would serialise the IEEE 754 double they parse to,
but only when that double *is* the integer; otherwise `canonicalize` refuses rather than silently
rounding (a rounded amount in a signed ledger message is worse than an error).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any, TypeAlias

import orjson

JsonValue: TypeAlias = (
    bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
)

# Every integer in [-2**53, 2**53] is an exact IEEE 754 double, and no shorter digit string reads
# back as the same double, so `str(n)` is already the ECMAScript form for these.
SAFE_INTEGER_MAX = 2**53

# I-JSON (RFC 7493 §2.2): the integers every JSON reader holds exactly; the message profile's range.
IJSON_INTEGER_MAX = 2**53 - 1

# How deep a value may nest. Python recursion would fail far later; a ledger message needs < 10.
DEPTH_MAX = 64


# Lead bytes of 4-byte UTF-8 sequences: characters above U+FFFF, the only ones that sort
# differently by UTF-16 code unit than by code point.
_ABOVE_BMP = re.compile(b"[\xf0-\xf4]")


class CanonicalizationError(ValueError):
    """The value has no RFC 8785 form (NaN, a lone surrogate, a non-string key, ...)."""


class JsonParseError(ValueError):
    """The bytes are not strict I-JSON (RFC 7493): bad UTF-8, syntax, duplicates, NaN, ..."""


class NumberNotAllowedError(JsonParseError):
    """With `integers_only`: a fraction/exponent number, or an integer beyond +-(2**53 - 1)."""


def canonicalize(value: object, *, integers_only: bool = False) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of `value` (dict/list/tuple/str/int/float/bool/None).

    `integers_only` applies the message profile while writing, as `parse_json` does while
    reading: a float, or an integer beyond +-(2**53 - 1), raises `NumberNotAllowedError`. A
    signer then need not parse its own payload back to know a verifier will accept it.

    Fast path, under `integers_only`, for signing many receipts: a value of plain dicts with
    string keys, lists, tuples, strings, booleans, None and integers within the profile,
    holding nothing above U+FFFF, is written by orjson with sorted keys, which is then JCS byte
    for byte (the reasoning of `is_canonical_ijson`: compact, code point order, the same short
    and lowercase `\\u00xx` escapes and nothing else escaped; a property test compares the two
    paths on random values). Anything else takes the general path, which also says what is
    wrong.
    """
    if integers_only and _in_message_profile(value, 0):
        try:
            data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as exc:  # only a lone surrogate passes the profile
            raise CanonicalizationError("string contains a lone surrogate code unit") from exc
        if not _ABOVE_BMP.search(data):
            return data
    parts: list[str] = []
    _write(value, parts, 0, integers_only)
    text = "".join(parts)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Only a lone surrogate (U+D800..U+DFFF) can get here; I-JSON forbids them.
        raise CanonicalizationError("string contains a lone surrogate code unit") from exc


def _in_message_profile(value: object, depth: int) -> bool:
    """Whether the C encoder may write `value` (see `canonicalize`): exact types only, so that
    an IntEnum, a float, a set or a key that is not a string goes the general way."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -IJSON_INTEGER_MAX <= value <= IJSON_INTEGER_MAX  # type: ignore[operator]
    if depth >= DEPTH_MAX:
        return False
    if kind is dict:
        members: dict[object, object] = value  # type: ignore[assignment]
        return all(type(key) is str for key in members) and all(
            _in_message_profile(item, depth + 1) for item in members.values())
    if kind is list or kind is tuple:
        items: Sequence[object] = value  # type: ignore[assignment]
        return all(_in_message_profile(item, depth + 1) for item in items)
    return False


def is_canonical_ijson(data: bytes, value: Any) -> bool:
    """True iff `data` is the RFC 8785 form of `value`, where `value` came from
    `parse_json(data, integers_only=True)`. Raises CanonicalizationError like `canonicalize`.

    Fast path, for verifying many messages: such a value holds no floats and only integers that
    print exactly, and when `data` holds no 4-byte UTF-8 sequence (nothing above U+FFFF) code
    point order *is* UTF-16 order; in that case the C JSON encoder with sorted keys produces JCS
    byte for byte (same escapes: the short ones, `\\u00xx` lowercase, nothing else). Anything
    else takes the general path. (A character above U+FFFF written as an escaped surrogate pair
    leaves no such byte, but then `data` is not canonical whatever the order, and the comparison
    says so.)
    """
    if _ABOVE_BMP.search(data):
        return canonicalize(value) == data
    text = _SORTED_COMPACT.encode(value)
    try:
        return text.encode("utf-8") == data
    except UnicodeEncodeError as exc:
        raise CanonicalizationError("string contains a lone surrogate code unit") from exc


def canonical_text(value: object) -> str:
    """`canonicalize` as text, for logs and tests."""
    return canonicalize(value).decode("utf-8")


def _write(value: object, out: list[str], depth: int, integers_only: bool) -> None:
    # Order of checks: bool before int (bool is an int subclass in Python).
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if integers_only and not -IJSON_INTEGER_MAX <= value <= IJSON_INTEGER_MAX:
            raise NumberNotAllowedError(
                f"integer {value} is beyond +-(2**53 - 1): send it as a string")
        out.append(_format_int(value))
    elif isinstance(value, float):
        text = format_number(value)  # NaN and infinities: no JSON at all, as a parser says
        if integers_only:
            raise NumberNotAllowedError(f"number {text} is not an integer")
        out.append(text)
    elif isinstance(value, Mapping):
        _write_object(value, out, depth + 1, integers_only)
    elif isinstance(value, list | tuple):
        _write_array(value, out, depth + 1, integers_only)
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")


def _write_object(value: Mapping[Any, object], out: list[str], depth: int,
                  integers_only: bool) -> None:
    if depth > DEPTH_MAX:
        raise CanonicalizationError(f"nesting deeper than {DEPTH_MAX}")
    for key in value:
        if not isinstance(key, str):
            raise CanonicalizationError(f"object key {key!r} is not a string")
    out.append("{")
    first = True
    for key in sorted(value, key=_utf16_sort_key):
        if not first:
            out.append(",")
        first = False
        out.append(encode_basestring(key))
        out.append(":")
        _write(value[key], out, depth, integers_only)
    out.append("}")


def _write_array(value: Sequence[object], out: list[str], depth: int,
                 integers_only: bool) -> None:
    if depth > DEPTH_MAX:
        raise CanonicalizationError(f"nesting deeper than {DEPTH_MAX}")
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _write(item, out, depth, integers_only)
    out.append("]")


def _utf16_sort_key(key: str) -> bytes:
    """RFC 8785 §3.2.3: members sort by UTF-16 code units, not by code points.

    The two orders differ only for characters above U+FFFF (surrogate pairs, 0xD800..0xDBFF) versus
    U+E000..U+FFFF; big-endian UTF-16 bytes compare exactly like the code unit sequence.
    `surrogatepass` lets a lone surrogate sort; it is refused later, when encoding to UTF-8.
    """
    return key.encode("utf-16-be", "surrogatepass")


def _format_int(value: int) -> str:
    if -SAFE_INTEGER_MAX <= value <= SAFE_INTEGER_MAX:
        return int.__repr__(value)  # not str(): an IntEnum member may print its name
    try:
        as_double = float(value)
    except OverflowError as exc:
        raise CanonicalizationError(f"integer {value} is outside the IEEE 754 range") from exc
    if int(as_double) != value:
        raise CanonicalizationError(
            f"integer {value} is not exactly representable as an IEEE 754 double; "
            "send it as a string"
        )
    return format_number(as_double)


def format_number(value: float) -> str:
    """ECMAScript Number::toString (ECMA-262 §7.1.12.1), as RFC 8785 §3.2.2.3 requires.

    Python's `repr` already yields the shortest digit string that reads back as the same double,
    choosing the closest when several qualify, which is what ECMAScript asks for; only the layout
    of those digits (where the point goes, when to switch to an exponent) differs.
    """
    if value != value or value in (float("inf"), float("-inf")):
        raise CanonicalizationError(f"{value!r} has no JSON representation")
    if value == 0:
        return "0"  # both +0 and -0
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(abs(value))
    return sign + _layout(digits, point)


def _shortest_digits(value: float) -> tuple[str, int]:
    """(digits, n) with value = 0.digits * 10**n, digits without leading or trailing zeros."""
    mantissa, _, exponent_text = float.__repr__(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    raw = whole + fraction
    stripped = raw.lstrip("0")
    point = len(whole) - (len(raw) - len(stripped)) + (int(exponent_text) if exponent_text else 0)
    return stripped.rstrip("0"), point


def _layout(digits: str, n: int) -> str:
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    exponent = n - 1
    exponent_text = f"e+{exponent}" if exponent >= 0 else f"e-{-exponent}"
    if k == 1:
        return digits + exponent_text
    return digits[0] + "." + digits[1:] + exponent_text


def parse_json(data: bytes | str, *, integers_only: bool = False) -> Any:
    """Strict I-JSON reader for untrusted input: UTF-8 only, no duplicate member names, no
    NaN/Infinity. Raises `JsonParseError`. (An escaped lone surrogate such as "\\ud800" parses,
    and is refused by `canonicalize`, which every signed payload goes through.)
    `integers_only` applies the message profile: any other number raises `NumberNotAllowedError`.

    Python's `json.loads` alone would accept UTF-16 input, NaN and duplicate members (keeping the
    last), each of which lets two readers of the same signed bytes see different documents.
    """
    decoder = _INTEGERS_ONLY_DECODER if integers_only else _STRICT_DECODER
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = decoder.decode(text)
    except JsonParseError:
        raise
    except (ValueError, RecursionError) as exc:
        raise JsonParseError(str(exc)) from exc
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonParseError(f"duplicate member name {key!r}")
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise JsonParseError(f"{name} is not JSON")


def _reject_fraction(text: str) -> Any:
    raise NumberNotAllowedError(f"number {text} is not an integer; send it as a string")


def _ijson_int(text: str) -> int:
    value = int(text)
    if -IJSON_INTEGER_MAX <= value <= IJSON_INTEGER_MAX:
        return value
    raise NumberNotAllowedError(f"integer {text} is beyond +-(2**53 - 1); send it as a string")


# Built once: `json.loads`/`json.dumps` with options construct a new codec on every call.
_STRICT_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_members, parse_constant=_reject_constant
)
_INTEGERS_ONLY_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_members,
    parse_constant=_reject_constant,
    parse_float=_reject_fraction,
    parse_int=_ijson_int,
)
_SORTED_COMPACT = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
)
