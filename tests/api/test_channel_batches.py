"""`POST /v1/channels/{channel}/payments/batch`: a channel's gathered taps booked together, each
payment checked, booked and answered on its own (docs/channels.md, issue 15's throughput)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.limits import PAYMENT_BATCH_MAX
from ledger.settlement.keys import HUB, TrustRegistry
from ledger.settlement.messages import verify_message
from tests.api.channel_helpers import (
    CONTRIBUTION,
    MEKONG,
    SAKURA,
    at,
    channel_token,
    month_of,
    own_day,
    payment,
    set_rates,
    vn_worker,
)
from tests.api.conftest import Api
from tests.api.helpers import ledger_snapshot

pytestmark = pytest.mark.anyio


@pytest.fixture
async def wallet(api: Api, uid: str) -> dict[str, str]:
    await set_rates(api.services)
    return await channel_token(api, uid)


async def _batch(api: Api, headers: dict[str, str], payments: list[dict[str, Any]],
                 channel: str = MEKONG) -> Any:
    return await api.http.post(f"/v1/channels/{channel}/payments/batch",
                               json={"payments": payments}, headers=headers)


async def _statement(api: Api, worker: str) -> Any:
    response = await api.http.get(f"/v1/workers/{worker}/statement",
                                  headers=api.auth("operator"))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_batch_books_each_payment_with_its_own_signed_receipt(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    workers = [await vn_worker(api, f"{uid}{i}") for i in range(3)]
    response = await _batch(api, wallet, [
        payment(w, f"b{i}-{uid}", month_of(day)) for i, w in enumerate(workers)])
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["counts"] == {"created": 3, "exists": 0, "failed": 0}
    registry = TrustRegistry()
    registry.load_jwks(HUB, api.services.signer.jwks())
    for index, (item, worker) in enumerate(zip(out["results"], workers, strict=True)):
        assert (item["index"], item["http_status"], item["status"]) == (index, 201, "created")
        receipt = verify_message(item["payment"]["receipt"], registry, worker,
                                 at(day) // 1_000_000)
        assert receipt.body["channel_ref"] == f"b{index}-{uid}"
        assert receipt.body["contribution"] == CONTRIBUTION
        (vss,) = (await _statement(api, worker))["funds"]
        assert vss["schemes"][0]["balance"] == CONTRIBUTION
    totals = (await api.http.get("/v1/ledger/totals", headers=api.auth("operator"))).json()
    assert all(t["debits_posted"] == t["credits_posted"] for t in totals["currencies"])


async def test_a_retried_batch_books_nothing_twice_and_answers_the_original_receipts(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    workers = [await vn_worker(api, f"{uid}{i}") for i in range(2)]
    body = [payment(w, f"r{i}-{uid}", month_of(day)) for i, w in enumerate(workers)]
    first = await _batch(api, wallet, body)
    assert first.status_code == 200, first.text
    after_first = await ledger_snapshot(api)
    # The channel lost the answer and sends the batch again, with one new tap at the end.
    newcomer = await vn_worker(api, f"{uid}e")
    again = await _batch(api, wallet, [*body, payment(newcomer, f"rn-{uid}", month_of(day))])
    assert again.status_code == 200, again.text
    out = again.json()
    assert out["counts"] == {"created": 1, "exists": 2, "failed": 0}
    for before, item in zip(first.json()["results"], out["results"], strict=False):
        assert (item["http_status"], item["status"]) == (200, "exists")
        assert item["payment"]["receipt"] == before["payment"]["receipt"]
    assert out["results"][2]["status"] == "created"
    # Only the newcomer's payment moved the ledger: one payment's worth of each currency.
    third = await _batch(api, wallet, body)
    assert third.json()["counts"] == {"created": 0, "exists": 2, "failed": 0}
    assert after_first != await ledger_snapshot(api)


async def test_one_bad_payment_fails_alone_with_its_index_code_and_field(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    good = await vn_worker(api, f"{uid}c")
    month = month_of(day)
    bad = [
        payment("wkr_nobody" + uid, f"x1-{uid}", month),  # not registered
        payment(good, f"x2-{uid}", month, scheme="oesf"),  # not collected by this channel
        payment(good, f"x3-{uid}", month, paid={"amount_minor": "0", "currency": "THB"}),
        payment(good, f"x4-{uid}", month, paid={"amount_minor": "158714", "currency": "MYR"}),
        payment(good, f"x5-{uid}", month, quote_id="qt_unknown"),
        payment(good, f"x6-{uid}", month, paid={"amount_minor": "1.5", "currency": "THB"}),
        payment(good, f"x7-{uid}", month, paid={"amount_minor": "158715", "currency": "THB"}),
    ]
    before = await ledger_snapshot(api)
    response = await _batch(api, wallet, [*bad, payment(good, f"ok-{uid}", month)])
    assert response.status_code == 207, response.text
    out = response.json()
    assert out["counts"] == {"created": 1, "exists": 0, "failed": len(bad)}
    found = [(r["index"], r["problem"]["code"], r["problem"].get("field"))
             for r in out["results"] if r["status"] == "failed"]
    assert found == [
        (0, "unknown_worker", "worker_id"),
        (1, "unknown_scheme", "scheme"),
        (2, "invalid_amount", "paid.amount_minor"),  # zero
        (3, "currency_not_held", "paid.currency"),
        (4, "unknown_quote", "quote_id"),
        (5, "invalid_amount", "paid.amount_minor"),  # a fraction
        (6, "invalid_amount", "paid.amount_minor"),  # one satang more than the price
    ]
    assert out["results"][6]["problem"]["details"]["expected"]["amount_minor"] == "158714"
    assert out["results"][-1]["status"] == "created"
    assert before != await ledger_snapshot(api)  # the good one booked
    # Every payment bad: 422, and nothing moves.
    before = await ledger_snapshot(api)
    refused = await _batch(api, wallet, bad)
    assert refused.status_code == 422
    assert refused.json()["counts"]["failed"] == len(bad)
    assert before == await ledger_snapshot(api)


async def test_the_same_reference_with_another_worker_or_amount_is_a_conflict(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    one, two = await vn_worker(api, f"{uid}a"), await vn_worker(api, f"{uid}b")
    assert (await _batch(api, wallet, [payment(one, f"c-{uid}", month_of(day))])
            ).status_code == 200
    before = await ledger_snapshot(api)
    response = await _batch(api, wallet, [payment(two, f"c-{uid}", month_of(day))])
    assert response.status_code == 422, response.text
    (item,) = response.json()["results"]
    assert (item["problem"]["code"], item["problem"]["field"]) == ("id_conflict", "worker_id")
    # The single-payment door says the same (it used to blame the months).
    alone = await api.http.post(f"/v1/channels/{MEKONG}/payments",
                                json=payment(two, f"c-{uid}", month_of(day)),
                                headers={**wallet, "Idempotency-Key": f"c2-{uid}"})
    assert alone.status_code == 409, alone.text
    assert (alone.json()["code"], alone.json()["field"]) == ("id_conflict", "worker_id")
    assert before == await ledger_snapshot(api)


async def test_a_batch_for_another_channel_or_too_long_is_refused_whole(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    day = own_day()
    worker = await vn_worker(api, uid)
    before = await ledger_snapshot(api)
    other = await _batch(api, wallet, [payment(worker, f"o-{uid}", month_of(day))], SAKURA)
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
    too_many = [payment(worker, f"t{i}-{uid}", month_of(day))
                for i in range(PAYMENT_BATCH_MAX + 1)]
    long = await _batch(api, wallet, too_many)
    assert long.status_code == 422 and long.json()["code"] == "invalid_input"
    empty = await _batch(api, wallet, [])
    assert empty.status_code == 422 and empty.json()["code"] == "invalid_input"
    assert before == await ledger_snapshot(api)


async def test_transfers_booked_without_their_record_are_named_not_answered_as_existing(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    # A state the ledger never writes (a payment's legs and record go in one job): its guard
    # answers `unknown_payment` on both doors rather than an `exists` with no record behind it.
    from sqlalchemy import delete

    from ledger.db.tables import channel_payments

    day = own_day()
    api.services.channels.clock = lambda: at(day)
    worker = await vn_worker(api, uid)
    body = payment(worker, f"g-{uid}", month_of(day))
    assert (await _batch(api, wallet, [body])).status_code == 200
    async with api.services.db.engine.begin() as conn:
        await conn.execute(delete(channel_payments).where(
            channel_payments.c.channel_ref == f"g-{uid}"))
    again = await _batch(api, wallet, [body])
    (item,) = again.json()["results"]
    assert (item["problem"]["code"], item["problem"]["field"]) == ("unknown_payment",
                                                                   "channel_ref")
    alone = await api.http.post(f"/v1/channels/{MEKONG}/payments", json=body,
                                headers={**wallet, "Idempotency-Key": f"g2-{uid}"})
    assert (alone.json()["code"], alone.json()["field"]) == ("unknown_payment", "channel_ref")
