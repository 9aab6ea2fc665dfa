"""SSO 1-10 text file: golden sample, round trip, every kind of malformed record, streaming."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.adapters.formats import DeclaredHeader, DeclaredRow, RowError, Totals, reconcile
from ledger.adapters.th_sso import format as sso
from ledger.domain.periods import Month

SAMPLE = Path(sso.__file__).parent / "samples" / "sso-1-10-2026-01.txt"


def parse_all(data: bytes) -> list[DeclaredHeader | DeclaredRow | RowError]:
    return list(sso.parse(iter(data.splitlines(keepends=True))))


def test_golden_sample_parses_to_known_values() -> None:
    header, *rows = parse_all(SAMPLE.read_bytes())
    assert isinstance(header, DeclaredHeader)
    assert (header.employer_account, header.branch, header.month) == (
        "1234567890", "000000", Month(2026, 1))
    assert header.employer_name == "บริษัท ตัวอย่าง จำกัด"
    # 20,000 THB above the 2026 ceiling of 17,500 -> 875.00; 12,000 -> 600.00; 1,000 is below
    # the floor of 1,650 -> 82.50, rounded half up to whole baht: 83.00 (funds.md §1.4's
    # minimum of 83). Written in satang.
    assert [(r.member_number, r.wage_minor, r.employee_minor) for r in rows
            if isinstance(r, DeclaredRow)] == [
        ("1101700234568", 2_000_000, 87_500), ("0001234567890", 1_200_000, 60_000),
        ("1234567890121", 100_000, 8_300)]
    assert rows[0].first_name == "สมชาย"  # type: ignore[union-attr]
    assert all(isinstance(row, DeclaredRow) for row in rows)
    totals = Totals.of(rows)
    assert reconcile(header, totals, employer_per_row=False) == []


def test_render_of_parse_is_the_same_bytes() -> None:
    data = SAMPLE.read_bytes()
    header, *rows = parse_all(data)
    assert isinstance(header, DeclaredHeader)
    assert sso.render(header, [r for r in rows if isinstance(r, DeclaredRow)]) == data


def _replace(data: bytes, line: int, start: int, new: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    record = lines[line - 1]
    lines[line - 1] = record[:start] + new + record[start + len(new):]
    return b"".join(lines)


@pytest.mark.parametrize(("change", "line", "field"), [
    (lambda d: _replace(d, 2, 96, b"00008750x"), 2, "contribution"),
    (lambda d: _replace(d, 3, 14, b"009"), 3, "title_code"),
    (lambda d: _replace(d, 2, 0, b"3"), 2, "record_type"),
    (lambda d: _replace(d, 3, 120, b"x"), 3, "filler"),
    (lambda d: d.replace("สมชาย".encode("tis_620"), "ส".encode() + b"xx"), 2, "first_name"),
    (lambda d: d.replace("สมชาย".encode("tis_620"), b"\xff\xfe\xfd\xfc\xdb"), 2, "first_name"),
    (lambda d: b"".join(d.splitlines(keepends=True)[:2]) + d.splitlines()[2][:80] + b"\r\n",
     3, "record"),
], ids=["non-digit amount", "unknown title", "wrong record type", "filler not blank",
        "UTF-8 text", "bytes TIS-620 does not define", "truncated record"])
def test_bad_records_are_reported_with_line_and_field(change: object, line: int,
                                                      field: str) -> None:
    parsed = parse_all(change(SAMPLE.read_bytes()))  # type: ignore[operator]
    errors = [p for p in parsed if isinstance(p, RowError)]
    assert [(e.line, e.field) for e in errors] == [(line, field)], errors
    assert errors[0].reason


def test_a_utf8_file_is_called_out_as_an_encoding_problem() -> None:
    data = SAMPLE.read_bytes().decode("tis_620").encode("utf-8")
    (error,) = parse_all(data)
    assert isinstance(error, RowError)
    assert (error.line, error.field) == (1, "record") and "TIS-620" in error.reason


def test_header_totals_that_do_not_add_up_are_file_errors() -> None:
    data = _replace(SAMPLE.read_bytes(), 1, 82, b"000000003300001")  # total wages off by 1 satang
    header, *rows = parse_all(data)
    assert isinstance(header, DeclaredHeader)
    assert all(isinstance(row, DeclaredRow) for row in rows)
    totals = Totals.of(rows)
    (error,) = reconcile(header, totals, employer_per_row=False)
    assert (error.line, error.field) == (0, "total_wages")


def test_header_is_required_and_stops_the_file() -> None:
    data = b"".join(SAMPLE.read_bytes().splitlines(keepends=True)[1:])
    (error,) = parse_all(data)
    assert isinstance(error, RowError) and error.field == "record_type"


def test_render_refuses_values_that_do_not_fit() -> None:
    header, *rows = parse_all(SAMPLE.read_bytes())
    assert isinstance(header, DeclaredHeader) and isinstance(rows[0], DeclaredRow)
    long_name = DeclaredRow(2, "1101700234568", header.month, 1, 1, first_name="x" * 31)
    with pytest.raises(ValueError, match="30-byte"):
        sso.render(header, [long_name])


def test_parsing_streams_in_constant_memory() -> None:
    """100,000 records are generated lazily and parsed without keeping them."""
    header_line, row_line = SAMPLE.read_bytes().splitlines(keepends=True)[:2]

    def lines(count: int) -> Iterator[bytes]:
        yield header_line
        for _ in range(count):
            yield row_line

    tracemalloc.start()
    seen = sum(1 for item in sso.parse(lines(100_000)) if isinstance(item, DeclaredRow))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seen == 100_000
    assert peak < 1_000_000, f"peak {peak} bytes"
