"""Issue 22 item 3: `POST /v1/contributions` holds each share to the fund's rules, as a
declaration file's row is, with the same sentence; a share that legitimately differs says why
(a reason code), and that is kept with the contribution and shown on the statement.

On main before this, an off-by-one government share and a 999,999.99 THB employee share on a
17,500 THB wage were both booked (201), while the same off-by-one in a file was refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import codec
from ledger.domain.money import Currency
from ledger.domain.periods import Month
from tests.api.conftest import Api
from tests.api.helpers import ledger_snapshot, money, new_worker, thai_contribution

pytestmark = pytest.mark.anyio

THB_2026 = "2026-02"  # the s33 ceiling is 17,500 THB from January 2026


def thai_2026(worker: str, shares: dict[str, str], month: str = THB_2026, **change: Any
              ) -> dict[str, Any]:
    """s33 old age on a 17,500 THB wage in 2026: 525 / 525 / 174.75 by the rules (the state's
    2.75 % in whole baht, 481, old age taking the rounding: ADR 0035)."""
    body = thai_contribution(worker, month=month, **{"wage_base": money("1750000"), **change})
    body["shares"] = [{"payer": p, "amount": money(a)} for p, a in shares.items()]
    return body


RULES_2026 = {"employee": "52500", "employer": "52500", "government": "17475"}


async def post(api: Api, body: Any, key: str, who: str = "th") -> Any:
    return await api.http.post("/v1/contributions", json=body,
                               headers={**api.auth(who), "Idempotency-Key": key})


@pytest.mark.parametrize(("name", "shares", "field", "detail"), [
    ("an off-by-one government share", {**RULES_2026, "government": "17476"},
     "shares[2].amount", "declared 174.76 THB, the TH-SSO rules give 174.75 THB for a wage of "
     "17500.00 THB in 2026-02"),
    ("999,999.99 THB of employee share", {**RULES_2026, "employee": "99999999"},
     "shares[0].amount", "declared 999999.99 THB, the TH-SSO rules give 525.00 THB for a wage "
     "of 17500.00 THB in 2026-02"),
    ("a 3-satang month", {"employee": "3"}, "shares[0].amount",
     "declared 0.03 THB, the TH-SSO rules give 525.00 THB for a wage of 17500.00 THB in "
     "2026-02"),
    ("a share the rules give left out", {"employee": "52500", "employer": "52500"}, "shares",
     "the government share is missing: declared 0.00 THB, the TH-SSO rules give 174.75 THB "
     "for a wage of 17500.00 THB in 2026-02"),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
async def test_a_share_the_rules_do_not_give_is_refused_and_books_nothing(
    api: Api, uid: str, name: str, shares: dict[str, str], field: str, detail: str,
) -> None:
    worker = await new_worker(api, uid)
    before = await ledger_snapshot(api)
    for who in ("th", "operator"):  # the fund and the hub alike
        response = await post(api, thai_2026(worker, shares), f"{who}-{uid}", who)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert (problem["code"], problem["field"], problem["detail"]) == (
            "share_not_per_rules", field, detail)
    assert await ledger_snapshot(api) == before


async def test_a_wage_base_the_rules_do_not_give_is_refused(api: Api, uid: str) -> None:
    """The base is the rules' too: 20,000 THB is over the 17,500 ceiling."""
    worker = await new_worker(api, uid)
    body = thai_2026(worker, RULES_2026, wage_base=money("2000000"))
    response = await post(api, body, uid)
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("share_not_per_rules",
                                                                   "wage_base")
    assert response.json()["detail"] == (
        "wage_base 20000.00 THB is not a base of the TH-SSO rules: they give 17500.00 THB for a "
        "wage of 20000.00 THB in 2026-02")


