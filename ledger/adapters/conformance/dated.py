"""Dated rule changes: the amounts check applies the rules of the file's month, not today's.

For every month in which one of the fund's parameters changes (a Thai ceiling step, a
Vietnamese base-salary rise, a new fiscal year's premium...), a good file's rows are re-priced
by the rules of that month and of the month before. Dated at the change, the re-priced file must
pass; dated one month earlier, the amounts check must refuse exactly the rows whose amounts the
change moved, and no others. Which amounts are right is the rules' own tests' business
(`tests/adapters/test_rules_*.py`, worked by hand); this says the checks follow the dates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ledger.adapters.base import FundAdapter
from ledger.adapters.conformance import checks
from ledger.adapters.conformance.malformed import Sample
from ledger.adapters.formats import Codec, DeclaredHeader, DeclaredRow, Totals
from ledger.domain.errors import DomainError
from ledger.domain.funds import Payer
from ledger.domain.money import Money
from ledger.domain.periods import Month


@dataclass(frozen=True, slots=True)
class Change:
    """One parameter change month and what it did to a file's rows."""

    month: Month
    moved: frozenset[int]  # lines whose declared amounts differ between the two months
    problems: tuple[str, ...]  # empty when the checks followed the dates


def change_months(adapter: FundAdapter) -> list[Month]:
    """Every month in which some parameter takes a new value (not its first)."""
    params = adapter.parameters
    keys = params.keys()  # a tuple: Parameters is not a mapping
    return sorted({e.starts for key in keys for e in params.history(key)[1:]})


def check_changes(adapter: FundAdapter, codec: Codec, data: bytes) -> list[Change]:
    """One `Change` per change month at which some of the file's rows can be priced on both
    sides. A format whose rows declare no amounts has nothing to check (an empty list)."""
    sample = Sample.of(codec, data)
    if all(r.employee_minor is None and r.employer_minor is None for r in sample.rows):
        return []
    out = []
    for month in change_months(adapter):
        before, after = _priced(adapter, sample, month.plus(-1)), _priced(adapter, sample, month)
        # Rows the rules cannot price on both sides (a scheme or a parameter they need is not
        # in force yet) are left out of this change's file.
        both = [(b, a) for b, a in zip(before, after, strict=True)
                if b is not None and a is not None]
        if not both:
            continue
        moved = frozenset(b.line for b, a in both if (b.employee_minor, b.employer_minor)
                          != (a.employee_minor, a.employer_minor))
        rows = [a for _, a in both]
        out.append(Change(month, moved,
                          tuple(_problems(adapter, codec, sample, month, rows, moved))))
    return out


def _problems(adapter: FundAdapter, codec: Codec, sample: Sample, month: Month,
              rows: list[DeclaredRow], moved: frozenset[int]) -> list[str]:
    problems = []
    on_time, _ = _check(adapter, codec, sample.header, month, rows)
    if not on_time.passed:
        problems.append(f"rows priced for {month} and dated {month} were refused:\n"
                        + checks.describe(on_time, str(month)))
    early, lines = _check(adapter, codec, sample.header, month.plus(-1), rows)
    # Findings name lines of the rendered file; map them back to the sample's lines.
    failing = early.lines_failing(checks.AMOUNTS)
    refused_sample = {row.line for line, row in zip(lines, rows, strict=True) if line in failing}
    if refused_sample != moved:
        problems.append(f"rows priced for {month} but dated {month.plus(-1)}: expected the "
                        f"amounts check to refuse sample lines {sorted(moved)}, it refused "
                        f"{sorted(refused_sample)}")
    return problems


def _priced(adapter: FundAdapter, sample: Sample, month: Month) -> list[DeclaredRow | None]:
    """Each row as the rules of `month` would have it declared (amounts the file leaves to the
    rules stay undeclared), or None where the row cannot be priced at `month`."""
    return [_priced_row(adapter, row, month) for row in sample.rows]


def _priced_row(adapter: FundAdapter, row: DeclaredRow, month: Month) -> DeclaredRow | None:
    try:
        quotes = adapter.declaration(adapter.context_from_fields(row.extra), month,
                                     Money(row.wage_minor, adapter.currency))
    except DomainError:
        return None
    if not quotes:
        return None
    employee = sum(q.share(Payer.EMPLOYEE).amount_minor for q in quotes)
    employer = sum(q.share(Payer.EMPLOYER).amount_minor for q in quotes)
    return replace(row, month=month,
                   employee_minor=None if row.employee_minor is None else employee,
                   employer_minor=None if row.employer_minor is None else employer)


def _check(adapter: FundAdapter, codec: Codec, header: DeclaredHeader, month: Month,
           rows: list[DeclaredRow]) -> tuple[checks.FileCheck, list[int]]:
    """The checks on `rows` written as a file dated `month` with matching totals, and the
    line each row landed on."""
    totals = Totals.of(rows)
    per_row = any(r.employer_minor is not None for r in rows)
    dated = replace(header, month=month, employee_count=totals.count,
                    total_wages_minor=totals.wages_minor,
                    total_employee_minor=totals.employee_minor,
                    total_employer_minor=totals.employer_minor if per_row
                    else header.total_employer_minor)
    data = codec.render(dated, [replace(r, month=month) for r in rows])
    lines = [r.line for r in codec.parse(iter(data.splitlines(keepends=True)))
             if isinstance(r, DeclaredRow)]
    return checks.check_file(adapter, codec, data.splitlines(keepends=True)), lines
