"""A channel's server gathering its workers' taps into batches, without Locust: the pure half of
`users.ChannelGatherer`.

Owns `GatherConfig` (how long a window stays open, how many payments close it early, the share
of batches sent again whole), `Windows` (one open window per channel: it opens at its first tap
and closes when it holds `size` payments or `window_s` after it opened), `gather` (one round of
the gathering loop: taps arriving at the pacer's rate go into their channel's window until one
closes; clock and sleep are given, so a test can run it on a made-up clock), `PriceBook` (the
price of each purchase the channel sells, from one hub quote per distinct purchase, asked again
before the quote expires: a payment's price depends on the fund, scheme, months, income and
day, never on the worker), and the batch's wire format both ways (`payment_body`,
`read_answer`, `resend_problems`).
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loadtests.data import Payer
from loadtests.pacing import Pacer

KIND = "channel_batch"
BATCH_MAX = 200  # the ledger's PAYMENT_BATCH_MAX: a longer batch is refused whole
QUOTE_MARGIN_S = 60.0  # a price is asked again this long before its quote expires
IDLE_S = 0.5  # a gathering round with nothing to send ends after this (Locust may stop users)


@dataclass(frozen=True, slots=True)
class GatherConfig:
    size: int = 20  # payments that close a window early
    window_ms: float = 20.0  # how long a window stays open after its first tap
    resend_share: float = 0.05  # batches sent again whole after their answer (a lost answer)

    def __post_init__(self) -> None:
        if not 1 <= self.size <= BATCH_MAX:
            raise ValueError(f"a batch holds 1 to {BATCH_MAX} payments, not {self.size}")
        if not 0 < self.window_ms <= 10_000:
            raise ValueError(f"the gathering window is 0-10,000 ms, not {self.window_ms}")
        if not 0 <= self.resend_share <= 1:
            raise ValueError(f"the resent share is between 0 and 1, not {self.resend_share}")

    @property
    def window_s(self) -> float:
        return self.window_ms / 1000

    @classmethod
    def from_env(cls) -> GatherConfig:
        """`CLMTV_LT_BATCH`: JSON `{"size": 20, "window_ms": 20, "resend_share": 0.05}`."""
        given = json.loads(os.environ.get("CLMTV_LT_BATCH") or "{}")
        return cls(**{k: given[k] for k in ("size", "window_ms", "resend_share") if k in given})

    def batches_per_s(self, rate: float, channels: int = 3) -> float:
        """At most how many batches a rate of taps makes: full windows, plus at most one window
        closed by time per channel and window length; never more batches than taps."""
        return min(rate, rate / self.size + channels / self.window_s)


@dataclass(frozen=True, slots=True)
class Tap:
    payer: Payer
    month: str
    ref: str


@dataclass(slots=True)
class _Window:
    opened: float
    taps: list[Tap] = field(default_factory=list)


class Windows:
    """Each channel's open window; full ones wait in order to be sent."""

    def __init__(self, config: GatherConfig) -> None:
        self.config = config
        self.open: dict[str, _Window] = {}
        self.full: deque[tuple[str, list[Tap]]] = deque()

    def add(self, tap: Tap, now: float) -> None:
        channel = tap.payer.channel
        window = self.open.get(channel)
        if window is None:
            window = self.open[channel] = _Window(now)
        window.taps.append(tap)
        if len(window.taps) >= self.config.size:
            self.full.append((channel, window.taps))
            del self.open[channel]

    def take(self, now: float) -> tuple[str, list[Tap]] | None:
        """A batch to send: a full window first, else the oldest window whose time is up."""
        if self.full:
            return self.full.popleft()
        due = [(w.opened, c) for c, w in self.open.items()
               if now - w.opened >= self.config.window_s]
        if not due:
            return None
        channel = min(due)[1]
        return channel, self.open.pop(channel).taps

    def next_close(self) -> float | None:
        return min((w.opened + self.config.window_s for w in self.open.values()), default=None)

    @property
    def waiting(self) -> int:
        return sum(len(w.taps) for w in self.open.values()) + sum(len(t) for _, t in self.full)


def gather(windows: Windows, pacer: Pacer, next_tap: Callable[[], Tap | None],
           clock: Callable[[], float], sleep: Callable[[float], None]
           ) -> tuple[str, list[Tap]] | None:
    """One gathering round: take the taps whose time has come into their channel's window until
    a window closes (returned), or `IDLE_S` passes with none closing (None). A tap older than
    one window when taken was never gathered (every user of the kind busy): it is missed, as a
    single payer's slot that passed is. `next_tap` None: the payers ran dry (the round ends)."""
    started = clock()
    while True:
        now = clock()
        for _ in range(pacer.take_backlog(now, windows.config.window_s, BATCH_MAX)):
            tap = next_tap()
            if tap is None:
                return windows.take(float("inf")) if windows.open or windows.full else None
            windows.add(tap, now)
        batch = windows.take(now)
        if batch is not None:
            return batch
        if now - started >= IDLE_S:
            return None
        wake = min(t for t in (pacer.next_at if pacer.rate > 0 else None,
                               windows.next_close(), started + IDLE_S) if t is not None)
        sleep(max(0.0, wake - now))


