"""Shared by the channel tests: rates, a channel's token, a day of its own per test, bodies.

Worked by hand for the bodies below (voluntary SI, VN-VSS, a declared income of 5,000,000 VND,
Mekong Wallet in THB at the test rates THB/USD 0.028 and USD/VND 25,000, i.e. 700 VND a baht):
22% of 5,000,000 = 1,100,000 VND; 1,100,000 / 700 = 1,571.428… THB, rounded up (the pilot
agreement's channel FX rounding) to 157,143 satang; the fee is 1% of it, 1,571.43 satang,
rounded half up to 1,571 (between the schedule's 10 and 100 THB, under the 3% cap); the worker
pays 158,714 satang; 157,143 satang are worth 1,100,001 VND, so 1 VND of FX difference.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ledger.composition import Services
from ledger.domain.principals import Principal, PrincipalKind
from tests.api.conftest import Api
from tests.api.helpers import member_number

OPERATOR = Principal("test-operator", PrincipalKind.HUB_OPERATOR)
MEKONG, SAKURA = "mekong-wallet-th", "sakura-remit-jp"
RATES = [("THB", "USD", "0.028"), ("USD", "VND", "25000"), ("JPY", "USD", "0.0067"),
         ("MYR", "USD", "0.22"), ("USD", "KHR", "4100")]
INCOME = {"amount_minor": "5000000", "currency": "VND"}
CONTRIBUTION = {"amount_minor": "1100000", "currency": "VND"}
PAID = {"amount_minor": "158714", "currency": "THB"}
PRINCIPAL, FEE, FX_DIFFERENCE = 157_143, 1_571, 1
# Each test that needs a business day of Mekong Wallet's to itself takes the next one.
_DAYS = itertools.count()


def own_day() -> date:
    """A past day no other test of this run uses (voluntary SI is priced from 2025-07)."""
    return date(2025, 8, 1) + timedelta(days=next(_DAYS))


def at(day: date, hour: int = 10, offset_hours: int = 7) -> int:
    """µs since the epoch of a local time on `day` at a channel with this UTC offset."""
    moment = (datetime.combine(day, time(0), tzinfo=UTC)
              + timedelta(hours=hour - offset_hours))
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


async def set_rates(services: Services) -> None:
    for base, quote, rate in RATES:
        await services.portability.set_rate(OPERATOR, base, quote, rate, "test reference rate")


async def channel_token(api: Api, uid: str, channel: str = MEKONG) -> dict[str, str]:
    token = await api.services.clients.register(f"{channel}-{uid}", PrincipalKind.CHANNEL,
                                                channel)
    return {"Authorization": f"Bearer {token}"}


async def vn_worker(api: Api, uid: str) -> str:
    response = await api.http.post("/v1/workers", headers=api.auth("operator"), json={
        "id": f"wkr_{uid}", "nationality": "VN",
        "memberships": [{"fund": "VN-VSS", "member_number": member_number("VN-VSS", uid)}]})
    assert response.status_code == 201, response.text
    return f"wkr_{uid}"


def payment(worker: str, ref: str, month: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel_ref": ref, "worker_id": worker, "fund": "VN-VSS", "scheme": "voluntary-si",
        "months": [month], "declared_income": dict(INCOME), "contribution": dict(CONTRIBUTION),
        "paid": dict(PAID)}
    body.update(overrides)
    return body


def month_of(day: date, plus: int = 0) -> str:
    index = day.year * 12 + day.month - 1 + plus
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
