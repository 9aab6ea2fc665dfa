"""Thai SSO monthly return สปส.1-10 as the e-Service upload text file: parse and render.

Layout (funds.md §1.4, reverse-engineered from one third-party exporter; unverified against the
SSO e-Service specification): TIS-620, fixed width, 135 bytes a record, CRLF. Amounts are satang
with implied decimals, zero-padded; dates use two-digit Buddhist-era years (BE = CE + 543).

    header "1": type 1 | employer account 10 | branch 6 | pay date DDMMYY 6 | wage period MMYY 4
                | company name 45 | rate 4 ("0500" = 5.00%) | employee count 6 | total wages 15
                | total contributions 14 | employee contributions 12 | employer contributions 12
    detail "2": type 1 | national ID 13 | title code 3 | first name 30 | last name 35
                | wage 14 | contribution 12 | filler 27

The detail's contribution is the worker's share; the employer pays the same, so the employer
total lives only in the header. Fields are sliced as bytes: TIS-620 is one byte per character, so
byte widths are character widths, and a bad byte is reported for its own field.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from ledger.adapters.formats import DeclaredHeader, DeclaredRow, Parsed, RowError
from ledger.adapters.idformat import DIGITS, first_bad_position
from ledger.domain.money import Currency
from ledger.domain.periods import Month

NAME = "sso-1-10"
ENCODING = "tis_620"
RECORD_BYTES = 135
BE_OFFSET = 543
# Two-digit BE years are read in the 2500s: BE 2500-2599 is CE 1957-2056.
BE_CENTURY = 2500

HEADER_FIELDS: list[tuple[str, int]] = [
    ("record_type", 1), ("employer_account", 10), ("branch", 6), ("pay_date", 6),
    ("wage_period", 4), ("company_name", 45), ("rate", 4), ("employee_count", 6),
    ("total_wages", 15), ("total_contributions", 14), ("total_employee_contributions", 12),
    ("total_employer_contributions", 12),
]
DETAIL_FIELDS: list[tuple[str, int]] = [
    ("record_type", 1), ("national_id", 13), ("title_code", 3), ("first_name", 30),
    ("last_name", 35), ("wage", 14), ("contribution", 12), ("filler", 27),
]
TITLE_CODES = {"003": "Mr", "004": "Mrs", "005": "Miss"}


class FieldError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _split(record: bytes, layout: list[tuple[str, int]]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    at = 0
    for name, width in layout:
        out[name] = record[at : at + width]
        at += width
    return out


def _digits(fields: dict[str, bytes], name: str) -> int:
    raw = fields[name]
    if not raw.isdigit():
        text = raw.decode("latin-1")
        shown = (first_bad_position(text, DIGITS) if name == "national_id"
                 else f"got {text!r}")
        raise FieldError(name, f"must be {len(raw)} digits, {shown}")
    return int(raw)


def _text(fields: dict[str, bytes], name: str) -> str:
    raw = fields[name]
    if not raw.isascii() and _is_utf8(raw):
        # UTF-8 Thai (E0 B8 xx) is made of bytes TIS-620 also defines, so it would decode to
        # garbage silently; real TIS-620 Thai is almost never valid UTF-8.
        raise FieldError(name, "looks like UTF-8; the SSO file must be TIS-620")
    try:
        return raw.decode(ENCODING).rstrip(" ")
    except UnicodeDecodeError:
        raise FieldError(name, "is not TIS-620 text (wrong encoding?)") from None


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.rstrip(b" ").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _period(fields: dict[str, bytes]) -> Month:
    value = _digits(fields, "wage_period")
    month, year_be = value // 100, BE_CENTURY + value % 100
    if not 1 <= month <= 12:
        raise FieldError("wage_period", f"month {month:02d} is not 01-12")
    return Month(year_be - BE_OFFSET, month)


def _pay_date(fields: dict[str, bytes]) -> date:
    value = _digits(fields, "pay_date")
    day, month, year_be = value // 10000, value // 100 % 100, BE_CENTURY + value % 100
    try:
        return date(year_be - BE_OFFSET, month, day)
    except ValueError:
        raise FieldError("pay_date", f"{value:06d} is not a DDMMYY date") from None


def parse_header(record: bytes) -> DeclaredHeader:
    fields = _split(record, HEADER_FIELDS)
    if fields["record_type"] != b"1":
        raise FieldError("record_type", "the first record must be the header (type 1)")
    _pay_date(fields)
    employee = _digits(fields, "total_employee_contributions")
    employer = _digits(fields, "total_employer_contributions")
    if _digits(fields, "total_contributions") != employee + employer:
        raise FieldError("total_contributions",
                         "is not employee contributions + employer contributions")
    return DeclaredHeader(
        employer_account=_digits_text(fields, "employer_account"),
        branch=_digits_text(fields, "branch"),
        month=_period(fields),
        currency=Currency.THB,
        employee_count=_digits(fields, "employee_count"),
        total_wages_minor=_digits(fields, "total_wages"),
        total_employee_minor=employee,
        total_employer_minor=employer,
        rate_basis_points=_digits(fields, "rate"),
        employer_name=_text(fields, "company_name"),
    )


def _digits_text(fields: dict[str, bytes], name: str) -> str:
    _digits(fields, name)
    return fields[name].decode("ascii")


def parse_detail(record: bytes, line: int, month: Month) -> DeclaredRow:
    fields = _split(record, DETAIL_FIELDS)
    if fields["record_type"] != b"2":
        raise FieldError("record_type", "detail records are type 2")
    title = fields["title_code"].decode("latin-1")
    if title not in TITLE_CODES:
        raise FieldError("title_code", f"{title!r} is not one of {', '.join(TITLE_CODES)}")
    if fields["filler"].strip(b" "):
        raise FieldError("filler", "must be spaces")
    return DeclaredRow(
        line=line,
        member_number=_digits_text(fields, "national_id"),
        month=month,
        wage_minor=_digits(fields, "wage"),
        employee_minor=_digits(fields, "contribution"),
        first_name=_text(fields, "first_name"),
        last_name=_text(fields, "last_name"),
        extra={"title_code": title},
    )


def parse(lines: Iterator[bytes]) -> Iterator[DeclaredHeader | Parsed]:
    """Header first, then a row or an error per detail record, in order; constant memory.
    A header that cannot be read ends the file (rows need its wage period)."""
    month: Month | None = None
    for number, raw in enumerate(lines, start=1):
        record = raw.rstrip(b"\r\n")
        if not record.strip():
            continue
        if len(record) != RECORD_BYTES:
            yield RowError(number, "record", f"is {len(record)} bytes, expected {RECORD_BYTES}"
                           " (truncated, or not TIS-620: UTF-8 Thai takes 3 bytes a letter)")
            if month is None:
                return
            continue
        try:
            if month is None:
                header = parse_header(record)
                month = header.month
                yield header
            else:
                yield parse_detail(record, number, month)
        except FieldError as exc:
            yield RowError(number, exc.field, exc.reason)
            if month is None:
                return


def render(header: DeclaredHeader, rows: list[DeclaredRow], pay_date: date | None = None,
           ) -> bytes:
    """The file an employer would upload; raises ValueError if a value cannot fit its field."""
    paid = pay_date or header.month.plus(1).first_day()
    out = [_record([
        ("1", 1), (header.employer_account, 10), (header.branch, 6),
        (f"{paid.day:02d}{paid.month:02d}{(paid.year + BE_OFFSET) % 100:02d}", 6),
        (f"{header.month.month:02d}{(header.month.year + BE_OFFSET) % 100:02d}", 4),
        (header.employer_name, -45), (f"{header.rate_basis_points or 500:04d}", 4),
        (_num(header.employee_count, 6), 6), (_num(header.total_wages_minor, 15), 15),
        (_num(header.total_employee_minor + header.total_employer_minor, 14), 14),
        (_num(header.total_employee_minor, 12), 12), (_num(header.total_employer_minor, 12), 12),
    ])]
    out.extend(_record([
        ("2", 1), (row.member_number, 13), (row.extra.get("title_code", "003"), 3),
        (row.first_name, -30), (row.last_name, -35), (_num(row.wage_minor, 14), 14),
        (_num(row.employee_minor or 0, 12), 12), ("", -27),
    ]) for row in rows)
    return b"".join(out)


def _num(value: int, width: int) -> str:
    text = f"{value:0{width}d}"
    if value < 0 or len(text) > width:
        raise ValueError(f"{value} does not fit {width} digits")
    return text


def _record(fields: list[tuple[str, int]]) -> bytes:
    """Negative width = text, space-padded on the right; positive = exact width."""
    parts: list[bytes] = []
    for value, width in fields:
        encoded = value.encode(ENCODING)
        size = abs(width)
        if len(encoded) > size or (width > 0 and len(encoded) != size):
            raise ValueError(f"{value!r} does not fit a {size}-byte field")
        parts.append(encoded.ljust(size, b" "))
    record = b"".join(parts)
    assert len(record) == RECORD_BYTES
    return record + b"\r\n"


class _Sso110:
    name = NAME
    line_max_bytes = 1024  # a record is RECORD_BYTES; a longer line is refused for its length

    def parse(self, lines: Iterator[bytes]) -> Iterator[DeclaredHeader | Parsed]:
        return parse(lines)

    def render(self, header: DeclaredHeader, rows: list[DeclaredRow]) -> bytes:
        return render(header, rows)


CODEC = _Sso110()
