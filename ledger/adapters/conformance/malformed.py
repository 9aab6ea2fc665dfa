"""Broken variants of a good declaration file, and whether the checks refuse each one.

Each variant is made from a fund's own sample through its own codec (or by editing one line's
bytes), so the kit needs no per-fund knowledge: a sixth fund's folder gets the same variants.
A variant the format cannot express (a file without totals cannot have wrong ones) is
`NotApplicable`, with the reason, never a silent pass. `verify` runs `check_file` on a variant
and says what is wrong if it was not refused by the expected check on the expected line(s).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ledger.adapters.base import FundAdapter
from ledger.adapters.conformance import checks
from ledger.adapters.formats import Codec, DeclaredHeader, DeclaredRow
from ledger.domain.errors import DomainError
from ledger.domain.funds import FUNDS

WRONG_ENCODING = "wrong encoding"
TRUNCATED = "truncated record"
NON_NUMERIC = "non-numeric amount"
BAD_MEMBER_NUMBER = "bad member number"
BAD_TOTALS = "header totals that do not add up"
UNKNOWN_SCHEME = "unknown scheme"
BEFORE_SCHEMES = "month before the fund's schemes"
EMPTY = "empty file"
HEADER_ONLY = "header-only file"
KINDS = (WRONG_ENCODING, TRUNCATED, NON_NUMERIC, BAD_MEMBER_NUMBER, BAD_TOTALS, UNKNOWN_SCHEME,
         BEFORE_SCHEMES, EMPTY, HEADER_ONLY)
# Where a name's bytes are looked for: the encodings of the five funds' files.
ENCODINGS = ("tis_620", "cp932", "utf-8")
# 0x81 0xFF is invalid in TIS-620, Shift_JIS (cp932) and UTF-8 alike.
INVALID_BYTES = b"\x81\xff"


@dataclass(frozen=True, slots=True)
class Variant:
    kind: str
    data: bytes
    checks: frozenset[str]  # a check that must fail, naming every line below
    lines: frozenset[int]  # (0: the file as a whole)


@dataclass(frozen=True, slots=True)
class NotApplicable:
    kind: str
    reason: str


Made = Variant | NotApplicable
_ONLY_PARSE = frozenset({checks.PARSE})
_ONLY_HEADER_TOTALS = frozenset({checks.HEADER_TOTALS})
_ONLY_MONTHS_AND_FACTS = frozenset({checks.MONTHS_AND_FACTS})
# A number whose shape the format's own fields refuse is a parse finding (SHFD0006's 4+6
# digits); one the fund's validator refuses is a member-number finding.
_MEMBER_OR_PARSE = frozenset({checks.MEMBER_NUMBERS, checks.PARSE})


@dataclass(frozen=True, slots=True)
class Sample:
    """A good file, parsed once."""

    data: bytes
    header: DeclaredHeader
    rows: list[DeclaredRow]

    @classmethod
    def of(cls, codec: Codec, data: bytes) -> Sample:
        items = list(codec.parse(iter(data.splitlines(keepends=True))))
        header, rows = items[0] if items else None, items[1:]
        if not isinstance(header, DeclaredHeader) or not rows or not all(
                isinstance(r, DeclaredRow) for r in rows):
            raise ValueError("the sample must parse cleanly: a header and at least one row")
        return cls(data, header, [r for r in rows if isinstance(r, DeclaredRow)])


def variants(adapter: FundAdapter, codec: Codec, data: bytes) -> list[Made]:
    """Every kind of broken file, made from the good file `data`."""
    sample = Sample.of(codec, data)
    makers: list[Callable[[FundAdapter, Codec, Sample], Made]] = [
        _wrong_encoding, _truncated, _non_numeric, _bad_member_number, _bad_totals,
        _unknown_scheme, _before_schemes, _empty, _header_only,
    ]
    return [make(adapter, codec, sample) for make in makers]


def verify(adapter: FundAdapter, codec: Codec, variant: Variant) -> list[str]:
    """What is wrong with how the checks treated `variant`; empty if it was refused as expected."""
    result = checks.check_file(adapter, codec, variant.data.splitlines(keepends=True))
    problems = []
    if result.passed:
        problems.append(f"{variant.kind}: the file passed every check")
    named = set[int]().union(*(result.lines_failing(name) for name in variant.checks))
    missing = variant.lines - named
    if missing:
        problems.append(f"{variant.kind}: {' or '.join(sorted(variant.checks))} names no line "
                        f"{sorted(missing)}\n{checks.describe(result, variant.kind)}")
    return problems


def findings(adapter: FundAdapter, codec: Codec, variant: Variant) -> list[str]:
    """The failed checks' findings as `check: line N: field: reason` (for the goldens)."""
    result = checks.check_file(adapter, codec, variant.data.splitlines(keepends=True))
    return [f"{r.name}: {f}" for r in result.results.values() for f in r.findings]


