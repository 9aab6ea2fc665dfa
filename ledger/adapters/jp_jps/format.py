"""Japan Pension Service `SHFD0006.CSV` (届書作成プログラム format): the 算定基礎届 records.

Shift_JIS (CP932), CRLF, record types from the floppy-disk era (funds.md §1.5; field order as
in the open-source kufu/kirico generator, which JPS's own checker accepts):

    line 1  FD management: area code, office code, FD serial 001-999, created YYYYMMDD, 22223
    line 2  [kanri]
    line 3  ,<company count>                      (001)
    line 4  company: area, office code, office number, postcode 3 + 4, address, name, owner, tel
    line 5  [data]
    line 6+ one data record per notification, first field the document code

Only document 2225700 (算定基礎届, the annual April-June remuneration report, 54 fields) is read
here: it sets each insured person's standard monthly remuneration from September, from which the
adapter's rules compute contributions; so rows carry a wage and no declared contribution.
Fields are kept verbatim (round trips are exact); those the hub uses are checked and read:
basic pension number or My Number, the applied year (era-coded), and the average remuneration.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator

from ledger.adapters.formats import DeclaredHeader, DeclaredRow, Parsed, RowError
from ledger.adapters.idformat import DIGITS, first_bad_position
from ledger.domain.money import Currency
from ledger.domain.periods import Month

# Cells holding identity numbers: an error says where the cell breaks its format, never what it
# holds.
IDENTITY_FIELDS = frozenset({"basic_pension_number.area", "basic_pension_number.serial",
                             "my_number"})

NAME = "shfd0006"
FILE_NAME = "SHFD0006.CSV"
ENCODING = "cp932"
FD_DOC_CODE = "22223"
ANNUAL_REPORT = "2225700"
ANNUAL_REPORT_FIELDS = 54
# Era codes of JPS forms: Meiji 1, Taisho 3, Showa 5, Heisei 7, Reiwa 9 (Reiwa's code follows
# the pattern and is unverified); value = first Gregorian year of the era minus one.
ERA_BASE = {"1": 1867, "3": 1911, "5": 1925, "7": 1988, "9": 2018}
APPLIED_MONTH = 9  # the annual report applies from September

# Positions in the 2225700 record (0-based).
F_OFFICE = 3
F_IP_CODE = 4
F_NAME_KANA = 5
F_NAME = 6
F_APPLIED_ERA = 9
F_APPLIED_YEAR = 10
F_APPLIED_MONTH = 11
F_AVERAGE = 37
F_ADJUSTED_AVERAGE = 38
F_MY_NUMBER = 39
F_BPN_AREA = 40
F_BPN_SERIAL = 41


class _FieldError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _cells(raw: bytes) -> list[str]:
    try:
        text = raw.decode(ENCODING)
    except UnicodeDecodeError as exc:
        raise _FieldError("line", f"is not Shift_JIS (byte {exc.start + 1})") from None
    try:
        return next(csv.reader([text.rstrip("\r\n")]))
    except csv.Error as exc:  # a bare carriage return inside the line, a field past the limit
        raise _FieldError("line", f"is not a CSV line ({exc})") from None


def _digits(value: str, field: str, width: int | None = None) -> int:
    if not value.isascii() or not value.isdigit() or (width and len(value) != width):
        size = f"{width} digits" if width else "digits"
        shown = (first_bad_position(value, DIGITS) if field in IDENTITY_FIELDS
                 else f"got {value!r}")
        raise _FieldError(field, f"must be {size}, {shown}")
    return int(value)


def _member_number(cells: list[str]) -> str:
    area, serial, my_number = cells[F_BPN_AREA], cells[F_BPN_SERIAL], cells[F_MY_NUMBER]
    if area or serial:
        _digits(area, "basic_pension_number.area", 4)
        _digits(serial, "basic_pension_number.serial", 6)
        return f"{area}-{serial}"
    if my_number:
        _digits(my_number, "my_number", 12)
        return my_number
    raise _FieldError("basic_pension_number", "neither a basic pension number nor a My Number")


def _applied_month(cells: list[str]) -> Month:
    era = cells[F_APPLIED_ERA]
    if era not in ERA_BASE:
        raise _FieldError("applied_era", f"era code {era!r} is not one of {', '.join(ERA_BASE)}")
    year = ERA_BASE[era] + _digits(cells[F_APPLIED_YEAR], "applied_year", 2)
    month = _digits(cells[F_APPLIED_MONTH], "applied_month", 2)
    if month != APPLIED_MONTH:
        raise _FieldError("applied_month", f"the annual report applies from 09, not {month:02d}")
    return Month(year, month)


def _data_record(cells: list[str], line: int) -> DeclaredRow:
    if cells[0] != ANNUAL_REPORT:
        raise _FieldError("document_code",
                          f"{cells[0]!r}: only {ANNUAL_REPORT} (算定基礎届) is read")
    if len(cells) != ANNUAL_REPORT_FIELDS:
        raise _FieldError("line", f"has {len(cells)} fields, {ANNUAL_REPORT} has "
                           f"{ANNUAL_REPORT_FIELDS}")
    average = cells[F_ADJUSTED_AVERAGE] or cells[F_AVERAGE]
    return DeclaredRow(
        line=line,
        member_number=_member_number(cells),
        month=_applied_month(cells),
        wage_minor=_digits(average, "average_remuneration", 7),  # yen: JPY has no minor unit
        employee_minor=None,  # contributions follow from the grade: the adapter's rules
        last_name=cells[F_NAME],
        first_name=cells[F_NAME_KANA],
        extra={f"f{i:02d}": value for i, value in enumerate(cells)},
    )


def parse(lines: Iterator[bytes]) -> Iterator[DeclaredHeader | Parsed]:
    """Preamble (5 lines) into a header, then a row or an error per data record."""
    preamble: list[list[str]] = []
    for number, raw in enumerate(lines, start=1):
        try:
            if not raw.strip():
                continue
            cells = _cells(raw)
            if len(preamble) < 5:
                preamble.append(cells)
                if len(preamble) == 5:
                    yield _header(preamble)
                continue
            yield _data_record(cells, number)
        except _FieldError as exc:
            yield RowError(number, exc.field, exc.reason)
            if len(preamble) < 5 or (len(preamble) == 5 and number <= 5):
                return


def _header(preamble: list[list[str]]) -> DeclaredHeader:
    fd, kanri, _count, company, data = preamble
    if len(fd) != 5 or fd[4] != FD_DOC_CODE:
        raise _FieldError("fd_management", f"line 1 must end with {FD_DOC_CODE}")
    if kanri != ["[kanri]"] or data != ["[data]"]:
        raise _FieldError("identifiers", "lines 2 and 5 must be [kanri] and [data]")
    if len(company) != 9:
        raise _FieldError("company", f"the company record has 9 fields, got {len(company)}")
    created = _digits(fd[3], "created_at", 8)
    return DeclaredHeader(
        employer_account=f"{company[0]}-{company[1]}-{company[2]}", branch=fd[2],
        month=Month(created // 10000, created // 100 % 100), currency=Currency.JPY,
        employee_count=0, total_wages_minor=0, total_employee_minor=0, total_employer_minor=0,
        employer_name=company[6], has_totals=False,
        preamble=tuple(tuple(cells) for cells in preamble),
    )


def render(preamble: list[list[str]], rows: list[DeclaredRow]) -> bytes:
    """Write the five preamble lines and one 2225700 record per row: the fields the hub reads
    (member number, applied month, average remuneration, names) from the row, every other field
    as parsed (kept in `extra`). Raises ValueError if a value does not fit its field."""
    lines = [",".join(cells) for cells in preamble]
    lines.extend(",".join(_record_cells(row)) for row in rows)
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING)


def _record_cells(row: DeclaredRow) -> list[str]:
    cells = [row.extra.get(f"f{i:02d}", "") for i in range(ANNUAL_REPORT_FIELDS)]
    cells[0] = cells[0] or ANNUAL_REPORT
    cells[F_NAME], cells[F_NAME_KANA] = row.last_name, row.first_name
    # A field is rewritten only when the row differs from what it reads as, so an unchanged
    # row renders byte for byte as it was parsed (zero padding, which of the two averages).
    if _reads(_member_number, cells) != row.member_number:
        _write_member_number(cells, row.member_number)
    if _reads(_applied_month, cells) != row.month:
        _write_applied_month(cells, row.month)
    average = F_ADJUSTED_AVERAGE if cells[F_ADJUSTED_AVERAGE] else F_AVERAGE
    if cells[average] != f"{row.wage_minor:07d}" or not cells[average].isdigit():
        if not 0 <= row.wage_minor <= 9_999_999:
            raise ValueError(f"average remuneration {row.wage_minor} does not fit 7 digits")
        cells[average] = f"{row.wage_minor:07d}"
    return cells


def _reads(read: Callable[[list[str]], object], cells: list[str]) -> object:
    try:
        return read(cells)
    except _FieldError:
        return None


def _write_member_number(cells: list[str], number: str) -> None:
    if "-" not in number and len(number) == 12:
        cells[F_MY_NUMBER], cells[F_BPN_AREA], cells[F_BPN_SERIAL] = number, "", ""
        return
    area, _, serial = number.partition("-") if "-" in number else (number[:4], "", number[4:])
    cells[F_BPN_AREA], cells[F_BPN_SERIAL] = area, serial


def _write_applied_month(cells: list[str], month: Month) -> None:
    era, base = max(((e, b) for e, b in ERA_BASE.items() if b < month.year),
                    key=lambda eb: eb[1], default=(None, 0))
    if era is None:
        raise ValueError(f"{month} is before the Meiji era")
    cells[F_APPLIED_ERA] = era
    cells[F_APPLIED_YEAR] = f"{month.year - base:02d}"
    cells[F_APPLIED_MONTH] = f"{month.month:02d}"


class _Shfd0006:
    name = NAME
    line_max_bytes = 4096  # a record is a few dozen short fields (names in Shift_JIS)

    def parse(self, lines: Iterator[bytes]) -> Iterator[DeclaredHeader | Parsed]:
        return parse(lines)

    def render(self, header: DeclaredHeader, rows: list[DeclaredRow]) -> bytes:
        if not header.preamble:
            raise ValueError("an SHFD0006 header needs its five preamble records to render")
        return render([list(cells) for cells in header.preamble], rows)


CODEC = _Shfd0006()
