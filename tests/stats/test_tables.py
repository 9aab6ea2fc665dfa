"""The monitoring tables' definitions: the public grid, facts per worker and cell, exact sums."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ledger.domain.periods import Month
from ledger.stats.tables import (
    LEDGER_MEASURES,
    MEASURE_BY_NAME,
    MEASURES,
    OTHER_ORIGIN,
    Grid,
    TableBuilder,
)

Q3 = [Month(2026, 7), Month(2026, 8), Month(2026, 9)]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"


def grid() -> Grid:
    return Grid.of(Q3, ("KH", "MM", OTHER_ORIGIN), ("TH-SSO", "JP-JPS"))


def test_every_cell_of_the_grid_is_in_the_table_zero_or_not() -> None:
    builder = TableBuilder(grid())
    builder.add("workers_covered", "w1", "KH", "TH-SSO", 202607, 1)
    rows = builder.rows("workers_covered", builder.exact("workers_covered"))
    assert len(rows) == 3 * 2 * 3
    assert sum(r.value for r in rows) == 1
    assert [(r.origin, r.fund, r.month) for r in rows if r.value] == [("KH", "TH-SSO", 202607)]


def test_money_cells_are_in_the_funds_currency_and_channel_fees_in_any() -> None:
    g = grid()
    assert {c for *_, c in g.cells(MEASURE_BY_NAME["contributions_employer"])} == {"THB", "JPY"}
    assert len({c for *_, c in g.cells(MEASURE_BY_NAME["channel_fees"])}) == 8
    assert {c for *_, c in g.cells(MEASURE_BY_NAME["workers_covered"])} == {""}


def test_a_nationality_no_fund_names_is_counted_as_other_and_outside_facts_are_left_out() -> None:
    builder = TableBuilder(grid())
    builder.add("workers_covered", "w1", "PH", "TH-SSO", 202608, 1)
    builder.add("workers_covered", "w2", "KH", "TH-SSO", 202610, 1)  # not in Q3
    builder.add("workers_covered", "w3", "KH", "VN-VSS", 202608, 1)  # not a fund of the grid
    assert builder.outside == 2
    rows = builder.rows("workers_covered", builder.exact("workers_covered"))
    assert [(r.origin, r.month) for r in rows if r.value] == [(OTHER_ORIGIN, 202608)]


def test_facts_of_one_worker_and_cell_add_up_before_anything_else() -> None:
    builder = TableBuilder(grid())
    for amount in (100, 250):
        builder.add("contributions_employee", "w1", "KH", "TH-SSO", 202607, amount, "THB")
    builder.add("contributions_employee", "w2", "KH", "TH-SSO", 202607, 7, "THB")
    facts = builder.facts("contributions_employee")
    assert facts.workers.tolist() == [0, 1]
    assert facts.values.tolist() == [350, 7]
    assert int(np.sum(builder.exact("contributions_employee"))) == 357


def test_what_the_ledger_cannot_tell_is_declared_with_the_reason() -> None:
    unknown = [m for m in MEASURES if m.ledger is None]
    assert {m.name for m in unknown} >= {"deadline_90_days_amount", "forfeited_amount",
                                          "certificate_months_avoided", "agent_fees"}
    assert all(m.ledger_gap for m in unknown)
    assert all(m.ledger is not None for m in LEDGER_MEASURES)


def test_docs_monitoring_names_every_measure() -> None:
    text = DOCS.read_text()
    missing = [m.name for m in MEASURES if f"`{m.name}`" not in text]
    assert missing == []
