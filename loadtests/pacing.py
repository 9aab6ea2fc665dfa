"""Arrival rates, not user counts: how a Locust process sends each kind of action at the rate the
traffic shape asks for.

Owns `Pace`, the process's copy of what the shape (on the master) last broadcast — the step, each
kind's rate for the whole test, events due so far (a settlement window to close) and how many
Locust worker processes share the load — and `Pacer`, which hands out send times one rate-interval
apart to whichever user of the kind is free. Users are concurrency, the shape's rates are the load:
when every user of a kind is busy (the server is slow), the slots that pass are counted as
`missed`, so a report can tell "the ledger kept up" from "the generator stopped offering".
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

# Kinds sent by a single user for the whole test (the funds' message channels are sequenced:
# one sender per channel), so their rate is never split between processes.
SINGLETON_KINDS = frozenset({"fund_message", "window_close", "day_file"})
EVENT_KINDS = frozenset({"window_close", "day_file"})  # counted events, not rates
HORIZON_S = 1.0  # a user holds a slot at most this far ahead, so rate changes apply quickly


@dataclass(slots=True)
class Pacer:
    rate: float = 0.0  # this process's share, per second
    next_at: float = 0.0
    offered: int = 0
    missed: float = 0.0

    def set_rate(self, rate: float, now: float) -> None:
        if self.rate <= 0 < rate:
            self.next_at = now  # starting: nothing was missed while the kind was idle
        self.rate = rate

    def claim(self, now: float) -> float | None:
        """Seconds to wait for the next slot, or None when there is none within the horizon."""
        if self.rate <= 0:
            return None
        interval = 1.0 / self.rate
        if self.next_at < now - interval:  # every user was busy: those arrivals never left
            self.missed += (now - self.next_at) / interval
            self.next_at = now
        slot = max(now, self.next_at)
        if slot - now > HORIZON_S:
            return None
        self.next_at = slot + interval
        self.offered += 1
        return slot - now

    def take_backlog(self, now: float, backlog_s: float, most: int) -> int:
        """For a gathering user: the slots due by now, at most `most` (the rest stay due).
        Slots more than `backlog_s` (or one interval) old were never taken: missed."""
        if self.rate <= 0 or self.next_at > now:
            return 0
        interval = 1.0 / self.rate
        oldest = now - max(backlog_s, interval)
        if self.next_at < oldest:
            self.missed += (oldest - self.next_at) / interval
            self.next_at = oldest
        taken = min(int((now - self.next_at) / interval + 1e-9) + 1, most)  # 0.02/0.01 < 2
        self.next_at += taken * interval
        self.offered += taken
        return taken

    def take_due(self, now: float, most: int) -> int:
        """For a batching user: every slot up to now at once. Slots beyond `most` are missed."""
        if self.rate <= 0 or self.next_at > now:
            return 0
        interval = 1.0 / self.rate
        due = int((now - self.next_at) / interval) + 1
        taken = min(due, most)
        if due > most:
            self.missed += due - most
            self.next_at = now + interval
        else:
            self.next_at += taken * interval
        self.offered += taken
        return taken


@dataclass(slots=True)
class Pace:
    step: str = "-"
    workers: int = 1  # Locust processes sharing the load
    index: int = 0  # this process's place among them
    pacers: dict[str, Pacer] = field(default_factory=dict)
    events_due: dict[str, int] = field(default_factory=dict)
    events_done: dict[str, int] = field(default_factory=dict)
    running: bool = True

    def pacer(self, kind: str) -> Pacer:
        found = self.pacers.get(kind)
        if found is None:
            found = self.pacers[kind] = Pacer()
        return found

    def apply(self, message: dict[str, Any], now: float | None = None) -> None:
        """A broadcast from the shape: {step, workers, rates (whole test), events (due)}."""
        now = time.monotonic() if now is None else now
        self.step = str(message["step"])
        self.workers = max(1, int(message.get("workers", 1)))
        rates = message.get("rates", {})
        for kind in set(rates) | set(self.pacers):  # a kind left out is idle now
            rate = float(rates.get(kind, 0.0))
            share = rate if kind in SINGLETON_KINDS else rate / self.workers
            self.pacer(kind).set_rate(share, now)
        self.events_due.update({k: int(v) for k, v in message.get("events", {}).items()})

    def wait(self, kind: str) -> bool:
        """Sleep until this user's next slot of `kind`; False when there is none yet."""
        # Locust's event loop, imported here so that the arithmetic above needs none.
        import gevent  # type: ignore[import-untyped]

        delay = self.pacer(kind).claim(time.monotonic())
        if delay is None:
            gevent.sleep(random.uniform(0.3, 0.6))  # noqa: S311 - spreading wake-ups, not a secret
            return False
        if delay > 0:
            gevent.sleep(delay)
        return True

    def event_due(self, kind: str) -> bool:
        """Whether an event of `kind` is due and not yet taken (and take it)."""
        if self.events_due.get(kind, 0) > self.events_done.get(kind, 0):
            self.events_done[kind] = self.events_done.get(kind, 0) + 1
            return True
        return False

    def counters(self) -> dict[str, dict[str, float]]:
        """Offered and missed slots per kind since the last call (for the step's report)."""
        out = {}
        for kind, p in self.pacers.items():
            if p.offered or p.missed:
                out[kind] = {"offered": p.offered, "missed": p.missed}
                p.offered, p.missed = 0, 0.0
        return out


PACE = Pace()  # one per Locust process
