"""tune_gc (ADR 0025): the collector runs far less often and start-up objects are frozen; the
`clmtv` program makes the setting, `main` (what tests call) does not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import ledger.cli as cli
from ledger.runtime import GC_GEN0_THRESHOLD, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tune_gc_raises_the_young_threshold_and_freezes(restored_gc: None) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    tune_gc()
    assert gc.get_threshold() == (max(before[0], GC_GEN0_THRESHOLD), before[1], before[2])
    assert gc.get_freeze_count() > 0


def test_the_program_tunes_the_collector_and_main_does_not(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(cli, "tune_gc", lambda: calls.append("tune"))
    monkeypatch.setattr(cli, "main", lambda: calls.append("main") or 0)
    assert cli.run() == 0
    assert calls == ["tune", "main"]