@dataclass(frozen=True, slots=True)
class Price:
    quote_id: str
    contribution: dict[str, str]
    paid: dict[str, str]
    expires_at: float  # epoch seconds


def purchase(payer: Payer, month: str) -> dict[str, Any]:
    """What the worker buys: the quote's and the payment's common fields."""
    out: dict[str, Any] = {"fund": payer.fund, "worker_id": payer.worker_id,
                           "scheme": payer.scheme, "months": [month]}
    if payer.declared_income_minor:
        out["declared_income"] = {"amount_minor": payer.declared_income_minor,
                                  "currency": payer.home_currency}
    return out


def price_key(payer: Payer, month: str) -> tuple[str, ...]:
    return (payer.channel, payer.wallet_currency, payer.fund, payer.scheme,
            payer.declared_income_minor, month)


class PriceBook:
    """The channel server's prices: one hub quote per distinct purchase, its rate locked until
    the quote expires; asked again `QUOTE_MARGIN_S` before that."""

    def __init__(self) -> None:
        self.prices: dict[tuple[str, ...], Price] = {}

    def get(self, key: tuple[str, ...], now: float) -> Price | None:
        found = self.prices.get(key)
        if found is None or found.expires_at - QUOTE_MARGIN_S <= now:
            return None
        return found

    def put(self, key: tuple[str, ...], quote: dict[str, Any]) -> Price:
        expires = datetime.fromisoformat(str(quote["expires_at"]).replace("Z", "+00:00"))
        price = Price(str(quote["quote_id"]), quote["price"]["contribution"],
                      quote["price"]["total"], expires.timestamp())
        self.prices[key] = price
        return price


def payment_body(tap: Tap, price: Price) -> dict[str, Any]:
    return {"channel_ref": tap.ref, **purchase(tap.payer, tap.month), "quote_id": price.quote_id,
            "contribution": price.contribution, "paid": price.paid}


@dataclass(slots=True)
class Answer:
    """A batch's answer read per payment: the acknowledged ones (created or exists) with their
    records, and the failed ones by problem code and field."""

    acknowledged: list[tuple[Tap, dict[str, Any]]] = field(default_factory=list)
    created: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def failure_text(self, status: int) -> str | None:
        if not self.failures:
            return None
        failed = sum(self.failures.values())
        codes = ", ".join(f"{n} x {c}" for c, n in sorted(self.failures.items()))
        return f"{status}: {failed} of the batch's payments failed: {codes}"


def read_answer(taps: list[Tap], body: dict[str, Any]) -> Answer:
    answer = Answer()
    results = body.get("results", [])
    if len(results) != len(taps):
        answer.failures[f"answered {len(results)} of {len(taps)}"] = len(taps)
        return answer
    for tap, item in zip(taps, results, strict=True):
        if item.get("status") in ("created", "exists"):
            answer.acknowledged.append((tap, item["payment"]))
            answer.created += item["status"] == "created"
        else:
            problem = item.get("problem") or {}
            code = f"{problem.get('code', 'unknown')} ({problem.get('field') or '-'})"
            answer.failures[code] = answer.failures.get(code, 0) + 1
    return answer


def ack_fields(tap: Tap, payment: dict[str, Any]) -> dict[str, Any]:
    """An acknowledged payment as the ack log states it: the same fields a single payment's
    acknowledgement has (`users.VoluntaryPayer`), so that the audit checks both alike."""
    payer = tap.payer
    return {"payment_id": payment["payment_id"], "channel": payer.channel, "channel_ref": tap.ref,
            "day": payment["day"], "worker_id": payer.worker_id, "fund": payer.fund,
            "scheme": payer.scheme, "paid": payment["paid"], "fee": payment["fee"],
            "contribution": payment["contribution"], "via": "batch"}


def resend_problems(first: Answer, again: dict[str, Any]) -> list[str]:
    """A batch sent again whole: every payment acknowledged the first time must answer
    `exists` with the same payment and the same signed receipt."""
    results = again.get("results", [])
    by_ref = {}
    for item in results:
        payment = item.get("payment") or {}
        by_ref[payment.get("channel_ref")] = item
    problems = []
    for tap, payment in first.acknowledged:
        item = by_ref.get(tap.ref)
        if item is None:
            problems.append(f"{tap.ref}: not acknowledged again")
            continue
        answered = item["payment"]
        if item.get("status") != "exists":
            problems.append(f"{tap.ref}: answered {item.get('status')}, not exists")
        elif (answered["payment_id"], answered.get("receipt")) != (
                payment["payment_id"], payment.get("receipt")):
            problems.append(f"{tap.ref}: answered as {answered['payment_id']}, first "
                            f"{payment['payment_id']}, or with another receipt")
    return problems
