"""The conformance suite: every adapter folder, every sample, the same checks.

Parametrised over `registry.adapters()`, so a new fund folder (with samples) is picked up without
touching this file. Malformed inputs are made from each fund's own sample, through its own codec:
the suite needs no per-fund knowledge.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.adapters.conformance import checks
from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import codec, get_adapter
from ledger.domain.errors import DomainError
from ledger.domain.periods import Month
from tests.adapters.conformance.support import SAMPLES, golden_path, parsed_as_json

IDS = [f"{fund}:{path.name}" for fund, path in SAMPLES]


def run(fund: str, data: bytes) -> checks.FileCheck:
    return checks.check_file(get_adapter(fund), codec(fund), data.splitlines(keepends=True))


def parts(fund: str, data: bytes) -> tuple[DeclaredHeader, list[DeclaredRow]]:
    items = list(codec(fund).parse(iter(data.splitlines(keepends=True))))
    header = items[0]
    assert isinstance(header, DeclaredHeader)
    return header, [r for r in items if isinstance(r, DeclaredRow)]


def test_every_fund_has_a_codec_and_a_sample() -> None:
    funds = {fund for fund, _ in SAMPLES}
    assert funds == {"TH-SSO", "JP-JPS", "KH-NSSF", "MM-SSB", "VN-VSS"}


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_the_sample_passes_every_check(fund: str, sample: Path) -> None:
    result = run(fund, sample.read_bytes())
    assert result.passed, checks.describe(result, sample.name)
    assert result.rows > 0


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_render_of_parse_is_byte_exact(fund: str, sample: Path) -> None:
    data = sample.read_bytes()
    header, rows = parts(fund, data)
    assert codec(fund).render(header, rows) == data


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_parse_matches_the_golden_file(fund: str, sample: Path) -> None:
    golden = json.loads(golden_path(fund, sample).read_text(encoding="utf-8"))
    assert parsed_as_json(fund, sample.read_bytes()) == golden


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_an_invalid_member_number_is_refused_on_its_line(fund: str, sample: Path) -> None:
    header, rows = parts(fund, sample.read_bytes())
    adapter = get_adapter(fund)
    first = rows[0]
    number = first.member_number
    last = number[-1]
    candidates = [number[:-1] + str((int(last) + 1) % 10) if last.isdigit() else number + "!",
                  number[:-1], number + "0", number[:1] + "--" + number[1:], number + "?"]
    for candidate in candidates:
        try:
            adapter.validate_member_number(candidate)
        except DomainError:
            break
    else:
        pytest.fail(f"no invalid variant of {number} found")
    data = codec(fund).render(header, [replace(first, member_number=candidate), *rows[1:]])
    if parts(fund, data)[1][0].member_number == number:
        pytest.skip(f"{fund} rows carry their member number in fund-specific fields")
    result = run(fund, data)
    failing = result.lines_failing(checks.MEMBER_NUMBERS) | result.lines_failing(checks.PARSE)
    assert first.line in failing, checks.describe(result, "mutated")


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_a_declared_amount_off_by_one_minor_unit_is_refused(fund: str, sample: Path) -> None:
    header, rows = parts(fund, sample.read_bytes())
    declared = [r for r in rows if r.employee_minor is not None]
    if not declared:
        pytest.skip(f"{fund} files declare no amounts: the rules compute them")
    target = declared[0]
    mutated = [replace(r, employee_minor=(r.employee_minor or 0) + 1) if r is target else r
               for r in rows]
    fixed_header = replace(header, total_employee_minor=header.total_employee_minor + 1)
    result = run(fund, codec(fund).render(fixed_header, mutated))
    assert result.lines_failing(checks.AMOUNTS) == {target.line}
    assert result.results[checks.HEADER_TOTALS].passed


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_header_totals_that_do_not_add_up_are_refused(fund: str, sample: Path) -> None:
    header, rows = parts(fund, sample.read_bytes())
    if not header.has_totals:
        pytest.skip(f"{fund} files carry no totals")
    result = run(fund, codec(fund).render(
        replace(header, total_wages_minor=header.total_wages_minor + 1), rows))
    assert not result.results[checks.HEADER_TOTALS].passed
    assert [f.field for f in result.results[checks.HEADER_TOTALS].findings] == ["total_wages"]


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_months_before_the_funds_schemes_existed_are_refused(fund: str, sample: Path) -> None:
    header, rows = parts(fund, sample.read_bytes())
    old = Month(1960, 1)
    data = codec(fund).render(replace(header, month=old), [replace(r, month=old) for r in rows])
    _, reparsed = parts(fund, data)
    if reparsed[0].month != old:
        pytest.skip(f"{fund} rows carry their month in fund-specific fields")
    result = run(fund, data)
    assert result.lines_failing(checks.MONTHS_AND_FACTS) == {r.line for r in rows}


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_a_byte_no_encoding_allows_is_refused_on_its_line(fund: str, sample: Path) -> None:
    data = sample.read_bytes()
    _, rows = parts(fund, data)
    lines = data.splitlines(keepends=True)
    target = rows[0].line
    line = lines[target - 1]
    name = next(n for n in (rows[0].last_name, rows[0].first_name) if n)
    encoded = next(name.encode(e) for e in ("tis_620", "cp932", "utf-8")
                   if _encodes(name, e) and name.encode(e) in line)
    # 0x81 0xFF is invalid in TIS-620, Shift_JIS (cp932) and UTF-8 alike.
    lines[target - 1] = line.replace(encoded, b"\x81\xff" + encoded[1:], 1)
    result = run(fund, b"".join(lines))
    assert target in result.lines_failing(checks.PARSE), checks.describe(result, "mutated")


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_truncated_empty_and_header_only_files_fail(fund: str, sample: Path) -> None:
    data = sample.read_bytes()
    assert not run(fund, data[:-7]).passed
    empty = run(fund, b"")
    assert not empty.passed and empty.results[checks.PARSE].findings[0].field == "file"
    header, _ = parts(fund, data)
    header_only = run(fund, codec(fund).render(header, []))
    assert not header_only.results[checks.PARSE].passed


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
