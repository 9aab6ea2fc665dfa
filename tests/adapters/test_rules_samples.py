"""The hand-computed sample declarations in `ledger/adapters/*/samples/` agree with the rules:
every row's declared employee and employer amounts equal the adapter's totals over the schemes
of a monthly return (rules and codecs were written apart; this ties them together)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.adapters import csv_declaration as csvd
from ledger.adapters.base import WorkerContext
from ledger.adapters.formats import DeclaredRow
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso import format as sso
from ledger.domain.funds import Payer
from ledger.domain.money import Money

ADAPTERS = Path(csvd.__file__).parent


def context(fund: str, row: DeclaredRow) -> WorkerContext:
    extra = row.extra
    if fund == "MM-SSB":
        return WorkerContext(registered_at_60_or_over=extra["registered_at_60_or_over"] == "yes")
    if fund == "VN-VSS":
        return WorkerContext(regime=extra["regime"], zone=int(extra["zone"]))
    return WorkerContext()


@pytest.mark.parametrize(("fund", "layout", "path"), [
    ("KH-NSSF", csvd.KH_NSSF, "kh_nssf/samples/declaration-2026-10.csv"),
    ("MM-SSB", csvd.MM_SSB, "mm_ssb/samples/declaration-2026-10.csv"),
    ("VN-VSS", csvd.VN_VSS, "vn_vss/samples/d02-2026-10.csv"),
])
def test_csv_samples_match_the_rules(fund: str, layout: csvd.Layout, path: str) -> None:
    adapter = get_adapter(fund)
    lines = (ADAPTERS / path).read_bytes().splitlines(keepends=True)
    rows = [r for r in csvd.parse(iter(lines), layout) if isinstance(r, DeclaredRow)]
    assert rows
    for row in rows:
        quotes = adapter.declaration(context(fund, row), row.month,
                                     Money(row.wage_minor, adapter.currency))
        employee = sum(q.share(Payer.EMPLOYEE).amount_minor for q in quotes)
        employer = sum(q.share(Payer.EMPLOYER).amount_minor for q in quotes)
        assert (employee, employer) == (row.employee_minor, row.employer_minor), row.line


def test_thai_sso_sample_matches_the_rules() -> None:
    adapter = get_adapter("TH-SSO")
    lines = (ADAPTERS / "th_sso/samples/sso-1-10-2026-01.txt").read_bytes().splitlines(
        keepends=True)
    rows = [r for r in sso.parse(iter(lines)) if isinstance(r, DeclaredRow)]
    assert rows
    for row in rows:
        adapter.validate_member_number(row.member_number)
        quotes = adapter.declaration(WorkerContext(), row.month,
                                     Money(row.wage_minor, adapter.currency))
        assert sum(q.share(Payer.EMPLOYEE).amount_minor for q in quotes) == row.employee_minor
