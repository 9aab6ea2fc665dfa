"""One worker, one story (issue 22 item 8): the README's reference worker, the demo's seeding,
the worker story test's career and docs/settlement.md name the same months, wages and counts.

No database: the careers are compared as data, the pages as text. The demo's summary is
checked against the README by `test_cli.py`; the amounts of docs/settlement.md against the demo
by its runnable block (the docs test).
"""

from __future__ import annotations

import re
from pathlib import Path

from ledger.app.demo import CAREERS
from ledger.demo_data import DEMO_WORKER
from ledger.domain.periods import Month
from tests.e2e.story_support import CAREER

ROOT = Path(__file__).resolve().parents[2]
# Months of the demo worker that a sample file books instead of the career tables (the comments
# in CAREERS say which file): his 2025 算定基礎届 and his second month at home.
SAMPLE_MONTHS = {("JP-JPS", Month(2025, 9)): 190_000, ("KH-NSSF", Month(2026, 10)): None}


def _story_months() -> dict[tuple[str, Month], int]:
    return {(fund, first.plus(i)): wage for fund, _, first, months, wage, _ in CAREER
            for i in range(months)}


def _demo_months() -> dict[tuple[str, Month], int | None]:
    seeded: dict[tuple[str, Month], int | None] = {}
    for career in CAREERS:
        if career.worker == DEMO_WORKER:
            wage = next(w for scheme, w, _ in career.table
                        if scheme in ("s33-old-age", "epi", "pension"))
            seeded.update({(career.fund, career.first.plus(i)): wage
                           for i in range(career.months)})
    return {**seeded, **SAMPLE_MONTHS}


def _span(months: dict[tuple[str, Month], object], fund: str) -> tuple[int, str, str]:
    mine = sorted(m for f, m in months if f == fund)
    return len(mine), str(mine[0]), str(mine[-1])


def test_the_story_test_carries_the_demo_worker_forward() -> None:
    story, demo = _story_months(), _demo_months()
    for fund in ("TH-SSO", "JP-JPS"):  # the same months, at the same wages
        assert {k: v for k, v in story.items() if k[0] == fund} == {
            k: v for k, v in demo.items() if k[0] == fund}, fund
    home = sorted(m for f, m in demo if f == "KH-NSSF")
    assert _span(story, "KH-NSSF") == (40, str(home[0]), "2029-12")
    assert all(("KH-NSSF", m) in story for m in home)


def test_readme_and_settlement_page_tell_that_story() -> None:
    story = _story_months()
    thai, japan, home = (_span(story, f) for f in ("TH-SSO", "JP-JPS", "KH-NSSF"))
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert (f"a Cambodian with {thai[0]} months under Thai SSO, {japan[0]} months of Japanese "
            "pension, then home to the Cambodian NSSF pension") in readme
    page = " ".join((ROOT / "docs/settlement.md").read_text(encoding="utf-8").split())
    assert f"a Cambodian with {thai[0]} months of Thai s33 ({thai[1]} … {thai[2]})" in page
    assert f"{japan[0]} months of Japanese EPI ({japan[1]} … {japan[2]})" in page
    assert f"home to the NSSF pension from {home[1]}" in page
    assert f"{home[0]} months there ({home[2]})" in page
    raise_to = next(first for fund, _, first, _, wage, _ in CAREER
                    if fund == "JP-JPS" and wage == 190_000)
    assert f"sets 190,000 yen from {raise_to}" in page
    assert re.search(rf"totalise to {thai[0] + home[0]}: a Thai pro-rata right of "
                     rf"{thai[0]}/{thai[0] + home[0]}", page)
