"""Payment channels over HTTP: quotes, payments and their receipts, duplicate taps and retries,
reversals and refunds, and every kind of bad input refused with nothing booked."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ledger.db import channels_repo
from ledger.settlement.keys import HUB, TrustRegistry
from ledger.settlement.messages import MessageType, verify_message
from tests.api.channel_helpers import (
    CONTRIBUTION,
    FEE,
    FX_DIFFERENCE,
    INCOME,
    MEKONG,
    PAID,
    PRINCIPAL,
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
from tests.api.helpers import ledger_snapshot, new_worker

pytestmark = pytest.mark.anyio


@pytest.fixture
async def wallet(api: Api, uid: str) -> dict[str, str]:
    await set_rates(api.services)
    return await channel_token(api, uid)


def _key(name: str, uid: str) -> dict[str, str]:
    return {"Idempotency-Key": f"{name}-{uid}"}


async def _pay(api: Api, headers: dict[str, str], body: dict[str, Any], key: str,
               channel: str = MEKONG) -> Any:
    return await api.http.post(f"/v1/channels/{channel}/payments", json=body,
                               headers={**headers, "Idempotency-Key": key})


async def test_a_quoted_payment_books_its_legs_and_the_worker_gets_a_signed_receipt(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    worker = await vn_worker(api, uid)
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    month = month_of(day)
    quoted = await api.http.post(f"/v1/channels/{MEKONG}/quotes", headers=wallet, json={
        "currency": "THB", "fund": "VN-VSS", "worker_id": worker, "scheme": "voluntary-si",
        "months": [month], "declared_income": INCOME})
    assert quoted.status_code == 201, quoted.text
    quote = quoted.json()
    assert quote["rate"]["rate"] == "700.000" and quote["rate"]["rounding"] == "up"
    assert quote["price"]["total"] == PAID and quote["price"]["fee"]["amount_minor"] == str(FEE)
    assert quote["fee_schedule"]["rate"] == "0.01" and quote["fee_schedule"]["cap_rate"] == "0.03"
    assert quote["months_covered"] == [month]

    response = await _pay(api, wallet, payment(worker, f"r-{uid}", month,
                                               quote_id=quote["quote_id"]), f"k-{uid}")
    assert response.status_code == 201, response.text
    paid = response.json()["payment"]
    assert (paid["principal"]["amount_minor"], paid["fee"]["amount_minor"],
            paid["fx_difference"]["amount_minor"]) == (str(PRINCIPAL), str(FEE),
                                                       str(FX_DIFFERENCE))
    registry = TrustRegistry()
    registry.load_jwks(HUB, api.services.signer.jwks())
    receipt = verify_message(paid["receipt"], registry, worker, at(day) // 1_000_000)
    assert receipt.typ is MessageType.PAYMENT_RECEIPT
    body = receipt.body
    assert (body["paid"], body["contribution"], body["months_covered"]) == (
        PAID, CONTRIBUTION, [month])
    assert body["fee"]["amount_minor"] == str(FEE) and body["rate"]["rate"] == "700.000"
    assert body["quote_id"] == quote["quote_id"] and body["scheme"] == "voluntary-si"

    statement = (await api.http.get(f"/v1/workers/{worker}/statement",
                                    headers=api.auth("operator"))).json()
    (vss,) = statement["funds"]
    (line,) = vss["schemes"]
    assert line["balance"] == CONTRIBUTION and line["months_by_state"] == {"active": 1}
    assert vss["contributions"][0]["kind"] == "voluntary"
    totals = (await api.http.get("/v1/ledger/totals", headers=api.auth("operator"))).json()
    assert all(t["debits_posted"] == t["credits_posted"] for t in totals["currencies"])


async def test_duplicate_taps_and_retries_book_one_payment(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    worker = await vn_worker(api, uid)
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    body = payment(worker, f"tap-{uid}", month_of(day))
    before = await ledger_snapshot(api)
    taps = await asyncio.gather(*(_pay(api, wallet, body, f"tap-{uid}") for _ in range(4)))
    assert {r.status_code for r in taps} <= {201, 409}  # 409: the first is still running
    answered = [r for r in taps if r.status_code == 201]
    first = next(r for r in answered if "Idempotent-Replayed" not in r.headers)
    assert all(r.content == first.content for r in answered)  # the others: its stored answer
    again = await _pay(api, wallet, body, f"tap-{uid}")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    # A retry under a new key (the app lost its key): the original's record and receipt.
    retry = await _pay(api, wallet, body, f"tap2-{uid}")
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "exists"
    assert retry.json()["payment"]["receipt"] == first.json()["payment"]["receipt"]
    reused = await _pay(api, wallet, {**body, "months": [month_of(day, 1)]}, f"tap-{uid}")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    # The reference again under a new key, for another month: not a retry, refused whole.
    other = await _pay(api, wallet, {**body, "months": [month_of(day, 1)]}, f"tap3-{uid}")
    assert other.status_code == 409 and other.json()["code"] == "id_conflict", other.text
    richer = await _pay(api, wallet, {**body, "paid": {"amount_minor": "158715",
                                                       "currency": "THB"}}, f"tap4-{uid}")
    assert richer.status_code == 422 and richer.json()["code"] == "invalid_amount"
    after = await ledger_snapshot(api)
    moved = {t["currency"]: int(t["debits_posted"]) for t in after["currencies"]}
    was = {t["currency"]: int(t["debits_posted"]) for t in before["currencies"]}
    assert moved["THB"] - was.get("THB", 0) == 158_714  # one fee and one principal, once
    assert moved["VND"] - was.get("VND", 0) == 1_100_000 + FX_DIFFERENCE


async def test_another_payment_for_months_already_paid_is_refused(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    worker = await vn_worker(api, uid)
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    assert (await _pay(api, wallet, payment(worker, f"a-{uid}", month_of(day)),
                       f"a-{uid}")).status_code == 201
    before = await ledger_snapshot(api)
    second = await _pay(api, wallet, payment(worker, f"b-{uid}", month_of(day)), f"b-{uid}")
    assert second.status_code == 409, second.text
    problem = second.json()
    assert problem["code"] == "id_conflict" and problem["field"] == "months"
    assert "already paid" in problem["detail"]
    assert await ledger_snapshot(api) == before
    assert await channels_repo.payment(api.services.db, f"{MEKONG}/b-{uid}") is None


@pytest.mark.parametrize("amount", ["0", "-158714", "1587.14", 1587.14, "1e5", ""])
async def test_a_zero_negative_or_fractional_amount_is_refused(
    api: Api, uid: str, wallet: dict[str, str], amount: object
) -> None:
    worker = await vn_worker(api, uid)
    before = await ledger_snapshot(api)
    body = payment(worker, f"amt-{uid}", month_of(own_day()),
                   paid={"amount_minor": amount, "currency": "THB"})
    response = await _pay(api, wallet, body, f"amt-{uid}")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_amount"
    assert response.json()["field"] == "paid.amount_minor"
    assert await ledger_snapshot(api) == before


async def test_bad_payments_are_refused_with_a_clear_problem_and_book_nothing(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    worker = await vn_worker(api, uid)
    cambodian = await new_worker(api, uid + "f", ("KH-NSSF",))
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    month = month_of(day)
    quote = (await api.http.post(f"/v1/channels/{MEKONG}/quotes", headers=wallet,
                                 json={"currency": "THB", "fund": "VN-VSS"})).json()
    sakura = await channel_token(api, uid, SAKURA)
    jp_quote = (await api.http.post(f"/v1/channels/{SAKURA}/quotes", headers=sakura,
                                    json={"currency": "JPY", "fund": "VN-VSS"})).json()
    kh_quote = (await api.http.post(f"/v1/channels/{MEKONG}/quotes", headers=wallet,
                                    json={"currency": "THB", "fund": "KH-NSSF"})).json()
    good = payment(worker, f"bad-{uid}", month)
    cases: list[tuple[str, dict[str, Any], int, str, str]] = [
        ("a contribution in another currency than the fund's", {**good, "contribution": {
            "amount_minor": "1100000", "currency": "KHR"}},
         422, "currency_mismatch", "contribution.currency"),
        ("a quote into another fund's currency", {**good, "quote_id": kh_quote["quote_id"]},
         422, "currency_mismatch", "quote_id"),
        ("scheme the channel does not collect", {**good, "scheme": "retirement-survivorship"},
         422, "scheme_not_collected", "scheme"),
        ("currency the wallet does not hold", {**good, "paid": {"amount_minor": "2000",
                                                               "currency": "JPY"}},
         422, "currency_not_held", "paid.currency"),
        ("unknown quote", {**good, "quote_id": "qt_nothere"}, 422, "unknown_quote", "quote_id"),
        ("another channel's quote", {**good, "quote_id": jp_quote["quote_id"]}, 422,
         "unknown_quote", "quote_id"),
        ("a worker of another fund", {**good, "worker_id": cambodian}, 422,
         "worker_not_member", "worker_id"),
        ("a worker who does not exist", {**good, "worker_id": f"wkr_none{uid}"}, 404,
         "unknown_worker", "worker_id"),
        ("paid is not the price", {**good, "paid": {"amount_minor": "158713",
                                                     "currency": "THB"}},
         422, "invalid_amount", "paid.amount_minor"),
        ("the contribution is not the rule's", {**good, "contribution": {
            "amount_minor": "1000000", "currency": "VND"}},
         422, "invalid_amount", "contribution.amount_minor"),
        ("a month the scheme does not take yet", {**good, "months": [month_of(day, -1)]},
         422, "invalid_input", "months"),
        ("a bad channel reference", {**good, "channel_ref": "has space"}, 422, "invalid_id",
         "channel_ref"),
    ]
    before = await ledger_snapshot(api)
    for name, body, status, code, field in cases:
        response = await _pay(api, wallet, body, f"bad-{name}-{uid}")
        assert response.status_code == status, (name, response.text)
        problem = response.json()
        assert (problem["code"], problem.get("field")) == (code, field), (name, problem)
        assert problem["detail"], name
    # The quote that was fine expires: refused as such.
    api.services.channels.clock = lambda: at(day) + 301 * 1_000_000
    expired = await _pay(api, wallet, {**good, "quote_id": quote["quote_id"]}, f"exp-{uid}")
    assert expired.status_code == 422 and expired.json()["code"] == "quote_expired"
    # Another channel's token may not pay through this one.
    other = await _pay(api, sakura, good, f"other-{uid}")
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
    missing = await api.http.post(f"/v1/channels/{MEKONG}/payments", json=good, headers=wallet)
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_missing"
    unknown = await _pay(api, api.auth("operator"), good, f"u-{uid}", channel="no-such-wallet")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_channel"
    assert await ledger_snapshot(api) == before
    assert await channels_repo.payment(api.services.db, f"{MEKONG}/bad-{uid}") is None


async def test_a_refund_keeps_the_fee_and_a_reversal_returns_everything(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    worker = await vn_worker(api, uid)
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    for ref, plus in (("refund", 0), ("reverse", 1)):
        response = await _pay(api, wallet, payment(worker, f"{ref}-{uid}", month_of(day, plus)),
                              f"{ref}-{uid}")
        assert response.status_code == 201, response.text
    before = {b["account"]: b["balance"] for b in (await api.http.get(
        f"/v1/channels/{MEKONG}/balances", headers=wallet)).json()["accounts"]}

    refunded = await api.http.post(f"/v1/channels/{MEKONG}/payments/refund-{uid}/refund",
                                   headers=wallet, json={"reason": "the worker went home"})
    assert refunded.status_code == 201, refunded.text
    undone = refunded.json()["undone"]
    assert undone["kind"] == "refund" and undone["fee"]["amount_minor"] == "0"
    assert undone["amount"]["amount_minor"] == str(PRINCIPAL)
    reversed_ = await api.http.post(f"/v1/channels/{MEKONG}/payments/reverse-{uid}/reversal",
                                    headers=wallet, json={"reason": "charged twice"})
    assert reversed_.status_code == 201, reversed_.text
    assert reversed_.json()["undone"]["amount"] == PAID

    after = {b["account"]: b["balance"] for b in (await api.http.get(
        f"/v1/channels/{MEKONG}/balances", headers=wallet)).json()["accounts"]}
    fees = f"channel/{MEKONG}/fees/THB"
    wallet_account = f"channel/{MEKONG}/wallet/THB"
    # The refund's fee stays with the channel; both principals and one fee came back.
    assert int(before[fees]["amount_minor"]) - int(after[fees]["amount_minor"]) == -FEE
    assert (int(before[wallet_account]["amount_minor"])
            - int(after[wallet_account]["amount_minor"])) == PRINCIPAL + 158_714
    statement = (await api.http.get(f"/v1/workers/{worker}/statement",
                                    headers=api.auth("operator"))).json()
    (line,) = statement["funds"][0]["schemes"]
    assert line["balance"]["amount_minor"] == "0"
    assert line["months_by_state"] == {"withdrawn": 2}  # they no longer count

    again = await api.http.post(f"/v1/channels/{MEKONG}/payments/refund-{uid}/reversal",
                                headers=wallet, json={"reason": "again"})
    assert again.status_code == 422 and again.json()["code"] == "already_reversed"
    assert "refunded" in again.json()["detail"]
    missing = await api.http.post(f"/v1/channels/{MEKONG}/payments/nothing-{uid}/refund",
                                  headers=wallet, json={"reason": "?"})
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_payment"
    stored = (await api.http.get(f"/v1/channels/{MEKONG}/payments/refund-{uid}",
                                 headers=wallet)).json()
    assert stored["undone"]["kind"] == "refund"


async def test_the_registry_is_public_to_its_channel_and_the_hub(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    mine = (await api.http.get("/v1/channels", headers=wallet)).json()["channels"]
    assert [c["code"] for c in mine] == [MEKONG]
    everything = (await api.http.get("/v1/channels", headers=api.auth("operator"))).json()
    assert {c["code"] for c in everything["channels"]} >= {MEKONG, SAKURA}
    shown = (await api.http.get(f"/v1/channels/{MEKONG}", headers=wallet)).json()
    assert shown["fees"]["THB"]["minimum"] == {"amount_minor": "1000", "currency": "THB"}
    foreign = await api.http.get(f"/v1/channels/{SAKURA}", headers=wallet)
    assert foreign.status_code == 403
    fund = await api.http.get(f"/v1/channels/{MEKONG}/balances", headers=api.auth("th"))
    assert fund.status_code == 403
    assert json.loads(json.dumps(shown))["collects"][0]["fund"] == "VN-VSS"


async def test_the_states_support_is_booked_beside_the_workers_part(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    """Vietnamese voluntary SI for a poor household: the state pays 50% of 22% of the 1,500,000
    VND floor (165,000 VND); the worker 22% of 5,000,000 less that, 935,000 VND: 1,335.714… THB,
    up to 133,572 satang, fee 1,335.72 → 1,336 satang; 134,908 satang in all; 4 VND over."""
    worker = await vn_worker(api, uid)
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    body = payment(worker, f"poor-{uid}", month_of(day), support_group="poor",
                   contribution={"amount_minor": "935000", "currency": "VND"},
                   paid={"amount_minor": "134908", "currency": "THB"})
    response = await _pay(api, wallet, body, f"poor-{uid}")
    assert response.status_code == 201, response.text
    paid = response.json()["payment"]
    assert paid["state_support"] == {"amount_minor": "165000", "currency": "VND"}
    assert paid["fx_difference"]["amount_minor"] == "4"
    statement = (await api.http.get(f"/v1/workers/{worker}/statement",
                                    headers=api.auth("operator"))).json()
    (line,) = statement["funds"][0]["schemes"]
    assert line["balance"]["amount_minor"] == str(935_000 + 165_000)
    assert {p["payer"]: p["amount"]["amount_minor"] for p in line["paid_by_payer"]} == {
        "voluntary": "935000", "government": "165000"}


async def test_a_priced_quote_for_a_worker_who_is_not_the_funds_member_is_refused(
    api: Api, uid: str, wallet: dict[str, str]
) -> None:
    """A quote that prices a purchase asks the fund's rule for that worker: one of another
    fund, or no worker at all, gets the same problem a payment for them would."""
    cambodian = await new_worker(api, uid + "e", ("KH-NSSF",))
    month = month_of(own_day())
    for worker, status, code in ((cambodian, 422, "worker_not_member"),
                                 (f"wkr_none{uid}", 404, "unknown_worker")):
        quoted = await api.http.post(f"/v1/channels/{MEKONG}/quotes", headers=wallet, json={
            "currency": "THB", "fund": "VN-VSS", "worker_id": worker, "scheme": "voluntary-si",
            "months": [month], "declared_income": INCOME})
        assert quoted.status_code == status, quoted.text
        assert (quoted.json()["code"], quoted.json()["field"]) == (code, "worker_id")
