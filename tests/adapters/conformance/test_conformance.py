"""The conformance suite: every adapter folder, every sample, the same checks.

Parametrised over `registry.adapters()`, so a new fund folder (with samples) is picked up without
touching this file. Malformed inputs are made from each fund's own sample, through its own codec
(`ledger/adapters/conformance/malformed.py`), and dated rule changes are checked the same way
(`dated.py`): the suite needs no per-fund knowledge.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.adapters.conformance import checks, dated, malformed
from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import codec, get_adapter
from tests.adapters.conformance.support import (
    SAMPLES,
    golden_path,
    malformed_as_json,
    malformed_golden_path,
    parsed_as_json,
)

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
    assert funds == {"TH-SSO", "JP-JPS", "KH-NSSF", "MM-SSB", "VN-VSS", "MY-SOCSO", "LA-LSSO"}


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


CASES = [(fund, path, kind) for fund, path in SAMPLES for kind in malformed.KINDS]


@pytest.mark.parametrize(("fund", "sample", "kind"), CASES,
                         ids=[f"{f}:{p.name}:{k}" for f, p, k in CASES])
def test_each_kind_of_broken_file_is_refused_on_its_line(fund: str, sample: Path,
                                                         kind: str) -> None:
    """Every kind applies to some fund (see the next test); where a format cannot express a
    kind, the reason is in the golden file, reviewed like the findings."""
    (made,) = [v for v in malformed.variants(get_adapter(fund), codec(fund), sample.read_bytes())
               if v.kind == kind]
    if isinstance(made, malformed.NotApplicable):
        pytest.skip(made.reason)
    assert malformed.verify(get_adapter(fund), codec(fund), made) == []


def test_every_kind_of_broken_file_applies_to_some_fund() -> None:
    applied = {v.kind for fund, path in SAMPLES
               for v in malformed.variants(get_adapter(fund), codec(fund), path.read_bytes())
               if isinstance(v, malformed.Variant)}
    # No format of the five names a scheme per row; the sixth-fund test covers that kind.
    assert applied == set(malformed.KINDS) - {malformed.UNKNOWN_SCHEME}


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_broken_files_give_the_golden_findings(fund: str, sample: Path) -> None:
    """The exact (line, field, reason) of each refusal, so a change in any of them is seen."""
    golden = json.loads(malformed_golden_path(fund, sample).read_text(encoding="utf-8"))
    assert malformed_as_json(fund, sample.read_bytes()) == golden


@pytest.mark.parametrize(("fund", "sample"), SAMPLES, ids=IDS)
def test_the_amounts_check_follows_dated_rule_changes(fund: str, sample: Path) -> None:
    changes = dated.check_changes(get_adapter(fund), codec(fund), sample.read_bytes())
    assert [(c.month, c.problems) for c in changes if c.problems] == []


def test_dated_rule_changes_move_some_samples_amounts() -> None:
    """Not vacuous: the samples straddle real changes (the Thai ceiling 15,000 -> 17,500 in
    2026-01 moves the 20,000 THB row, worked by hand in test_rules_th_sso.py; Vietnam's base
    salary in 2023-07 and 2024-07 moves the 22% abroad row; Cambodian health care in 2018-01)."""
    moved = {(fund, str(c.month)): sorted(c.moved) for fund, path in SAMPLES
             for c in dated.check_changes(get_adapter(fund), codec(fund), path.read_bytes())
             if c.moved}
    assert moved[("TH-SSO", "2026-01")] == [2]
    assert moved[("VN-VSS", "2024-07")] == [4]
    assert moved[("KH-NSSF", "2018-01")] == [3, 4]