# -- the variants ------------------------------------------------------------------------------
def _lines(sample: Sample) -> list[bytes]:
    return sample.data.splitlines(keepends=True)


def _ending(line: bytes) -> bytes:
    return line[len(line.rstrip(b"\r\n")):]


def _wrong_encoding(adapter: FundAdapter, codec: Codec, sample: Sample) -> Made:
    # Two bytes of a name replaced by bytes the file's encoding does not allow; the record
    # keeps its length, so fixed-width formats report the encoding, not a short record.
    lines = _lines(sample)
    for row in sample.rows:
        line = lines[row.line - 1]
        for name in (row.last_name, row.first_name):
            for encoded in _encodings_of(name):
                if len(encoded) >= 2 and encoded in line:
                    lines[row.line - 1] = line.replace(encoded, INVALID_BYTES + encoded[2:], 1)
                    return Variant(WRONG_ENCODING, b"".join(lines), _ONLY_PARSE,
                                   frozenset({row.line}))
    return NotApplicable(WRONG_ENCODING, "no row has a name to corrupt")


def _encodings_of(text: str) -> Iterable[bytes]:
    for encoding in ENCODINGS:
        try:
            yield text.encode(encoding)
        except UnicodeEncodeError:
            continue


def _truncated(adapter: FundAdapter, codec: Codec, sample: Sample) -> Made:
    # The last record cut in half, as a transfer that stopped early leaves it.
    row = sample.rows[-1]
    lines = _lines(sample)
    line = lines[row.line - 1]
    body = line.rstrip(b"\r\n")
    lines[row.line - 1] = body[: len(body) // 2] + _ending(line)
    return Variant(TRUNCATED, b"".join(lines), _ONLY_PARSE, frozenset({row.line}))


def _non_numeric(adapter: FundAdapter, codec: Codec, sample: Sample) -> Made:
    # The last digit of a declared amount replaced by a letter, where the amount's digits
    # occur exactly once on the line (so the edit is unambiguous).
    lines = _lines(sample)
    for row in sample.rows:
        line = lines[row.line - 1]
        for amount in (row.wage_minor, row.employee_minor, row.employer_minor):
            digits = str(amount).encode("ascii") if amount else b""
            if len(digits) >= 2 and line.count(digits) == 1:
                lines[row.line - 1] = line.replace(digits, digits[:-1] + b"X")
                return Variant(NON_NUMERIC, b"".join(lines), _ONLY_PARSE,
                               frozenset({row.line}))
    return NotApplicable(NON_NUMERIC, "no amount's digits occur once on a row's line")


def _bad_member_number(adapter: FundAdapter, codec: Codec, sample: Sample) -> Made:
    first = sample.rows[0]
    number = first.member_number
    last = number[-1]
    # A changed check digit first; then shapes every validator refuses.
    candidates = [number[:-1] + str((int(last) + 1) % 10) if last.isdigit() else number + "!",
                  number[:-1], number + "0", number[:1] + "--" + number[1:], number + "?"]
    bad = next((c for c in candidates if not _valid(adapter, c)), None)
    if bad is None:
        return NotApplicable(BAD_MEMBER_NUMBER, f"no invalid variant of {number} was found")
    try:
        data = codec.render(sample.header, [replace(first, member_number=bad), *sample.rows[1:]])
    except ValueError as exc:
        return NotApplicable(BAD_MEMBER_NUMBER, f"the format cannot carry {bad!r}: {exc}")
    again = next((r for r in codec.parse(iter(data.splitlines(keepends=True)))
                  if isinstance(r, DeclaredRow)), None)
    if again is not None and again.member_number == number:
        return NotApplicable(BAD_MEMBER_NUMBER,
                             "rows keep their member number in fund-specific fields")
    return Variant(BAD_MEMBER_NUMBER, data, _MEMBER_OR_PARSE, frozenset({first.line}))


def _valid(adapter: FundAdapter, number: str) -> bool:
    try:
        adapter.validate_member_number(number)
    except DomainError:
        return False
    return True


def _bad_totals(adapter: FundAdapter, codec: Codec, sample: Sample) -> Made:
    if not sample.header.has_totals:
        return NotApplicable(BAD_TOTALS, "the format declares no counts or sums")
    header = replace(sample.header, total_wages_minor=sample.header.total_wages_minor + 1)
    return Variant(BAD_TOTALS, codec.render(header, sample.rows), _ONLY_HEADER_TOTALS,
                   frozenset({0}))


def _unknown_scheme(adapter: FundAdapter, codec: Codec, sample: Sample) -> Made:
    # Rows of the five formats cover the fund's whole monthly return; a format that names a
    # scheme per row carries it in `extra["scheme"]`, checked as a worker fact.
    if not any("scheme" in row.extra for row in sample.rows):
        return NotApplicable(UNKNOWN_SCHEME, "the format names no schemes: a row covers every "
                             "scheme of the fund's monthly return")
    row = next(r for r in sample.rows if "scheme" in r.extra)
    mutated = [replace(r, extra={**r.extra, "scheme": "no-such-scheme"}) if r is row else r
               for r in sample.rows]
    return Variant(UNKNOWN_SCHEME, codec.render(sample.header, mutated), _ONLY_MONTHS_AND_FACTS,
                   frozenset({row.line}))


def _before_schemes(adapter: FundAdapter, codec: Codec, sample: Sample) -> Made:
    fund = FUNDS.get(adapter.FUND_CODE)
    if fund is None:
        return NotApplicable(BEFORE_SCHEMES, f"{adapter.FUND_CODE} is not in the domain's "
                             "fund registry, so its schemes' start months are unknown")
    first = min(fund.scheme(s).starts for s in adapter.DECLARATION_SCHEMES)
    # The latest month before it that the format can carry (SHFD0006 reports only Septembers).
    for back in range(1, 13):
        month = first.plus(-back)
        try:
            data = codec.render(replace(sample.header, month=month),
                                [replace(r, month=month) for r in sample.rows])
            reparsed = Sample.of(codec, data)
        except ValueError:
            continue
        if all(r.month == month for r in reparsed.rows):
            return Variant(BEFORE_SCHEMES, data, _ONLY_MONTHS_AND_FACTS,
                           frozenset(r.line for r in sample.rows))
    return NotApplicable(BEFORE_SCHEMES, f"the format cannot carry a month in the year before "
                         f"{first}")


def _empty(adapter: FundAdapter, codec: Codec, sample: Sample) -> Made:
    return Variant(EMPTY, b"", _ONLY_PARSE, frozenset({0}))


def _header_only(adapter: FundAdapter, codec: Codec, sample: Sample) -> Made:
    return Variant(HEADER_ONLY, codec.render(sample.header, []), _ONLY_PARSE, frozenset({0}))
