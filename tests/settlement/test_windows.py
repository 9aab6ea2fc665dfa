"""Settlement windows: every legal transition works, every illegal one is refused by name."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency
from ledger.settlement.netting import NettingResult, net_obligations
from ledger.settlement.windows import SettlementWindow, WindowId, WindowState, can_move

FUNDS = ("TH-SSO", "KH-NSSF")
OPEN, CLOSED, SETTLING, SETTLED, ABORTED = (
    WindowState.OPEN, WindowState.CLOSED, WindowState.SETTLING, WindowState.SETTLED,
    WindowState.ABORTED,
)


def netting(rows: int, currency: Currency = Currency.USD) -> NettingResult:
    ones = np.ones(rows, dtype=np.int64)
    return net_obligations(ones * 0, ones, ones * 100, FUNDS, currency)


def window_in(state: WindowState) -> SettlementWindow:
    """A USD window with two transfers, walked to `state` along legal moves."""
    window = SettlementWindow(WindowId("win-usd-2027-01"), Currency.USD)
    window.add_transfers(["tr-1", "tr-2"])
    path = {
        OPEN: [],
        CLOSED: [CLOSED],
        SETTLING: [CLOSED, SETTLING],
        SETTLED: [CLOSED, SETTLING, SETTLED],
        ABORTED: [ABORTED],
    }[state]
    for step in path:
        MOVES[step](window)
    return window


MOVES: dict[WindowState, Callable[[SettlementWindow], None]] = {
    CLOSED: lambda w: w.close(netting(2)),
    SETTLING: lambda w: w.start_settling(),
    SETTLED: lambda w: w.settle(),
    ABORTED: lambda w: w.abort("hub statement rejected by KH-NSSF"),
}


def test_the_happy_path_records_contents_netting_and_history() -> None:
    window = window_in(SETTLED)
    assert window.state is SETTLED
    assert window.history == [OPEN, CLOSED, SETTLING, SETTLED]
    assert window.transfer_ids == ("tr-1", "tr-2") and "tr-1" in window and len(window) == 2
    assert window.netting is not None and window.netting.transfer_count == 2


@pytest.mark.parametrize("state", [OPEN, CLOSED, SETTLING])
def test_a_window_can_be_aborted_until_it_is_settled(state: WindowState) -> None:
    window = window_in(state)
    window.abort("FX rate source unavailable")
    assert window.state is ABORTED and window.abort_reason == "FX rate source unavailable"
    assert window.history[-2:] == [state, ABORTED]


ILLEGAL = [
    (start, target)
    for start in WindowState
    for target in MOVES
    if not can_move(start, target)
]


@pytest.mark.parametrize(("start", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_is_refused_and_changes_nothing(
    start: WindowState, target: WindowState
) -> None:
    window = window_in(start)
    before = (window.state, list(window.history), window.netting)

    with pytest.raises(DomainError) as err:
        MOVES[target](window)

    assert err.value.code is ErrorCode.ILLEGAL_WINDOW_TRANSITION
    assert err.value.details == {"from_state": start.value, "to_state": target.value}
    assert f"from {start} to {target}" in err.value.message
    assert (window.state, window.history, window.netting) == before


def test_the_legal_moves_are_exactly_the_documented_ones() -> None:
    legal = {(a, b) for a in WindowState for b in WindowState if can_move(a, b)}
    assert legal == {(OPEN, CLOSED), (OPEN, ABORTED), (CLOSED, SETTLING), (CLOSED, ABORTED),
                     (SETTLING, SETTLED), (SETTLING, ABORTED)}


@pytest.mark.parametrize("state", [CLOSED, SETTLING, SETTLED, ABORTED])
def test_transfers_are_taken_only_while_open(state: WindowState) -> None:
    window = window_in(state)
    with pytest.raises(DomainError) as err:
        window.add_transfer("tr-late")
    assert err.value.code is ErrorCode.WINDOW_NOT_OPEN
    assert "tr-late" not in window


def test_adding_is_all_or_nothing_and_refuses_a_repeat() -> None:
    window = window_in(OPEN)
    with pytest.raises(DomainError) as err:
        window.add_transfers(["tr-3", "tr-4", "tr-3"])
    assert (err.value.code, err.value.index) == (ErrorCode.ID_CONFLICT, 2)
    with pytest.raises(DomainError) as err:
        window.add_transfers(["tr-5", "tr-1"])
    assert err.value.code is ErrorCode.ID_CONFLICT
    with pytest.raises(DomainError) as err:
        window.add_transfers(["tr-6", "bad id"])
    assert err.value.code is ErrorCode.INVALID_ID
    assert window.transfer_ids == ("tr-1", "tr-2")


def test_closing_needs_the_netting_of_exactly_these_transfers_in_its_currency() -> None:
    window = window_in(OPEN)
    with pytest.raises(DomainError) as err:
        window.close(netting(3))
    assert err.value.code is ErrorCode.INVALID_INPUT and window.state is OPEN
    with pytest.raises(DomainError) as err:
        window.close(netting(2, Currency.THB))
    assert err.value.code is ErrorCode.CURRENCY_MISMATCH and window.state is OPEN
    window.close(netting(2))
    assert window.state is CLOSED


def test_an_abort_needs_a_reason_and_a_window_a_valid_id() -> None:
    window = window_in(OPEN)
    with pytest.raises(DomainError, match="reason"):
        window.abort("  ")
    assert window.state is OPEN
    with pytest.raises(DomainError) as err:
        SettlementWindow(WindowId("no spaces"), Currency.USD)
    assert err.value.code is ErrorCode.INVALID_ID
