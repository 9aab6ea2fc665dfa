"""Retention of the records that answer retries: idempotency keys and applied inbox messages
(ADR 0054).

A record is deleted when it is older than the retention (35 days by default, never under 31)
and a settlement window that opened after it has finished (settled or aborted), together with
every window of its currency opened before that one, in every currency that has windows. A
window takes the flows posted before it closes, so the window that covers a record is the one
open when it came or a later one: this finished window or an earlier one. Deleting a record
never lets a retry post twice, because neither kind of record is what stops a double posting:

- every request that takes an Idempotency-Key names its effects by ids of its own (a
  contribution id, derived from worker, fund, scheme and month unless chosen; a payment's
  channel reference), unique in the ledger forever: a retry after the key is gone is answered
  "exists" (200) and books nothing;
- an applied message's sequence number is below its channel's next one, which is never
  deleted (`stale_seq`), and its `exp` has passed too (`message_expired`): its life is at most
  30 days and the retention is longer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger.db import replay_records_repo as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.limits import (
    REPLAY_RECORDS_KEEP_DAYS,
    REPLAY_RECORDS_KEEP_DAYS_MIN,
    REPLAY_RECORDS_PRUNE_BATCH,
)

DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True, slots=True)
class Horizon:
    """Records stored before `before_us` may go; `held_by` names the window that sets it
    (None: the age alone)."""

    before_us: int
    held_by: str | None


@dataclass(frozen=True, slots=True)
class PruneReport:
    horizon: Horizon
    idempotency_keys: int
    inbox_messages: int
    dry_run: bool

    def to_dict(self) -> dict[str, object]:
        return {"before_us": self.horizon.before_us, "held_by_window": self.horizon.held_by,
                "idempotency_keys": self.idempotency_keys,
                "inbox_messages": self.inbox_messages, "dry_run": self.dry_run}


def check_keep_days(keep_days: int) -> int:
    if keep_days < REPLAY_RECORDS_KEEP_DAYS_MIN:
        raise DomainError(ErrorCode.INVALID_INPUT, f"keep at least "
                          f"{REPLAY_RECORDS_KEEP_DAYS_MIN} days: a message lives up to 30 days, "
                          "and its record must outlive it", field="keep_days")
    return keep_days


FINISHED_WINDOW_STATES = frozenset({"settled", "aborted"})


def windows_horizon(windows: list[tuple[str, str, str, int]]) -> Horizon:
    """Records stored before this may go as far as the windows are concerned: per currency,
    the opening of the latest window that has finished with every window opened before it;
    the earliest of those over the currencies. No window, or a currency whose first window has
    not finished: nothing may go (before 0), held by that window."""
    if not windows:
        return Horizon(0, None)
    by_currency: dict[str, list[tuple[int, str, str]]] = {}
    for window_id, currency, state, opened_at_us in windows:
        by_currency.setdefault(currency, []).append((opened_at_us, window_id, state))
    found = Horizon(2**63 - 1, None)
    for opened in by_currency.values():
        opened.sort()
        finished = Horizon(0, opened[0][1])
        for opened_at_us, window_id, state in opened:
            if state not in FINISHED_WINDOW_STATES:
                break
            finished = Horizon(opened_at_us, window_id)
        if finished.before_us < found.before_us:
            found = finished
    return found


async def horizon(db: Database, now_us: int, keep_days: int = REPLAY_RECORDS_KEEP_DAYS
                  ) -> Horizon:
    by_age = now_us - check_keep_days(keep_days) * DAY_US
    by_windows = windows_horizon(await repo.windows(db))
    return by_windows if by_windows.before_us < by_age else Horizon(by_age, None)


async def prune(db: Database, now_us: int, keep_days: int = REPLAY_RECORDS_KEEP_DAYS, *,
                dry_run: bool = False, batch: int = REPLAY_RECORDS_PRUNE_BATCH,
                progress: Callable[[int, int], None] | None = None) -> PruneReport:
    """Delete what is past the horizon, `batch` rows per transaction (an interrupted prune
    leaves a consistent database and the next one goes on); `progress(keys, messages)` after
    each batch. `dry_run` only counts."""
    found = await horizon(db, now_us, keep_days)
    if dry_run:
        keys, messages = await repo.count_before(db, found.before_us)
        return PruneReport(found, keys, messages, True)
    keys = messages = 0
    while True:
        deleted = await repo.delete_idempotency_keys(db, found.before_us, batch)
        keys += deleted
        if progress:
            progress(keys, messages)
        if deleted < batch:
            break
    while True:
        deleted = await repo.delete_applied_messages(db, found.before_us, batch)
        messages += deleted
        if progress:
            progress(keys, messages)
        if deleted < batch:
            break
    return PruneReport(found, keys, messages, False)
