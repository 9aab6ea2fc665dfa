"""Rate limits per principal (issue 16 item 3, ADR 0053): past its burst a caller gets 429
problem+json with `Retry-After`, other callers are untouched, and the bucket refills with time.
Requests without a valid token are counted per client address."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.db.tables import accounts
from ledger.services.rate_limits import RateLimiter
from tests.api.conftest import Api

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limited(api: Api, rate_per_s: float, burst: int) -> Clock:
    clock = Clock()
    api.services.rate_limits = RateLimiter(rate_per_s, burst, clock=clock)
    return clock


async def test_a_principal_past_its_burst_gets_429_with_retry_after(api: Api) -> None:
    clock = _limited(api, rate_per_s=0.5, burst=3)
    for _ in range(3):
        assert (await api.http.get("/v1/accounts", headers=api.auth("th"))).status_code == 200
    refused = await api.http.get("/v1/accounts", headers=api.auth("th"))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "2"  # one request at 0.5 per second
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["details"] == {"retry_after_s": 2}
    # Another principal has its own bucket.
    assert (await api.http.get("/v1/accounts", headers=api.auth("jp"))).status_code == 200
    clock.now += 2
    assert (await api.http.get("/v1/accounts", headers=api.auth("th"))).status_code == 200
    assert (await api.http.get("/v1/accounts", headers=api.auth("th"))).status_code == 429


async def test_a_refused_write_books_nothing(api: Api, uid: str) -> None:
    _limited(api, rate_per_s=1, burst=1)
    body = {"key": f"rl-{uid}", "code": "operating", "currency": "THB"}
    first = await api.http.post("/v1/accounts", headers=api.auth("operator"), json=body)
    assert first.status_code == 201, first.text
    again = {**body, "key": f"rl2-{uid}"}
    refused = await api.http.post("/v1/accounts", headers=api.auth("operator"), json=again)
    assert refused.status_code == 429
    async with api.services.db.engine.connect() as conn:
        keys = (await conn.execute(select(accounts.c.key).where(
            accounts.c.key.like(f"rl%-{uid}")))).scalars().all()
    assert keys == [f"rl-{uid}"]


async def test_callers_without_a_valid_token_are_limited_by_address(api: Api) -> None:
    _limited(api, rate_per_s=0.1, burst=2)
    answers = [(await api.http.get("/v1/accounts", headers=h)).status_code
               for h in ({}, {"Authorization": "Bearer guess-1"}, {"Authorization": "Bearer g2"})]
    assert answers == [401, 401, 429]
    # A principal with a valid token from the same address is not held back.
    assert (await api.http.get("/v1/accounts", headers=api.auth("th"))).status_code == 200


async def test_limits_off_let_everything_through(api: Api) -> None:
    api.services.rate_limits = RateLimiter(0, 1)
    for _ in range(20):
        assert (await api.http.get("/v1/accounts", headers=api.auth("th"))).status_code == 200


def test_the_number_of_buckets_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 5, clock=clock, max_buckets=100)
    for n in range(1000):
        limiter.take(f"caller-{n}")
        clock.now += 0.001
    assert len(limiter) <= 100
    # Forgetting full buckets first: a bucket refilled long ago is dropped, a busy one kept.
    limiter = RateLimiter(1, 2, clock=clock, max_buckets=2)
    limiter.take("idle")
    clock.now += 10
    limiter.take("busy")
    limiter.take("busy")
    limiter.take("new")
    assert limiter.take("busy") == 1  # still empty: it was kept


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_s >= 0"):
        RateLimiter(-1, 1)
    with pytest.raises(ValueError, match="burst >= 1"):
        RateLimiter(1, 0)
