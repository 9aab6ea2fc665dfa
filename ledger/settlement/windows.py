"""Settlement windows: one per currency and cycle, and the state machine they follow.

    open ──close──▶ closed ──start_settling──▶ settling ──settle──▶ settled
      └──────────────┴───────────────────────────┴──abort──▶ aborted

Owns which transfers a window holds (ids, added only while open), the netting result fixed when
it closes, and which moves between states are legal; every illegal move is a `DomainError`
naming both states. Pure: the service persists the window, signs the statement, posts the
payments and calls these methods in that order. `settled` and `aborted` are final: an aborted
window's transfers go into a new window, never back into this one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import NewType

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ids import check_id
from ledger.domain.money import Currency
from ledger.settlement.netting import NettingResult

WindowId = NewType("WindowId", str)


class WindowState(StrEnum):
    OPEN = "open"  # accepting transfers
    CLOSED = "closed"  # contents and netting fixed; statement being signed and confirmed
    SETTLING = "settling"  # settlement payments instructed, awaiting their confirmation
    SETTLED = "settled"  # payments confirmed and posted
    ABORTED = "aborted"  # given up; its transfers must be offered to a later window


_NEXT: MappingProxyType[WindowState, frozenset[WindowState]] = MappingProxyType(
    {
        WindowState.OPEN: frozenset({WindowState.CLOSED, WindowState.ABORTED}),
        WindowState.CLOSED: frozenset({WindowState.SETTLING, WindowState.ABORTED}),
        WindowState.SETTLING: frozenset({WindowState.SETTLED, WindowState.ABORTED}),
        WindowState.SETTLED: frozenset(),
        WindowState.ABORTED: frozenset(),
    }
)


def can_move(from_state: WindowState, to_state: WindowState) -> bool:
    return to_state in _NEXT[from_state]


@dataclass(slots=True)
class SettlementWindow:
    """One window. Mutable on purpose: a monthly window can hold a million transfer ids."""

    window_id: WindowId
    currency: Currency
    state: WindowState = WindowState.OPEN
    netting: NettingResult | None = None
    abort_reason: str | None = None
    history: list[WindowState] = field(default_factory=lambda: [WindowState.OPEN])
    # An insertion-ordered set: membership in O(1), ids kept in arrival order for statements.
    _transfers: dict[str, None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_id(self.window_id, "window_id")

    @property
    def transfer_ids(self) -> tuple[str, ...]:
        return tuple(self._transfers)

    def __len__(self) -> int:
        return len(self._transfers)

    def __contains__(self, transfer_id: object) -> bool:
        return transfer_id in self._transfers

    # -- contents -------------------------------------------------------------------------------
    def add_transfers(self, transfer_ids: Iterable[str]) -> None:
        """Add transfers, all or none: a bad or repeated id rejects the whole batch."""
        self._require_open()
        batch: dict[str, None] = {}
        for index, transfer_id in enumerate(transfer_ids):
            check_id(transfer_id, "transfer_id")
            if transfer_id in self._transfers or transfer_id in batch:
                raise DomainError(
                    ErrorCode.ID_CONFLICT,
                    f"transfer {transfer_id} is already in window {self.window_id}",
                    field="transfer_id",
                    index=index,
                )
            batch[transfer_id] = None
        self._transfers.update(batch)

    def add_transfer(self, transfer_id: str) -> None:
        self.add_transfers((transfer_id,))

    def _require_open(self) -> None:
        if self.state is not WindowState.OPEN:
            raise DomainError(
                ErrorCode.WINDOW_NOT_OPEN,
                f"window {self.window_id} is {self.state}; transfers go to the next open window",
                details={"state": self.state.value},
            )

    # -- transitions ----------------------------------------------------------------------------
    def close(self, netting: NettingResult) -> None:
        """Fix the contents; `netting` must be the netting of exactly these transfers."""
        self._check_move(WindowState.CLOSED)
        if netting.currency is not self.currency:
            raise DomainError(
                ErrorCode.CURRENCY_MISMATCH,
                f"window {self.window_id} settles in {self.currency}, "
                f"its netting is in {netting.currency}",
            )
        if netting.transfer_count != len(self._transfers):
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"netting covers {netting.transfer_count} transfers, the window holds "
                f"{len(self._transfers)}",
                field="netting",
            )
        self.netting = netting
        self._move(WindowState.CLOSED)

    def start_settling(self) -> None:
        self._check_move(WindowState.SETTLING)
        self._move(WindowState.SETTLING)

    def settle(self) -> None:
        self._check_move(WindowState.SETTLED)
        self._move(WindowState.SETTLED)

    def abort(self, reason: str) -> None:
        self._check_move(WindowState.ABORTED)
        if not reason.strip():
            raise DomainError(ErrorCode.INVALID_INPUT, "an abort needs a reason", field="reason")
        self.abort_reason = reason
        self._move(WindowState.ABORTED)

    def _check_move(self, to_state: WindowState) -> None:
        if not can_move(self.state, to_state):
            allowed = ", ".join(sorted(_NEXT[self.state])) or "none: it is final"
            raise DomainError(
                ErrorCode.ILLEGAL_WINDOW_TRANSITION,
                f"window {self.window_id} cannot go from {self.state} to {to_state} "
                f"(allowed: {allowed})",
                details={"from_state": self.state.value, "to_state": to_state.value},
            )

    def _move(self, to_state: WindowState) -> None:
        self.state = to_state
        self.history.append(to_state)
