"""Replay into the real ledger: the ledger's booked totals equal the simulator's exactly, and a
missing month is caught (the comparison is not vacuous)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import simulator.replay as replay
from simulator.engine import simulate
from simulator.population import draw
from tests.simulator.conftest import even_run


def outcome(workers: int = 160, years: int = 2, seed: int = 5):  # type: ignore[no-untyped-def]
    run = even_run("no-agreement", digital_voluntary__uptake_share={
        "value": "0.5", "source": "test", "verified": False})
    return simulate(run, draw(run.scenario, workers, years, seed))


def test_the_ledger_books_exactly_what_the_simulator_paid(tmp_path: Path) -> None:
    result = outcome()
    report = replay.run_replay(result, "local", tmp_path)
    assert report.equal, report.differences()
    funds = {fund for fund, _, _ in report.ledger}
    assert {"TH-SSO", "JP-JPS", "VN-VSS", "MY-SOCSO"} <= funds
    assert any(scheme == "s39-voluntary" for _, scheme, _ in report.ledger)
    assert report.files > 0 and report.api_contributions > 0
    assert sum(report.ledger.values()) == sum(report.simulator.values()) > 0


def test_a_month_left_out_of_the_replay_is_a_difference(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    full_plan = replay.plan

    def without_first_thai_file(result):  # type: ignore[no-untyped-def]
        planned = full_plan(result)
        first = next(i for i, (fund, _, _) in enumerate(planned.files) if fund == "TH-SSO")
        del planned.files[first]
        return planned

    monkeypatch.setattr(replay, "plan", without_first_thai_file)
    report = replay.run_replay(outcome(), "local", tmp_path)
    assert not report.equal
    assert {scheme for (_, scheme, _) in report.differences()} >= {"s33-old-age",
                                                                   "s33-sickness"}


def pilot_outcome():  # type: ignore[no-untyped-def]
    run = even_run("clmtv-pilot")
    return simulate(run, draw(run.scenario, 160, 2, 7))


def test_under_the_pilot_thai_exits_become_flows_that_drain_what_the_simulation_moved(
    tmp_path: Path,
) -> None:
    report = replay.run_replay(pilot_outcome(), "local", tmp_path)
    assert report.exits is not None
    exits = report.exits
    assert exits.flows > 0 and exits.window["state"] == "settled"
    assert exits.window["reconciliation"]
    assert exits.simulator
    assert exits.simulator == exits.ledger and exits.mismatched == []
    assert report.equal


def test_a_flow_that_moves_another_amount_is_named(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = replay.exit_flows

    def one_off(result):  # type: ignore[no-untyped-def]
        flows, skipped = real(result)
        flows[0] = dataclasses.replace(flows[0], moved_minor=flows[0].moved_minor + 1)
        return flows, skipped

    monkeypatch.setattr(replay, "exit_flows", one_off)
    report = replay.run_replay(pilot_outcome(), "local", tmp_path)
    assert report.exits is not None and len(report.exits.mismatched) == 1
    assert not report.equal


async def _served_replay(tmp_path: Path):  # type: ignore[no-untyped-def]
    from ledger.app.local import local_ledger

    async with local_ledger(f"sqlite+aiosqlite:///{tmp_path}/served.db", "op") as ledger:
        return await replay.replay_http(pilot_outcome(), "http://ledger", ledger.operator_token,
                                        transport=ledger.transport)


def test_a_replay_to_a_running_ledger_goes_through_its_api_only(tmp_path: Path) -> None:
    import asyncio

    report = asyncio.run(_served_replay(tmp_path))
    assert report.equal, report.differences()
    assert report.exits is not None and report.exits.via == "API transitions"
    assert report.exits.flows > 0 and report.exits.simulator == report.exits.ledger


def test_a_replay_into_a_ledger_that_holds_contributions_refuses_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second replay into the same database stops before sending anything, with the
    reason; through `clmtv simulate --replay` it is one line and exit 2, not a list of
    differences and exit 1."""
    import io

    from rich.console import Console

    from simulator import cli

    url = f"sqlite+aiosqlite:///{tmp_path}/used.db"
    result = outcome(workers=8, years=1)
    assert replay.run_replay(result, url, tmp_path).equal

    async def nothing_is_sent(*_: object) -> int:
        raise AssertionError("the refused replay sent something")

    monkeypatch.setattr(replay, "send", nothing_is_sent)  # at once: before any registration
    with pytest.raises(replay.LedgerNotEmptyError, match="already holds contributions"):
        replay.run_replay(result, url, tmp_path)
    text = io.StringIO()
    assert cli._replay(result, url, tmp_path, Console(file=text, width=300), quiet=True) == 2
    said = text.getvalue()
    assert "replay refused" in said and "needs a ledger that holds nothing else" in said
    assert "differs" not in said
