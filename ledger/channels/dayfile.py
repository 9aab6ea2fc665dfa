"""The channel day file: one CSV per channel and business day, parsed and rendered.

The format (docs/channels.md): UTF-8, comma-separated, one header line, then one line per event
the channel recorded on that day (its own business day, by the `paid_at` of the hub's receipt):

    channel_ref,kind,worker_id,fund,scheme,amount_minor,currency,fee_minor,contribution_minor,contribution_currency
    mw-000001,payment,wkr_demo0003,VN-VSS,voluntary-si,94300,THB,2800,660000,VND

`kind` is `payment`, `reversal` or `refund`; amounts are integer minor units. For a payment,
`amount` is what the worker paid (principal and fee) and `fee` the channel's fee; for a reversal
what went back to the worker (fee included); for a refund the principal returned (`fee` 0).
`contribution` is the worker's part credited at the home fund (or taken back).

`parse_day_file` checks every line and raises `day_file_rejected` listing every bad one (line
number, field, reason); a file with any bad line is refused whole.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS
from ledger.domain.ids import check_worker_id
from ledger.domain.money import Currency, Money, parse_amount_minor

HEADER = ("channel_ref", "kind", "worker_id", "fund", "scheme", "amount_minor", "currency",
          "fee_minor", "contribution_minor", "contribution_currency")
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,47}$"
_REF = re.compile(REF_PATTERN)
DAY_FILE_LINES_MAX = 1_000_000


class EventKind(StrEnum):
    PAYMENT = "payment"
    REVERSAL = "reversal"  # the channel's mistake: everything back, fee included
    REFUND = "refund"  # the worker's money back: the principal, the channel keeps its fee


@dataclass(frozen=True, slots=True)
class DayEntry:
    """One event, as the channel's file states it or as the hub's ledger holds it."""

    channel_ref: str
    kind: EventKind
    worker_id: str
    fund: str
    scheme: str
    amount: Money
    fee: Money
    contribution: Money
    line: int | None = None  # in the file (1 = the header)

    @property
    def key(self) -> tuple[str, EventKind]:
        return (self.channel_ref, self.kind)

    def row(self) -> list[str]:
        return [self.channel_ref, self.kind.value, self.worker_id, self.fund, self.scheme,
                str(self.amount.amount_minor), self.amount.currency.value,
                str(self.fee.amount_minor), str(self.contribution.amount_minor),
                self.contribution.currency.value]


def check_ref(value: object, field: str = "channel_ref") -> str:
    if not isinstance(value, str) or not _REF.match(value):
        raise DomainError(ErrorCode.INVALID_ID,
                          f"{field} must be 1-48 characters A-Z a-z 0-9 . _ : - "
                          f"(starting with a letter or digit), got {value!r}", field=field)
    return value


def render_day_file(entries: list[DayEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for entry in entries:
        writer.writerow(entry.row())
    return out.getvalue()


def parse_day_file(data: bytes) -> list[DayEntry]:
    """Every line checked; any bad line rejects the file with every problem listed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _rejected([_problem(None, "file", f"not UTF-8 (byte {exc.start})")]) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:  # a field past the csv module's limit, a NUL: junk, not a 500
        raise _rejected([_problem(None, "file", f"not a CSV file ({exc})")]) from None
    if not rows or tuple(rows[0]) != HEADER:
        raise _rejected([_problem(1, "header", "the first line must be: " + ",".join(HEADER))])
    if len(rows) - 1 > DAY_FILE_LINES_MAX:
        raise _rejected([_problem(None, "file", f"more than {DAY_FILE_LINES_MAX} lines")])
    entries: list[DayEntry] = []
    problems: list[dict[str, Any]] = []
    seen: dict[tuple[str, EventKind], int] = {}
    for number, row in enumerate(rows[1:], start=2):
        try:
            entry = _entry(number, row)
        except DomainError as exc:
            problems.append(_problem(number, exc.field or "line", exc.message))
            continue
        earlier = seen.get(entry.key)
        if earlier is not None:
            problems.append(_problem(number, "channel_ref",
                                     f"{entry.kind} {entry.channel_ref} is already on line "
                                     f"{earlier}"))
            continue
        seen[entry.key] = number
        entries.append(entry)
    if problems:
        raise _rejected(problems)
    return entries


def _entry(number: int, row: list[str]) -> DayEntry:
    if len(row) != len(HEADER):
        raise DomainError(ErrorCode.INVALID_INPUT,
                          f"{len(row)} fields, expected {len(HEADER)}", field="line")
    values = dict(zip(HEADER, (v.strip() for v in row), strict=True))
    ref = check_ref(values["channel_ref"])
    try:
        kind = EventKind(values["kind"])
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT,
                          f"kind must be one of {', '.join(k.value for k in EventKind)}",
                          field="kind") from None
    worker = check_worker_id(values["worker_id"], "worker_id")
    fund = values["fund"]
    if fund not in FUNDS:
        raise DomainError(ErrorCode.UNKNOWN_FUND, f"unknown fund {fund!r}", field="fund")
    scheme = FUNDS[fund].scheme(values["scheme"]).code
    amount = _money(values, "amount_minor", "currency", positive=True)
    fee = _money(values, "fee_minor", "currency", positive=False)
    contribution = _money(values, "contribution_minor", "contribution_currency", positive=True)
    return DayEntry(ref, kind, worker, fund, scheme, amount, fee, contribution, number)


def _money(values: dict[str, str], amount: str, currency: str, positive: bool) -> Money:
    minor = parse_amount_minor(values[amount], amount)
    if minor < 0 or (positive and minor == 0):
        raise DomainError(ErrorCode.INVALID_AMOUNT,
                          f"{amount} must be {'positive' if positive else 'zero or more'}",
                          field=amount)
    return Money(minor, Currency.parse(values[currency], currency))


def _problem(line: int | None, field: str, message: str) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field, "message": message}
    if line is not None:
        out["line"] = line
    return out


def _rejected(problems: list[dict[str, Any]]) -> DomainError:
    first = problems[0]
    where = f"line {first['line']}: " if "line" in first else ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return DomainError(ErrorCode.DAY_FILE_REJECTED,
                       f"day file rejected, nothing recorded: {where}{first['field']}: "
                       f"{first['message']}{more}", field=first["field"],
                       details={"errors": problems})
