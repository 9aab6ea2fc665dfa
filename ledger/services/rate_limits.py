"""Request rate limits per principal: one token bucket per caller, kept in this process.

A bucket holds up to `burst` requests and refills at `rate_per_s`; a request takes one, and a
caller whose bucket is empty is told how many whole seconds until one is back (`Retry-After`).
Callers are principals by name; requests without a valid token are counted per client address,
so that guessing tokens is slowed down too. The buckets are per process (ADR 0053): a server of
N processes lets a principal through at up to N times the rate. The number of buckets is bounded:
past `max_buckets`, full buckets are forgotten first (forgetting one changes nothing), then the
oldest (which can only give that caller a fresh burst early).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_BUCKETS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets by caller key; `rate_per_s` 0 turns limiting off."""

    def __init__(self, rate_per_s: float, burst: int,
                 clock: Callable[[], float] = time.monotonic,
                 max_buckets: int = MAX_BUCKETS) -> None:
        if rate_per_s < 0 or burst < 1:
            raise ValueError("a rate limit needs rate_per_s >= 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate_per_s > 0

    def take(self, key: str) -> int:
        """0 when the caller may go on (one request counted), else the whole seconds after
        which one request will be allowed again."""
        if not self.enabled:
            return 0
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._make_room(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst),
                                bucket.tokens + (now - bucket.at) * self.rate_per_s)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate_per_s))

    def __len__(self) -> int:
        return len(self._buckets)

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self.max_buckets:
            return
        refill_s = self.burst / self.rate_per_s
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < refill_s}
        if len(self._buckets) >= self.max_buckets:  # all busy: the older half goes
            keep = list(self._buckets.items())[len(self._buckets) // 2:]
            self._buckets = dict(keep)
