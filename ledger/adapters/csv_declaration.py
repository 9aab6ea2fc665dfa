"""The CLMTV monthly declaration CSV: our documented layout for funds with no public e-filing
format (Cambodia NSSF, Myanmar SSB) and the base of the Vietnamese D02-style list.

UTF-8 (a BOM is accepted), comma-separated, RFC 4180 quoting, one file per employer and month:

    line 1   HEADER,<fund>,<employer id>,<branch>,<YYYY-MM>,<currency>,<rows>,<total wages>,
             <total employee share>,<total employer share>
    line 2   the column names of the fund's layout, exactly (see `Layout.columns`)
    line 3+  one worker per line

Amounts are integer minor units of the fund's currency (riel and kyat have two decimals, dong
none), never decimals, so that no rounding is hidden in a file. Parsing streams line by line
and reports every bad line with its field; the header's totals are checked by `reconcile`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from ledger.adapters.formats import DeclaredHeader, DeclaredRow, Parsed, RowError
from ledger.domain.errors import DomainError
from ledger.domain.money import Currency
from ledger.domain.periods import Month

HEADER_TAG = "HEADER"
BASE_COLUMNS = ("member_number", "last_name", "first_name", "wage_minor", "employee_minor",
                "employer_minor")


@dataclass(frozen=True, slots=True)
class Layout:
    """A fund's variant: its code, currency, and the extra columns it carries per worker."""

    fund: str
    currency: Currency
    extra_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return BASE_COLUMNS + self.extra_columns


class _LineError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _amount(value: str, field: str) -> int:
    if value[:1] == "-" and value[1:].isascii() and value[1:].isdigit():
        raise _LineError(field, f"must be positive (a whole number of minor units, zero or "
                                f"more), got {value!r}")
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise _LineError(field, f"must be a whole number of minor units, got {value!r}")
    return int(value)


def _decode(raw: bytes, number: int) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _LineError("line", f"is not UTF-8 (byte {exc.start + 1})") from None
    return text.removeprefix("\ufeff") if number == 1 else text


def _header(cells: list[str], layout: Layout) -> DeclaredHeader:
    if len(cells) != 10 or cells[0] != HEADER_TAG:
        raise _LineError("header", f"must be {HEADER_TAG} and 9 fields, got {len(cells)} fields")
    if cells[1] != layout.fund:
        raise _LineError("fund", f"file is for {cells[1]!r}, this layout is {layout.fund}")
    try:
        month = Month.parse(cells[4], "period")
        currency = Currency.parse(cells[5])
    except DomainError as exc:
        raise _LineError(exc.field or "period", exc.message) from None
    if currency is not layout.currency:
        raise _LineError("currency", f"{layout.fund} declares in {layout.currency}")
    if not cells[2].strip():
        raise _LineError("employer_id", "is empty")
    return DeclaredHeader(
        employer_account=cells[2], branch=cells[3], month=month, currency=currency,
        employee_count=_amount(cells[6], "rows"),
        total_wages_minor=_amount(cells[7], "total_wages"),
        total_employee_minor=_amount(cells[8], "total_employee"),
        total_employer_minor=_amount(cells[9], "total_employer"),
    )


def _row(cells: list[str], layout: Layout, number: int, month: Month) -> DeclaredRow:
    if len(cells) != len(layout.columns):
        raise _LineError("line", f"has {len(cells)} fields, the layout has {len(layout.columns)}")
    values = dict(zip(layout.columns, cells, strict=True))
    if not values["member_number"].strip():
        raise _LineError("member_number", "is empty")
    return DeclaredRow(
        line=number, member_number=values["member_number"].strip(), month=month,
        wage_minor=_amount(values["wage_minor"], "wage_minor"),
        employee_minor=_amount(values["employee_minor"], "employee_minor"),
        employer_minor=_amount(values["employer_minor"], "employer_minor"),
        first_name=values["first_name"], last_name=values["last_name"],
        extra={name: values[name] for name in layout.extra_columns},
    )


def parse(lines: Iterator[bytes], layout: Layout) -> Iterator[DeclaredHeader | Parsed]:
    """Header, then a row or an error per worker line. A bad header or column line ends it."""
    month: Month | None = None
    columns_seen = False
    for number, raw in enumerate(lines, start=1):
        try:
            text = _decode(raw, number)
            if not text.strip():
                continue
            cells = next(csv.reader([text]))
            if month is None:
                header = _header(cells, layout)
                month = header.month
                yield header
            elif not columns_seen:
                if tuple(cells) != layout.columns:
                    raise _LineError("columns", "must be exactly: " + ",".join(layout.columns))
                columns_seen = True
            else:
                yield _row(cells, layout, number, month)
        except (_LineError, csv.Error) as exc:
            field = exc.field if isinstance(exc, _LineError) else "line"
            reason = exc.reason if isinstance(exc, _LineError) else f"bad CSV: {exc}"
            yield RowError(number, field, reason)
            if month is None or not columns_seen:
                return


def render(header: DeclaredHeader, rows: list[DeclaredRow], layout: Layout) -> bytes:
    """UTF-8 CSV with CRLF (RFC 4180) in the layout's column order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([
        HEADER_TAG, layout.fund, header.employer_account, header.branch, str(header.month),
        header.currency.value, header.employee_count, header.total_wages_minor,
        header.total_employee_minor, header.total_employer_minor,
    ])
    writer.writerow(layout.columns)
    for row in rows:
        writer.writerow([
            row.member_number, row.last_name, row.first_name, row.wage_minor,
            row.employee_minor or 0, row.employer_minor or 0,
            *(row.extra.get(name, "") for name in layout.extra_columns),
        ])
    return out.getvalue().encode("utf-8")


# The layouts. Extra columns carry what each fund's rules need beyond the wage.
KH_NSSF = Layout("KH-NSSF", Currency.KHR)
MM_SSB = Layout("MM-SSB", Currency.MMK, ("registered_at_60_or_over",))
VN_VSS = Layout(
    "VN-VSS", Currency.VND,
    # D02-TS columns (funds.md §1.3): plan code (TM new hire, ON return, GH decrease ...),
    # minimum-wage zone 01-04, and the regime (employee / foreign / abroad).
    ("plan_code", "zone", "regime", "date_of_birth", "gender", "nationality"),
)


class LayoutCodec:
    """The CLMTV declaration CSV for one fund's layout, as a `Codec`."""

    # A row is a dozen fields; names in Khmer, Lao or Burmese take 3 bytes a character.
    line_max_bytes = 8192

    def __init__(self, layout: Layout, name: str) -> None:
        self.layout = layout
        self.name = name

    def parse(self, lines: Iterator[bytes]) -> Iterator[DeclaredHeader | Parsed]:
        return parse(lines, self.layout)

    def render(self, header: DeclaredHeader, rows: list[DeclaredRow]) -> bytes:
        return render(header, rows, self.layout)
