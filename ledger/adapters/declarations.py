"""Checking declared rows against the fund's rules, a chunk at a time, with numpy.

An employer's monthly return says, per worker, a wage and (usually) what was paid. Before the
hub records any of it, every row must name a valid member number, carry the worker facts the
rules need, fall in a month when the fund's schemes existed, and declare exactly what the fund's
rules give for that wage. `DeclarationChecker.check` does this for a chunk of rows (thousands at
once): rows are grouped by (month, worker facts) and each group is priced with the adapter's own
array arithmetic (`FundAdapter.quote_arrays`), the same code the simulator uses, so a million-row
file is checked at numpy speed. The result keeps each accepted row's base and shares per scheme,
which is what the import pipeline books; rejected rows become `RowError`s naming line and field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ledger.adapters.base import FundAdapter, IntArray
from ledger.adapters.context import WorkerContext
from ledger.adapters.formats import DeclaredHeader, DeclaredRow, RowError
from ledger.domain.errors import DomainError
from ledger.domain.funds import FUNDS, Payer
from ledger.domain.money import Money
from ledger.domain.periods import Month

BoolArray = npt.NDArray[np.bool_]


def amount_differs(fund: str, declared: Money, computed: Money, wage: Money, month: Month
                   ) -> str:
    """Why a declared amount is refused: the one sentence both doors give, a file's row and
    `POST /v1/contributions` (`rules_check.py`)."""
    return (f"declared {declared}, the {fund} rules give {computed} for a wage of {wage} "
            f"in {month}")


@dataclass(slots=True)
class CheckedChunk:
    """A chunk's accepted rows with their amounts, and its rejected rows.

    Arrays are aligned with `rows`. A scheme not in force in a row's month has `in_force` False
    and zero base and shares there.
    """

    rows: list[DeclaredRow]
    members: list[str]  # canonical member numbers (the adapter's validator's form)
    schemes: tuple[str, ...]
    bases: dict[str, IntArray]
    shares: dict[str, dict[Payer, IntArray]]
    in_force: dict[str, BoolArray]
    errors: list[RowError] = field(default_factory=list)


class DeclarationChecker:
    """Checks the rows of one file (one header) for one fund."""

    def __init__(self, adapter: FundAdapter, header: DeclaredHeader) -> None:
        self.adapter = adapter
        self.header = header
        self.fund = FUNDS[adapter.FUND_CODE]
        self.schemes = tuple(adapter.DECLARATION_SCHEMES)
        self._in_force_cache: dict[Month, tuple[str, ...]] = {}

    def schemes_in_force(self, month: Month) -> tuple[str, ...]:
        found = self._in_force_cache.get(month)
        if found is None:
            found = tuple(
                s for s in self.schemes
                if self.fund.scheme(s).operating and self.fund.scheme(s).starts <= month
            )
            self._in_force_cache[month] = found
        return found

    def check(self, rows: Sequence[DeclaredRow]) -> CheckedChunk:
        n = len(rows)
        errors: dict[int, RowError] = {}
        members: list[str] = [""] * n
        groups: dict[tuple[Month, WorkerContext], list[int]] = {}
        for i, row in enumerate(rows):
            error = self._check_row(row, i, members, groups)
            if error is not None:
                errors[i] = error
        bases = {s: np.zeros(n, dtype=np.int64) for s in self.schemes}
        shares: dict[str, dict[Payer, IntArray]] = {s: {} for s in self.schemes}
        in_force = {s: np.zeros(n, dtype=np.bool_) for s in self.schemes}
        for (month, context), indices in groups.items():
            self._price_group(rows, month, context, indices, bases, shares, in_force, errors)
        keep = np.ones(n, dtype=np.bool_)
        if errors:
            keep[list(errors)] = False
        return CheckedChunk(
            rows=[r for i, r in enumerate(rows) if i not in errors],
            members=[m for i, m in enumerate(members) if i not in errors],
            schemes=self.schemes,
            bases={s: a[keep] for s, a in bases.items()},
            shares={s: {p: a[keep] for p, a in by.items()} for s, by in shares.items()},
            in_force={s: a[keep] for s, a in in_force.items()},
            errors=[errors[i] for i in sorted(errors)],
        )

    def _check_row(
        self, row: DeclaredRow, index: int, members: list[str],
        groups: dict[tuple[Month, WorkerContext], list[int]],
    ) -> RowError | None:
        try:
            members[index] = self.adapter.validate_member_number(row.member_number)
        except DomainError as exc:
            return RowError(row.line, "member_number", exc.message)
        if not self.schemes_in_force(row.month):
            first = min(self.fund.scheme(s).starts for s in self.schemes)
            return RowError(row.line, "month",
                            f"{row.month} is before any {self.fund.code} scheme a monthly return "
                            f"covers existed (the first starts {first})")
        try:
            context = self.adapter.context_from_fields(row.extra)
        except DomainError as exc:
            return RowError(row.line, exc.field or "line", exc.message)
        groups.setdefault((row.month, context), []).append(index)
        return None

    def _price_group(
        self, rows: Sequence[DeclaredRow], month: Month, context: WorkerContext,
        indices: list[int], bases: dict[str, IntArray],
        shares: dict[str, dict[Payer, IntArray]], in_force: dict[str, BoolArray],
        errors: dict[int, RowError],
    ) -> None:
        at = np.asarray(indices, dtype=np.int64)
        wages = np.fromiter((rows[i].wage_minor for i in indices), dtype=np.int64,
                            count=len(indices))
        employee = np.zeros(len(indices), dtype=np.int64)
        employer = np.zeros(len(indices), dtype=np.int64)
        priced: list[tuple[str, IntArray, dict[Payer, IntArray]]] = []
        for scheme in self.schemes_in_force(month):
            try:
                scheme_bases, by_payer = self.adapter.quote_arrays(scheme, month, wages, context)
            except DomainError as exc:
                for i in indices:
                    errors[i] = RowError(rows[i].line, exc.field or "line", exc.message)
                return
            priced.append((scheme, scheme_bases, by_payer))
            employee += by_payer.get(Payer.EMPLOYEE, 0)
            employer += by_payer.get(Payer.EMPLOYER, 0)
        for scheme, scheme_bases, by_payer in priced:
            in_force[scheme][at] = True
            bases[scheme][at] = scheme_bases
            for payer, amounts in by_payer.items():
                target = shares[scheme].setdefault(payer, np.zeros(len(bases[scheme]),
                                                                    dtype=np.int64))
                target[at] = amounts
        self._compare(rows, indices, employee, employer, errors)

    def _compare(
        self, rows: Sequence[DeclaredRow], indices: list[int], employee: IntArray,
        employer: IntArray, errors: dict[int, RowError],
    ) -> None:
        declared_employee = np.fromiter(
            (-1 if rows[i].employee_minor is None else rows[i].employee_minor for i in indices),
            dtype=np.int64, count=len(indices))
        declared_employer = np.fromiter(
            (-1 if rows[i].employer_minor is None else rows[i].employer_minor for i in indices),
            dtype=np.int64, count=len(indices))
        # -1 marks "not declared in this file": the rules' amount is taken as is.
        bad_employee = (declared_employee >= 0) & (declared_employee != employee)
        bad_employer = (declared_employer >= 0) & (declared_employer != employer)
        currency = self.adapter.currency
        for k in np.flatnonzero(bad_employee | bad_employer).tolist():
            row = rows[indices[k]]
            name, declared, computed = (
                ("employee_contribution", declared_employee[k], employee[k])
                if bad_employee[k] else
                ("employer_contribution", declared_employer[k], employer[k])
            )
            errors[indices[k]] = RowError(row.line, name, amount_differs(
                self.fund.code, Money(int(declared), currency), Money(int(computed), currency),
                Money(row.wage_minor, currency), row.month))
