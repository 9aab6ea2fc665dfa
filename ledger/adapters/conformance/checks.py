"""The checks a declaration file must pass for its fund, streamed chunk by chunk.

1. parse — every record reads (encoding, lengths, digits, dates), with a header first;
2. member numbers — each is valid for the fund (check digits, formats);
3. months and worker facts — the month is one the fund's schemes existed in; the facts the rules
   need (zone, regime, ...) are present and valid;
4. amounts — every declared employee / employer amount equals the fund's rules for the wage;
5. header totals — the header's count and sums equal the rows';
6. round trip — rendering the parsed rows and parsing them again gives the same rows.

Nothing here touches the database: registration of workers and idempotent booking are the
import pipeline's (and its tests').
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from ledger.adapters.base import FundAdapter
from ledger.adapters.declarations import DeclarationChecker
from ledger.adapters.formats import Codec, DeclaredHeader, DeclaredRow, RowError, Totals, reconcile

CHUNK_ROWS = 20_000
FINDINGS_KEPT = 200  # per check; all are counted

PARSE = "parse"
MEMBER_NUMBERS = "member numbers"
MONTHS_AND_FACTS = "months and worker facts"
AMOUNTS = "amounts match the rules"
HEADER_TOTALS = "header totals"
ROUND_TRIP = "round trip"
CHECKS = (PARSE, MEMBER_NUMBERS, MONTHS_AND_FACTS, AMOUNTS, HEADER_TOTALS, ROUND_TRIP)
_AMOUNT_FIELDS = {"employee_contribution", "employer_contribution"}


@dataclass(slots=True)
class CheckResult:
    name: str
    findings: list[RowError] = field(default_factory=list)
    total: int = 0  # findings, including those not kept
    note: str = ""  # why a check could not run (e.g. no header)

    @property
    def passed(self) -> bool:
        return self.total == 0 and not self.note

    def add(self, finding: RowError) -> None:
        self.total += 1
        if len(self.findings) < FINDINGS_KEPT:
            self.findings.append(finding)


@dataclass(slots=True)
class FileCheck:
    fund: str
    format: str
    rows: int = 0
    results: dict[str, CheckResult] = field(
        default_factory=lambda: {name: CheckResult(name) for name in CHECKS})

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results.values())

    def lines_failing(self, name: str) -> set[int]:
        return {f.line for f in self.results[name].findings}


def check_file(adapter: FundAdapter, codec: Codec, lines: Iterable[bytes]) -> FileCheck:
    """Run every check over a file's lines (bytes with their line ends), streaming."""
    out = FileCheck(adapter.FUND_CODE, codec.name)
    parsed = codec.parse(iter(lines))
    header = _header(next(parsed, None), parsed, out)
    if header is None:
        for name in CHECKS[1:]:
            out.results[name].note = "not run: the file has no readable header"
        return out
    checker = DeclarationChecker(adapter, header)
    totals = Totals()
    employer_per_row = False
    chunk: list[DeclaredRow] = []
    for item in parsed:
        if isinstance(item, RowError):
            out.rows += 1
            out.results[PARSE].add(item)
        elif isinstance(item, DeclaredRow):
            out.rows += 1
            totals.add(item)
            employer_per_row = employer_per_row or item.employer_minor is not None
            chunk.append(item)
            if len(chunk) >= CHUNK_ROWS:
                _check_chunk(checker, codec, header, chunk, out)
                chunk = []
    if chunk:
        _check_chunk(checker, codec, header, chunk, out)
    if out.rows == 0:
        out.results[PARSE].add(RowError(0, "file", "has a header but no rows"))
    for mismatch in reconcile(header, totals, employer_per_row):
        out.results[HEADER_TOTALS].add(mismatch)
    return out


def _header(first: object, rest: Iterator[object], out: FileCheck) -> DeclaredHeader | None:
    if isinstance(first, DeclaredHeader):
        return first
    if first is None:
        out.results[PARSE].add(RowError(0, "file", "is empty"))
    elif isinstance(first, RowError):
        out.results[PARSE].add(first)
        for item in rest:
            if isinstance(item, RowError):
                out.results[PARSE].add(item)
    else:
        out.results[PARSE].add(RowError(1, "header", "the file does not start with a header"))
    return None


def _check_chunk(checker: DeclarationChecker, codec: Codec, header: DeclaredHeader,
                 rows: list[DeclaredRow], out: FileCheck) -> None:
    for error in checker.check(rows).errors:
        if error.field == "member_number":
            out.results[MEMBER_NUMBERS].add(error)
        elif error.field in _AMOUNT_FIELDS:
            out.results[AMOUNTS].add(error)
        else:
            out.results[MONTHS_AND_FACTS].add(error)
    _round_trip(codec, header, rows, out.results[ROUND_TRIP])


def _round_trip(codec: Codec, header: DeclaredHeader, rows: list[DeclaredRow],
                result: CheckResult) -> None:
    try:
        rendered = codec.render(header, rows)
    except ValueError as exc:
        result.add(RowError(rows[0].line, "render", f"the rows cannot be written back: {exc}"))
        return
    again = [r for r in codec.parse(iter(rendered.splitlines(keepends=True)))
             if isinstance(r, DeclaredRow | RowError)]
    for original, reparsed in zip(rows, again, strict=False):
        if isinstance(reparsed, RowError) or replace(reparsed, line=0) != replace(original,
                                                                                   line=0):
            result.add(RowError(original.line, "record",
                                "reads differently once written back by the hub"))
    if len(again) != len(rows):
        result.add(RowError(rows[0].line, "file",
                            f"{len(rows)} rows written back read as {len(again)}"))


def describe(check: FileCheck, source: str, shown: int = 20) -> str:
    """A readable report: one line per check, then the first findings of each failed one."""
    rows = f"{check.rows:,} row" + ("" if check.rows == 1 else "s")
    lines = [f"{check.fund} {check.format} file {source}: {rows} — "
             + ("all checks passed" if check.passed else "FAILED")]
    for result in check.results.values():
        verdict = "PASS" if result.passed else ("SKIP" if result.note else "FAIL")
        findings = f"{result.total:,} finding" + ("" if result.total == 1 else "s")
        detail = result.note or ("" if result.passed else findings)
        lines.append(f"  {verdict:4}  {result.name:<24} {detail}".rstrip())
    for result in check.results.values():
        for finding in result.findings[:shown]:
            where = f"line {finding.line}" if finding.line else "file"
            lines.append(f"    {result.name}: {where}: {finding.field}: {finding.reason}")
        hidden = result.total - min(shown, len(result.findings))
        if hidden > 0:
            lines.append(f"    {result.name}: … and {hidden:,} more")
    return "\n".join(lines)
