"""`clmtv adapters check FUND FILE --variants`, end to end through the CLI's front door."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import cli
from ledger.app.demo_imports import sample_files


def test_variants_of_a_good_file_are_each_refused_and_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = sample_files("VN-VSS")[0]
    assert cli.main(["adapters", "check", "VN-VSS", str(sample), "--variants"]) == 0
    out = capsys.readouterr().out
    assert "all checks passed" in out
    assert "PASS  bad member number" in out and "line 3: member_number:" in out
    assert "N/A   unknown scheme" in out
    # Vietnam's base salary rose in July 2024: the 22% abroad row (line 4) moves.
    assert "PASS  2024-07  lines whose amounts change: 4" in out
    assert "FAIL" not in out


def test_a_bad_file_fails_before_any_variant_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(sample_files("TH-SSO")[0].read_bytes()[:-40])
    assert cli.main(["adapters", "check", "TH-SSO", str(bad), "--variants"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  parse" in out and "line 4: record: is 97 bytes" in out
    assert "broken copies" not in out
