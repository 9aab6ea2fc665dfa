"""The CLMTV declaration CSV (Cambodia, Myanmar) and the Vietnamese D02-style list."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.adapters import csv_declaration as csvd
from ledger.adapters.formats import DeclaredHeader, DeclaredRow, RowError, Totals, reconcile
from ledger.domain.periods import Month

ADAPTERS = Path(csvd.__file__).parent
SAMPLES = {
    "KH-NSSF": (csvd.KH_NSSF, ADAPTERS / "kh_nssf/samples/declaration-2026-10.csv"),
    "MM-SSB": (csvd.MM_SSB, ADAPTERS / "mm_ssb/samples/declaration-2026-10.csv"),
    "VN-VSS": (csvd.VN_VSS, ADAPTERS / "vn_vss/samples/d02-2026-10.csv"),
}


def parse(data: bytes, layout: csvd.Layout) -> list[DeclaredHeader | DeclaredRow | RowError]:
    return list(csvd.parse(iter(data.splitlines(keepends=True)), layout))


@pytest.mark.parametrize("fund", sorted(SAMPLES))
def test_samples_parse_reconcile_and_render_back(fund: str) -> None:
    layout, path = SAMPLES[fund]
    data = path.read_bytes()
    header, *rows = parse(data, layout)
    assert isinstance(header, DeclaredHeader) and header.month == Month(2026, 10)
    assert all(isinstance(r, DeclaredRow) for r in rows)
    assert all(isinstance(row, DeclaredRow) for row in rows)
    totals = Totals.of(rows)
    assert reconcile(header, totals, employer_per_row=True) == []
    assert csvd.render(header, [r for r in rows if isinstance(r, DeclaredRow)], layout) == data


def test_hand_computed_amounts_of_the_samples() -> None:
    _, *kh = parse(SAMPLES["KH-NSSF"][1].read_bytes(), csvd.KH_NSSF)
    # 1,500,000 riel is above the 1,200,000 cap: pension 2% = 24,000 riel (2,400,000 minor);
    # the employer adds occupational risk 0.8% (9,600) and health 2.6% (31,200): 64,800 riel.
    assert [(r.employee_minor, r.employer_minor) for r in kh  # type: ignore[union-attr]
            ] == [(2_400_000, 6_480_000)] * 2
    _, *vn = parse(SAMPLES["VN-VSS"][1].read_bytes(), csvd.VN_VSS)
    abroad = vn[1]
    assert isinstance(abroad, DeclaredRow)
    # A contract worker abroad pays 22% of 2 x base salary 2,340,000 = 1,029,600 dong alone.
    assert (abroad.extra["regime"], abroad.employee_minor, abroad.employer_minor) == (
        "abroad", 1_029_600, 0)
    assert vn[0].last_name == "Nguyễn Thị"  # type: ignore[union-attr]


def _edit(data: bytes, line: int, old: bytes, new: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return b"".join(lines)


KH = SAMPLES["KH-NSSF"][1]


@pytest.mark.parametrize(("data", "line", "field"), [
    (_edit(KH.read_bytes(), 3, b"2400000", b"24000.00"), 3, "employee_minor"),
    (_edit(KH.read_bytes(), 3, b"2400000", b"-2400000"), 3, "employee_minor"),
    (_edit(KH.read_bytes(), 4, b",Chan", b""), 4, "line"),
    (_edit(KH.read_bytes(), 3, b"NSSF-000123", b""), 3, "member_number"),
    (_edit(KH.read_bytes(), 3, b"Dara", "Dàra".encode("latin-1")), 3, "line"),
], ids=["decimal amount", "negative amount", "missing field", "no member number", "not UTF-8"])
def test_bad_lines_name_line_and_field_and_parsing_goes_on(data: bytes, line: int,
                                                           field: str) -> None:
    parsed = parse(data, csvd.KH_NSSF)
    errors = [p for p in parsed if isinstance(p, RowError)]
    assert [(e.line, e.field) for e in errors] == [(line, field)]
    assert sum(isinstance(p, DeclaredRow) for p in parsed) == 1  # the other row still parsed


@pytest.mark.parametrize(("data", "field"), [
    (KH.read_bytes().replace(b"KH-NSSF", b"MM-SSB", 1), "fund"),
    (KH.read_bytes().replace(b"KHR", b"USD", 1), "currency"),
    (KH.read_bytes().replace(b"2026-10", b"2026-13", 1), "period"),
    (KH.read_bytes().replace(b"wage_minor", b"wage", 1), "columns"),
    (b"".join(KH.read_bytes().splitlines(keepends=True)[1:]), "header"),
], ids=["other fund", "other currency", "bad month", "renamed column", "no header"])
def test_a_bad_header_or_column_line_stops_the_file(data: bytes, field: str) -> None:
    *_, last = parse(data, csvd.KH_NSSF)
    assert isinstance(last, RowError) and last.field == field


def test_totals_that_do_not_add_up() -> None:
    data = KH.read_bytes().replace(b",2,350000000,", b",3,350000000,", 1)
    header, *rows = parse(data, csvd.KH_NSSF)
    assert isinstance(header, DeclaredHeader)
    assert all(isinstance(row, DeclaredRow) for row in rows)
    totals = Totals.of(rows)
    (error,) = reconcile(header, totals, employer_per_row=True)
    assert error.field == "employee_count" and "3" in error.reason
