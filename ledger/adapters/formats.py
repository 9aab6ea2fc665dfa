"""What every native-file codec produces and consumes, whatever the fund.

A codec parses a fund's declaration file as a stream: a header (what the file claims: period,
employer, counts, totals) and one `DeclaredRow` per worker, or a `RowError` naming the line, the
field and the reason. Parsing never stops at the first bad row, and never holds the whole file:
constant memory on a million-row file. `reconcile` checks the header's totals against the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ledger.domain.money import Currency
from ledger.domain.periods import Month


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # 1-based line (or row) number in the file; 0 for the file as a whole
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class DeclaredRow:
    """One worker's line: who, the month, the wage, and the amounts the employer declared."""

    line: int
    member_number: str  # as written in the file (a Thai national ID, a basic pension number...)
    month: Month
    wage_minor: int
    employee_minor: int | None  # the worker's share as declared; None: the fund's rules compute it
    employer_minor: int | None = None  # when the file carries it per row
    first_name: str = ""
    last_name: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # fund-specific fields, kept verbatim


@dataclass(frozen=True, slots=True)
class DeclaredHeader:
    employer_account: str
    branch: str
    month: Month
    currency: Currency
    employee_count: int
    total_wages_minor: int
    total_employee_minor: int
    total_employer_minor: int
    rate_basis_points: int | None = None
    employer_name: str = ""
    has_totals: bool = True  # False for files that declare no counts or sums (e.g. SHFD0006)
    preamble: tuple[tuple[str, ...], ...] = ()  # records before the rows, kept to render them


Parsed = DeclaredRow | RowError


class Codec(Protocol):
    """Parse and render one native format. `parse` yields the header first (or a RowError for
    it), then rows and errors in file order. Each fund folder's `format.py` exposes one as
    `CODEC` (found by `registry.codec`). `line_max_bytes` bounds a line, its line break
    included: a file is read a bounded line at a time, never a line of any length."""

    @property
    def name(self) -> str: ...

    @property
    def line_max_bytes(self) -> int: ...

    def parse(self, lines: Iterator[bytes]) -> Iterator[DeclaredHeader | Parsed]: ...

    def render(self, header: DeclaredHeader, rows: list[DeclaredRow]) -> bytes: ...


@dataclass(slots=True)
class Totals:
    """Running totals of accepted rows, kept while streaming (no row list needed)."""

    count: int = 0
    wages_minor: int = 0
    employee_minor: int = 0
    employer_minor: int = 0

    @classmethod
    def of(cls, rows: Iterable[object]) -> Totals:
        """Totals of the DeclaredRows among `rows` (headers and errors are skipped)."""
        totals = cls()
        for row in rows:
            if isinstance(row, DeclaredRow):
                totals.add(row)
        return totals

    def add(self, row: DeclaredRow) -> None:
        self.count += 1
        self.wages_minor += row.wage_minor
        self.employee_minor += row.employee_minor or 0
        self.employer_minor += row.employer_minor or 0


def reconcile(header: DeclaredHeader, totals: Totals, employer_per_row: bool,
              unreadable: int = 0) -> list[RowError]:
    """The header's claims against the rows' sums; each mismatch is a file-level error.

    The sums are of the rows that could be read: with `unreadable` rows left out, a mismatch
    says so, since it may be only the consequence of those rows' own errors."""
    if not header.has_totals:
        return []
    rows = "1 unreadable row" if unreadable == 1 else f"{unreadable:,} unreadable rows"
    left_out = f" (the {rows} not counted)" if unreadable else ""
    checks = [
        ("employee_count", header.employee_count, totals.count),
        ("total_wages", header.total_wages_minor, totals.wages_minor),
        ("total_employee_contributions", header.total_employee_minor, totals.employee_minor),
    ]
    if employer_per_row:
        checks.append(("total_employer_contributions", header.total_employer_minor,
                       totals.employer_minor))
    return [
        RowError(0, name, f"header says {claimed}, rows add up to {actual}{left_out}")
        for name, claimed, actual in checks
        if claimed != actual
    ]