async def test_a_batch_lists_each_item_off_the_rules(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    items = [thai_2026(worker, RULES_2026, month=f"2026-0{m}") for m in (1, 2, 3)]
    items[1]["shares"][2]["amount"] = money("17476")
    before = await ledger_snapshot(api)
    response = await api.http.post("/v1/contributions/batch", json={"contributions": items},
                                   headers={**api.auth("th"), "Idempotency-Key": uid})
    assert response.status_code == 422
    assert [(e["index"], e["code"], e["field"]) for e in response.json()["errors"]] == [
        (1, "share_not_per_rules", "shares[2].amount")]
    assert await ledger_snapshot(api) == before


async def test_the_api_and_a_file_give_the_same_error_for_the_same_wrong_share(
        api: Api, uid: str) -> None:
    """MY-SOCSO declares one scheme (employment injury, employer only), so a file's row and an
    API contribution carry the very same share: 1.25 % of 3,000 MYR is 37.50."""
    number = f"MB{int(uid, 16) % 10**8:08d}"
    registered = await api.http.post("/v1/workers", headers=api.auth("operator"), json={
        "id": f"wkr_{uid}", "nationality": "MM",
        "memberships": [{"fund": "MY-SOCSO", "member_number": number}]})
    assert registered.status_code == 201, registered.text
    month = Month(2026, 1)
    row = DeclaredRow(line=3, member_number=number, month=month, wage_minor=300_000,
                      employee_minor=0, employer_minor=3_751, first_name="Aung",
                      last_name="Test")
    header = DeclaredHeader(employer_account="MYEMP1", branch="000", month=month,
                            currency=Currency.MYR, employee_count=1,
                            total_wages_minor=300_000, total_employee_minor=0,
                            total_employer_minor=3_751)
    filed = await api.http.post("/v1/funds/MY-SOCSO/declarations", headers=api.auth("operator"),
                                files={"file": ("socso.csv", codec("MY-SOCSO").render(
                                    header, [row]))})
    assert filed.status_code == 422, filed.text
    (error,) = filed.json()["details"]["report"]["errors"]
    posted = await post(api, {
        "worker_id": f"wkr_{uid}", "fund": "MY-SOCSO", "scheme": "employment-injury",
        "month": str(month), "wage_base": money("300000", "MYR"),
        "shares": [{"payer": "employer", "amount": money("3751", "MYR")}]}, uid, "operator")
    assert posted.status_code == 422
    assert posted.json()["code"] == "share_not_per_rules"
    assert posted.json()["detail"] == error["reason"] == (
        "declared 37.51 MYR, the MY-SOCSO rules give 37.50 MYR for a wage of 3000.00 MYR in "
        "2026-01")


async def test_a_share_said_to_differ_is_booked_kept_and_shown(api: Api, uid: str) -> None:
    """A court-ordered employee share and a surcharge on the employer's: booked as sent, each
    with its reason and the rules' amount, on the statement; the same body again changes
    nothing."""
    worker = await new_worker(api, uid)
    body = thai_2026(worker, RULES_2026)
    body["shares"][0] = {"payer": "employee", "amount": money("99999999"),
                         "reason": "court_order"}
    body["shares"][1] = {"payer": "employer", "amount": money("55000"), "reason": "surcharge"}
    created = await post(api, body, uid)
    assert created.status_code == 201, created.text
    assert [t["amount"]["amount_minor"] for t in created.json()["transfers"]] == [
        "99999999", "55000", "17475"]
    assert (await post(api, body, f"{uid}-again")).json()["status"] == "exists"
    statement = (await api.http.get(f"/v1/workers/{worker}/statement",
                                    headers=api.auth("th"))).json()
    (thai,) = statement["funds"]
    (booked,) = [c for c in thai["contributions"] if c["month"] == THB_2026]
    assert booked["shares"] == [
        {"payer": "employee", "amount": money("99999999"), "override": {
            "reason": "court_order", "rules_amount": money("52500")}},
        {"payer": "employer", "amount": money("55000"), "override": {
            "reason": "surcharge", "rules_amount": money("52500")}},
        {"payer": "government", "amount": money("17475")}]


async def test_an_unknown_reason_is_refused(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    body = thai_2026(worker, RULES_2026)
    body["shares"][0]["reason"] = "because"
    response = await post(api, body, uid)
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("invalid_input",
                                                                   "shares[0].reason")
