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


# -- what each refusal says ----------------------------------------------------------------------

WINDOW = "win-usd-2027-01"


def refused(call: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as err:
        call()
    return err.value


def test_a_new_window_is_open_empty_and_has_only_its_first_state() -> None:
    window = SettlementWindow(WindowId(WINDOW), Currency.USD)
    assert (window.state, window.history, window.netting, window.abort_reason) == (
        OPEN, [OPEN], None, None)
    assert (len(window), window.transfer_ids, "tr-1" in window) == (0, (), False)
    window.add_transfer("tr-1")
    assert (len(window), window.transfer_ids, "tr-1" in window) == (1, ("tr-1",), True)


def test_a_repeated_transfer_is_refused_naming_it_the_window_and_its_index() -> None:
    window = window_in(OPEN)
    err = refused(lambda: window.add_transfers(["tr-3", "tr-4", "tr-3"]))
    assert (err.code, err.field, err.index) == (ErrorCode.ID_CONFLICT, "transfer_id", 2)
    assert err.message == f"transfer tr-3 is already in window {WINDOW}"
    err = refused(lambda: window.add_transfers(["tr-5", "tr-1"]))
    assert (err.code, err.field, err.index) == (ErrorCode.ID_CONFLICT, "transfer_id", 1)
    assert err.message == f"transfer tr-1 is already in window {WINDOW}"
    err = refused(lambda: window.add_transfers(["tr-6", "bad id"]))
    assert (err.code, err.field) == (ErrorCode.INVALID_ID, "transfer_id")
    assert window.transfer_ids == ("tr-1", "tr-2")


@pytest.mark.parametrize("state", [CLOSED, SETTLING, SETTLED, ABORTED])
def test_a_closed_window_names_its_state_when_refusing_transfers(state: WindowState) -> None:
    window = window_in(state)
    err = refused(lambda: window.add_transfers(["tr-late"]))
    assert (err.code, err.field, err.details) == (ErrorCode.WINDOW_NOT_OPEN, None,
                                                  {"state": state.value})
    assert err.message == f"window {WINDOW} is {state}; transfers go to the next open window"


def test_closing_refusals_say_what_differs() -> None:
    window = window_in(OPEN)
    err = refused(lambda: window.close(netting(3)))
    assert (err.code, err.field) == (ErrorCode.INVALID_INPUT, "netting")
    assert err.message == "netting covers 3 transfers, the window holds 2"
    err = refused(lambda: window.close(netting(2, Currency.THB)))
    assert (err.code, err.field) == (ErrorCode.CURRENCY_MISMATCH, None)
    assert err.message == f"window {WINDOW} settles in USD, its netting is in THB"
    assert (window.state, window.history, window.netting) == (OPEN, [OPEN], None)
    result = netting(2)
    window.close(result)
    assert window.netting is result


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        (OPEN, SETTLING, "aborted, closed"),
        (CLOSED, SETTLED, "aborted, settling"),
        (SETTLING, CLOSED, "aborted, settled"),
        (SETTLED, ABORTED, "none: it is final"),
        (ABORTED, CLOSED, "none: it is final"),
    ],
)
def test_an_illegal_move_names_both_states_and_the_allowed_ones(
    start: WindowState, target: WindowState, allowed: str
) -> None:
    err = refused(lambda: MOVES[target](window_in(start)))
    assert (err.code, err.field) == (ErrorCode.ILLEGAL_WINDOW_TRANSITION, None)
    assert err.message == (
        f"window {WINDOW} cannot go from {start} to {target} (allowed: {allowed})")


@pytest.mark.parametrize("reason", ["", "  ", "\t\n"])
def test_an_abort_without_a_reason_names_the_field(reason: str) -> None:
    window = window_in(CLOSED)
    err = refused(lambda: window.abort(reason))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_INPUT, "reason", "an abort needs a reason")
    assert (window.state, window.abort_reason, window.history) == (CLOSED, None, [OPEN, CLOSED])


def test_a_final_window_refuses_an_abort_before_looking_at_the_reason() -> None:
    err = refused(lambda: window_in(SETTLED).abort(""))
    assert err.code is ErrorCode.ILLEGAL_WINDOW_TRANSITION


def test_a_window_id_is_checked_under_its_own_name() -> None:
    err = refused(lambda: SettlementWindow(WindowId("no spaces"), Currency.USD))
    assert (err.code, err.field) == (ErrorCode.INVALID_ID, "window_id")
