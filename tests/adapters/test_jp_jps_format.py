"""SHFD0006.CSV (算定基礎届): sample, exact round trip, malformed records."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ledger.adapters.formats import DeclaredHeader, DeclaredRow, RowError
from ledger.adapters.jp_jps import format as shfd
from ledger.domain.periods import Month

SAMPLE = Path(shfd.__file__).parent / "samples" / "SHFD0006.CSV"


def parse(data: bytes) -> list[DeclaredHeader | DeclaredRow | RowError]:
    return list(shfd.parse(iter(data.splitlines(keepends=True))))


def test_sample_reads_the_annual_report() -> None:
    header, row = parse(SAMPLE.read_bytes())
    assert isinstance(header, DeclaredHeader) and isinstance(row, DeclaredRow)
    assert header.employer_name == "カブシキガイシャサンプル" and not header.has_totals
    # Reiwa (code 9) year 07 = 2025; the report applies from September.
    assert (row.member_number, row.month) == ("1234-567890", Month(2025, 9))
    # (185,000 + 182,000 + 190,000) / 3 = 185,666 yen (floored): the grade comes from this.
    assert (row.wage_minor, row.employee_minor) == (185_666, None)
    assert row.first_name == "ｿｯｸ ﾀﾞﾗ"


def test_render_of_parse_is_the_same_bytes() -> None:
    data = SAMPLE.read_bytes()
    preamble = [line.decode("cp932").split(",") for line in data.splitlines()[:5]]
    _, row = parse(data)
    assert isinstance(row, DeclaredRow)
    assert shfd.render(preamble, [row]) == data


def _record(data: bytes, index: int, value: str) -> bytes:
    lines = data.splitlines(keepends=True)
    cells = lines[5].decode("cp932").rstrip("\r\n").split(",")
    cells[index] = value
    lines[5] = (",".join(cells) + "\r\n").encode("cp932")
    return b"".join(lines)


@pytest.mark.parametrize(("index", "value", "field"), [
    (0, "2221700", "document_code"),
    (40, "12A4", "basic_pension_number.area"),
    (9, "4", "applied_era"),
    (11, "10", "applied_month"),
    (37, "185666", "average_remuneration"),
], ids=["other document", "bad pension number", "unknown era", "not September",
        "short amount"])
def test_bad_fields_are_named(index: int, value: str, field: str) -> None:
    *_, error = parse(_record(SAMPLE.read_bytes(), index, value))
    assert isinstance(error, RowError) and (error.line, error.field) == (6, field)


def test_no_pension_number_and_no_my_number() -> None:
    data = _record(_record(SAMPLE.read_bytes(), 40, ""), 41, "")
    *_, error = parse(data)
    assert isinstance(error, RowError) and error.field == "basic_pension_number"


def test_not_shift_jis_and_broken_preamble() -> None:
    *_, error = parse(SAMPLE.read_bytes().replace("ｿｯｸ".encode("cp932"), b"\x81\x20\x20"))
    assert isinstance(error, RowError) and error.field == "line"
    (error,) = parse(SAMPLE.read_bytes().replace(b"[kanri]", b"[kanry]"))
    assert isinstance(error, RowError) and error.field == "identifiers"


WRITTEN = {"f10", "f37", "f40", "f41"}  # applied year, average, pension number area + serial


def test_render_writes_the_fields_the_hub_reads_from_the_row() -> None:
    data = SAMPLE.read_bytes()
    preamble = [line.decode("cp932").split(",") for line in data.splitlines()[:5]]
    _, row = parse(data)
    assert isinstance(row, DeclaredRow)
    changed = replace(row, member_number="4321-098765", month=Month(2026, 9), wage_minor=250_000)
    _, again = parse(shfd.render(preamble, [changed]))
    assert isinstance(again, DeclaredRow)
    # Reiwa 8 = 2026; the average goes where the sample had it (f37, no adjusted f38); every
    # other field is as parsed.
    assert (again.member_number, again.month, again.wage_minor) == (
        "4321-098765", Month(2026, 9), 250_000)
    assert (again.extra["f09"], again.extra["f10"]) == ("9", "08")
    assert {k: v for k, v in again.extra.items() if k not in WRITTEN} == {
        k: v for k, v in row.extra.items() if k not in WRITTEN}
    with pytest.raises(ValueError, match="7 digits"):
        shfd.render(preamble, [replace(row, wage_minor=10_000_000)])
