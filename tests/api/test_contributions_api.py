"""POST /v1/contributions and /batch: idempotency, bad input, atomic and partial batches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ledger.limits import BATCH_SIZE_MAX
from tests.api.conftest import Api
from tests.api.helpers import employ, ledger_snapshot, money, new_worker, thai_contribution

pytestmark = pytest.mark.anyio


async def post(api: Api, body: Any, key: str | None, who: str = "operator") -> Any:
    headers = api.auth(who)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await api.http.post("/v1/contributions", json=body, headers=headers)


async def test_created_then_replayed_with_the_same_key(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    first = await post(api, thai_contribution(worker), f"k-{uid}")
    assert first.status_code == 201, first.text
    data = first.json()
    assert data["status"] == "created"
    assert [t["amount"]["amount_minor"] for t in data["transfers"]] == ["45000", "45000", "15050"]
    replay = await post(api, thai_contribution(worker), f"k-{uid}")
    assert replay.status_code == 201
    assert replay.json() == data
    assert replay.headers["Idempotent-Replayed"] == "true"


async def test_same_key_other_body_is_422_and_changes_nothing(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    assert (await post(api, thai_contribution(worker), f"k-{uid}")).status_code == 201
    before = await ledger_snapshot(api)
    other = await post(api, thai_contribution(worker, month="2025-07"), f"k-{uid}")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.headers["content-type"] == "application/problem+json"
    assert await ledger_snapshot(api) == before


async def test_missing_key_is_400(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    response = await post(api, thai_contribution(worker), None)
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"


async def test_concurrent_duplicate_in_flight_is_409(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    body = thai_contribution(worker)
    responses = await asyncio.gather(*(post(api, body, f"k-{uid}") for _ in range(5)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}, codes
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "idempotency_key_in_flight"
    statement = (await api.http.get(f"/v1/workers/{worker}/statement",
                                    headers=api.auth("operator"))).json()
    assert statement["totals"] == [money("105050")]


async def test_same_contribution_under_a_new_key_changes_nothing(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    assert (await post(api, thai_contribution(worker), f"a-{uid}")).status_code == 201
    before = await ledger_snapshot(api)
    again = await post(api, thai_contribution(worker), f"b-{uid}")
    assert again.status_code == 200 and again.json()["status"] == "exists"
    conflict = await post(api, thai_contribution(worker, employee="1",
                                                 employee_reason="court_order"), f"c-{uid}")
    assert conflict.status_code == 409
    assert conflict.json()["field"] == "amount_minor"
    assert await ledger_snapshot(api) == before


BAD_INPUTS: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    ("unknown fund", {"fund": "XX-NOPE"}, 422, "unknown_fund", "fund"),
    ("unknown scheme", {"scheme": "s99"}, 422, "unknown_scheme", "scheme"),
    ("wrong currency", {"wage_base": money("1500000", "JPY")}, 422, "currency_mismatch",
     "wage_base.currency"),
    ("negative share", {"shares": [{"payer": "employee", "amount": money("-5")}]}, 422,
     "invalid_amount", "shares[0].amount.amount_minor"),
    ("zero share", {"shares": [{"payer": "employee", "amount": money("0")}]}, 422,
     "invalid_amount", "shares[0].amount.amount_minor"),
    ("fractional amount", {"shares": [{"payer": "employee", "amount": money("5.5")}]}, 422,
     "invalid_amount", "shares[0].amount.amount_minor"),
    ("number instead of string", {"shares": [{"payer": "employee", "amount": {
        "amount_minor": 5, "currency": "THB"}}]}, 422, "invalid_amount",
     "shares[0].amount.amount_minor"),
    ("negative wage base", {"wage_base": money("-1500000")}, 422, "invalid_amount",
     "wage_base.amount_minor"),
    ("unknown payer", {"shares": [{"payer": "uncle", "amount": money("5")}]}, 422,
     "invalid_input", "shares[0].payer"),
    ("payer twice", {"shares": [{"payer": "employee", "amount": money("5")},
                                {"payer": "employee", "amount": money("6")}]}, 422,
     "duplicate_payer", "shares[1].payer"),
    ("no shares", {"shares": []}, 422, "invalid_input", "shares"),
    ("month before the scheme", {"scheme": "s40-informal", "month": "2010-01"}, 422,
     "scheme_not_in_force", "month"),
    ("bad month", {"month": "2025-13"}, 422, "invalid_month", "month"),
    ("unknown field", {"bonus": "1"}, 422, "invalid_input", "bonus"),
]


@pytest.mark.parametrize(("name", "change", "status", "code", "field"), BAD_INPUTS,
                         ids=[b[0] for b in BAD_INPUTS])
async def test_bad_input_is_a_clear_problem_and_changes_nothing(
    api: Api, uid: str, name: str, change: dict[str, Any], status: int, code: str,
    field: str | None,
) -> None:
    worker = await new_worker(api, uid)
    before = await ledger_snapshot(api)
    response = await post(api, thai_contribution(worker, **change), f"k-{uid}")
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert (problem["code"], problem.get("field")) == (code, field)
    assert problem["status"] == status and problem["detail"]
    assert await ledger_snapshot(api) == before


async def test_malformed_json_is_400(api: Api, uid: str) -> None:
    response = await api.http.post(
        "/v1/contributions", content=b'{"worker_id": ',
        headers={**api.auth("operator"), "Idempotency-Key": uid,
                 "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


async def test_worker_must_be_member_of_the_fund(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid, ("JP-JPS",))
    response = await post(api, thai_contribution(worker), f"k-{uid}")
    assert response.status_code == 422
    assert response.json()["code"] == "worker_not_member"


@pytest.mark.parametrize("amount", ["525.00", "-52500", "5e4", "+52500", " 52500"])
async def test_an_amount_that_is_not_whole_minor_units_says_so_in_words(
    api: Api, uid: str, amount: str,
) -> None:
    """Not the schema's regex: the rule in words, and a sign refused at once (every share is
    positive; a negative one used to pass this check only to be refused by the next)."""
    worker = await new_worker(api, uid)
    body = thai_contribution(worker)
    body["shares"][0]["amount"]["amount_minor"] = amount
    response = await post(api, body, f"k-{uid}")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["code"], problem["field"]) == ("invalid_amount",
                                                   "shares[0].amount.amount_minor")
    assert problem["detail"] == (
        "shares[0].amount.amount_minor: must be a whole number of minor units: a string of 1 "
        "to 19 digits, with no sign, decimal point or exponent (\"52500\" is 525.00 THB), got "
        f"{amount!r}")
    assert "pattern" not in response.text and "^" not in response.text


async def test_an_unknown_worker_is_told_apart_from_a_non_member(api: Api, uid: str) -> None:
    response = await post(api, thai_contribution(f"wkr_none{uid}"), f"k-{uid}")
    assert response.status_code == 404, response.text
    problem = response.json()
    assert (problem["code"], problem["field"]) == ("unknown_worker", "worker_id")
    assert problem["detail"].startswith(f"no worker wkr_none{uid}: register the worker")
    # In a batch, each item says which of the two it is.
    member = await new_worker(api, f"{uid}0", ("JP-JPS",))
    response = await api.http.post("/v1/contributions/batch", json={"contributions": [
        thai_contribution(member), thai_contribution(f"wkr_none{uid}")]},
        headers={**api.auth("operator"), "Idempotency-Key": f"b-{uid}"})
    assert response.status_code == 422, response.text
    items = response.json()["errors"]
    assert [(e["index"], e["code"]) for e in items] == [
        (0, "worker_not_member"), (1, "unknown_worker")]
    assert "has no membership at TH-SSO" in items[0]["message"]


async def test_a_fund_cannot_post_to_another_fund(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid, ("TH-SSO", "JP-JPS"))
    response = await post(api, thai_contribution(worker), f"k-{uid}", who="jp")
    assert response.status_code == 403
    # The fund's employer, once the fund says it employs the worker (tests/api/
    # test_employers.py has every refusal).
    await employ(api, worker)
    assert (await post(api, thai_contribution(worker), f"e-{uid}", who="employer")
            ).status_code == 201


async def test_auditor_and_anonymous_cannot_post(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    assert (await post(api, thai_contribution(worker), uid, who="auditor")).status_code == 403
    anonymous = await api.http.post("/v1/contributions", json=thai_contribution(worker),
                                    headers={"Idempotency-Key": uid})
    assert anonymous.status_code == 401
    wrong = await api.http.post("/v1/contributions", json=thai_contribution(worker),
                                headers={"Idempotency-Key": uid,
                                         "Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthenticated"


async def batch(api: Api, items: list[Any], key: str, partial: bool = False) -> Any:
    return await api.http.post(
        "/v1/contributions/batch", json={"contributions": items, "partial": partial},
        headers={**api.auth("operator"), "Idempotency-Key": key})


async def test_batch_with_one_bad_item_posts_nothing_and_lists_every_bad_item(
    api: Api, uid: str
) -> None:
    worker = await new_worker(api, uid)
    items = [thai_contribution(worker, month=f"2025-{m:02d}") for m in range(1, 7)]
    items[2]["fund"] = "XX-NOPE"
    items[4]["shares"][0]["amount"] = money("0")
    before = await ledger_snapshot(api)
    response = await batch(api, items, f"b-{uid}")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["index"], e["code"]) for e in errors] == [(2, "unknown_fund"),
                                                         (4, "invalid_amount")]
    # A sign is refused with the request itself, naming the item's field.
    items[4]["shares"][0]["amount"] = money("-1")
    signed = await batch(api, items, f"c-{uid}")
    assert signed.status_code == 422
    assert (signed.json()["code"], signed.json()["field"]) == (
        "invalid_amount", "contributions[4].shares[0].amount.amount_minor")
    assert await ledger_snapshot(api) == before


async def test_batch_linked_failure_posts_nothing_partial_posts_the_rest(
    api: Api, uid: str
) -> None:
    worker = await new_worker(api, uid)
    first = thai_contribution(worker, month="2025-01")
    assert (await post(api, first, f"one-{uid}")).status_code == 201
    # The same id, another amount (said to be a court's: the rules would refuse it unsaid)
    clash = thai_contribution(worker, month="2025-01", employee="1",
                              employee_reason="court_order")
    items = [thai_contribution(worker, month="2025-02"), clash]
    before = await ledger_snapshot(api)
    linked = await batch(api, items, f"l-{uid}")
    assert linked.status_code == 422
    codes = [r.get("code") for r in linked.json()["results"]]
    assert codes == ["linked_event_failed", "id_conflict"]
    assert await ledger_snapshot(api) == before
    partial = await batch(api, items, f"p-{uid}", partial=True)
    assert partial.status_code == 207
    assert partial.json()["counts"] == {"created": 1, "exists": 0, "failed": 1}


async def test_oversized_and_empty_batches_are_refused(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    items = [thai_contribution(worker, month=f"{2000 + m // 12}-{m % 12 + 1:02d}")
             for m in range(BATCH_SIZE_MAX + 1)]
    too_big = await batch(api, items, f"big-{uid}")
    assert too_big.status_code == 422 and too_big.json()["code"] == "batch_too_large"
    empty = await batch(api, [], f"empty-{uid}")
    assert empty.status_code == 422 and empty.json()["code"] == "batch_empty"


async def test_body_over_the_limit_is_413(api: Api, uid: str) -> None:
    response = await api.http.post(
        "/v1/contributions", content=b"x" * (4 * 1024 * 1024 + 1),
        headers={**api.auth("operator"), "Idempotency-Key": uid,
                 "content-type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"
