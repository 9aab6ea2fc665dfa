"""The monthly uploads of a load test, in each fund's native format, for a simulated month.

Owns `Numbering` (worker ids and member numbers of a prepared population) and `uploads`: for one
month of a simulator outcome, one file per employer group in the fund's own format, rendered by
the adapter's codec (Thai SSO 1-10 text, the SOCSO declaration CSV, Vietnam's D02 list for the
22% abroad regime), and the Japanese EPI months as contribution batches (SHFD0006 is an annual
report, not a monthly file). Amounts are the adapters' own, as in `simulator/replay.py`, so every
row books; the month's paying workers of a fund are grouped `employer_size` to an employer (the
traffic model counts files the same way), and employer `k` of a fund has one token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ledger.adapters.context import WorkerContext
from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import codec, get_adapter
from ledger.adapters.th_sso.ids import national_id_check_digit
from ledger.domain.funds import Payer
from ledger.domain.money import Money
from ledger.domain.periods import Month

IntArray = np.ndarray


@dataclass(frozen=True, slots=True)
class Numbering:
    """Ids of a prepared population: worker `i` of the simulation is `wkr_<prefix><i>`.
    `base` shifts member numbers, so that two populations can share one database."""

    prefix: str = "lt"
    base: int = 0

    def worker(self, i: int) -> str:
        return f"wkr_{self.prefix}{i:08d}"

    def member(self, fund: str, i: int) -> str:
        k = self.base + i
        if fund == "TH-SSO":
            body = f"7{k:011d}"
            return body + str(national_id_check_digit(body))
        if fund == "JP-JPS":
            return f"{7000 + k // 1_000_000:04d}-{k % 1_000_000:06d}"
        if fund == "MY-SOCSO":
            return f"MB{k:08d}"  # SOCSO knows foreign workers by passport number
        if fund == "VN-VSS":
            return f"{8_000_000_000 + k:010d}"
        if fund in ("KH-NSSF", "MM-SSB", "LA-LSSO"):  # home funds: voluntary members
            return f"LT{fund[:2]}{k:09d}"
        raise ValueError(f"no member numbering for {fund}")


@dataclass(frozen=True, slots=True)
class Upload:
    kind: str  # "declaration_upload" (a native file) or "fund_batch" (JSON contributions)
    fund: str
    month: Month
    employer: int  # group number within the fund
    name: str
    rows: int
    data: bytes
    members: tuple[int, ...] = ()  # population rows an employer's file declares: its employees


def employer_account(fund: str, group: int) -> str:
    if fund == "TH-SSO":
        return f"{9_000_000_000 + group:010d}"
    return f"LT{group:08d}"


def uploads(outcome: Any, index: int, numbering: Numbering, employer_size: int,
            jp_batch_size: int) -> Iterator[Upload]:
    """Every upload of month `index`: a file per employer group, a batch per JP group."""
    pop, cov = outcome.pop, outcome.coverage
    month = pop.start.plus(index)
    paying = (cov.host_first <= index) & (index < cov.host_stop)
    for fund, rows in pop.slices.items():
        members = np.flatnonzero(paying[rows]) + (rows.start or 0)
        size = jp_batch_size if fund == "JP-JPS" else employer_size
        for group, start in enumerate(range(0, members.size, size)):
            chosen = members[start:start + size]
            if fund == "JP-JPS":
                yield _jp_batch(month, chosen, pop, numbering, group)
            else:
                yield _native(fund, month, chosen, pop, numbering, group)
    abroad = np.flatnonzero(cov.abroad & (pop.arrival <= index) & (index < cov.host_stop))
    for start in range(0, abroad.size, employer_size):
        chosen = abroad[start:start + employer_size]
        yield _vietnam(month, chosen, numbering, start // employer_size)


def _native(fund: str, month: Month, rows: IntArray, pop: Any, numbering: Numbering,
            group: int) -> Upload:
    adapter = get_adapter(fund)
    wages = pop.wage_minor[rows]
    employee = np.zeros(rows.size, dtype=np.int64)
    employer = np.zeros(rows.size, dtype=np.int64)
    for scheme in adapter.DECLARATION_SCHEMES:
        shares = adapter.contribution_arrays(scheme, month, wages)
        employee += shares.get(Payer.EMPLOYEE, np.zeros(rows.size, dtype=np.int64))
        employer += shares.get(Payer.EMPLOYER, np.zeros(rows.size, dtype=np.int64))
    account = employer_account(fund, group)
    if fund == "TH-SSO":  # SSO 1-10: employer total = employee total, rate in the header
        header = DeclaredHeader(
            employer_account=account, branch="000000", month=month, currency=adapter.currency,
            employee_count=int(rows.size), total_wages_minor=int(wages.sum()),
            total_employee_minor=int(employee.sum()), total_employer_minor=int(employee.sum()),
            rate_basis_points=500, employer_name=f"Load test employer {group}")
        first_line = 2
    else:
        header = DeclaredHeader(
            employer_account=account, branch="000", month=month, currency=adapter.currency,
            employee_count=int(rows.size), total_wages_minor=int(wages.sum()),
            total_employee_minor=int(employee.sum()), total_employer_minor=int(employer.sum()))
        first_line = 3
    declared = [DeclaredRow(line=first_line + k, member_number=numbering.member(fund, int(i)),
                            month=month, wage_minor=int(w), employee_minor=int(e),
                            employer_minor=None if fund == "TH-SSO" else int(r),
                            first_name="Load", last_name=f"Worker {int(i)}")
                for k, (i, w, e, r) in enumerate(zip(rows, wages, employee, employer,
                                                     strict=True))]
    data = codec(fund).render(header, declared)
    return Upload("declaration_upload", fund, month, group,
                  f"{fund}-{month}-{account}.dat", int(rows.size), data,
                  tuple(int(i) for i in rows))


def _vietnam(month: Month, rows: IntArray, numbering: Numbering, group: int) -> Upload:
    """The 22% abroad regime: the rules' own base (2 x base salary without a prior wage)."""
    adapter = get_adapter("VN-VSS")
    quote = adapter.contribution(WorkerContext(regime="abroad"), "retirement-survivorship",
                                 month, Money(0, adapter.currency))
    base, employee = quote.wage_base.amount_minor, quote.share(Payer.EMPLOYEE).amount_minor
    extra = {"plan_code": "ON", "zone": "01", "regime": "abroad", "date_of_birth": "01/01/1995",
             "gender": "0", "nationality": "VN"}
    declared = [DeclaredRow(line=k + 3, member_number=numbering.member("VN-VSS", int(i)),
                            month=month, wage_minor=base, employee_minor=employee,
                            employer_minor=0, first_name="Load", last_name=f"Worker {int(i)}",
                            extra=extra)
                for k, i in enumerate(rows)]
    account = employer_account("VN-VSS", group)
    header = DeclaredHeader(
        employer_account=account, branch="000", month=month, currency=adapter.currency,
        employee_count=len(declared), total_wages_minor=base * len(declared),
        total_employee_minor=employee * len(declared), total_employer_minor=0)
    return Upload("declaration_upload", "VN-VSS", month, group, f"VN-VSS-{month}-{account}.csv",
                  len(declared), codec("VN-VSS").render(header, declared))


def _jp_batch(month: Month, rows: IntArray, pop: Any, numbering: Numbering, group: int
              ) -> Upload:
    adapter = get_adapter("JP-JPS")
    priced: dict[int, Any] = {}
    items = []
    for i in rows.tolist():
        wage = int(pop.wage_minor[i])
        quote = priced.get(wage)
        if quote is None:
            quote = priced[wage] = adapter.contribution(WorkerContext(), "epi", month,
                                                        Money(wage, adapter.currency))
        items.append({"worker_id": numbering.worker(i), "fund": "JP-JPS", "scheme": "epi",
                      "month": str(month), "kind": "compulsory",
                      "wage_base": quote.wage_base.to_wire(),
                      "shares": [{"payer": str(p), "amount": m.to_wire()}
                                 for p, m in quote.shares]})
    data = json.dumps({"contributions": items}, separators=(",", ":")).encode()
    return Upload("fund_batch", "JP-JPS", month, group, f"JP-JPS-{month}-{group:06d}.json",
                  len(items), data)
