"""Workers and privacy, accounts and transfers (linked, two-phase, reversal), statements."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.db.migrate import head_revision
from tests.api.conftest import Api
from tests.api.helpers import ledger_snapshot, member_number, money, new_worker, thai_contribution

pytestmark = pytest.mark.anyio


async def test_member_numbers_are_clear_only_to_those_allowed(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid, ("TH-SSO", "JP-JPS"))
    th_number = member_number("TH-SSO", uid)
    as_th = (await api.http.get(f"/v1/workers/{worker}", headers=api.auth("th"))).json()
    assert as_th["memberships"] == [
        {"fund": "TH-SSO", "member_number": th_number, "created_at": as_th["created_at"]}]
    as_auditor = (await api.http.get(f"/v1/workers/{worker}", headers=api.auth("auditor"))).json()
    assert {m["member_number"][-3:] for m in as_auditor["memberships"]} == {
        th_number[-3:], member_number("JP-JPS", uid)[-3:]}
    assert all("*" in m["member_number"] for m in as_auditor["memberships"])
    found = await api.http.post("/v1/funds/TH-SSO/members/search", headers=api.auth("th"),
                                json={"member_number": th_number})
    assert found.status_code == 200 and found.json()["id"] == worker


async def test_identity_numbers_are_never_stored_in_clear(api: Api, uid: str) -> None:
    from sqlalchemy import text

    response = await api.http.post("/v1/workers", headers=api.auth("operator"), json={
        "id": f"wkr_{uid}", "nationality": "MM", "identity": {"kind": "passport",
                                                              "number": f"MB{uid}"},
        "memberships": [{"fund": "TH-SSO", "member_number": member_number("TH-SSO", uid)}]})
    assert response.status_code == 201
    async with api.services.db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM workers WHERE id = :w"),
                                  {"w": f"wkr_{uid}"})).one()
        members = (await conn.execute(text("SELECT * FROM memberships WHERE worker_id = :w"),
                                      {"w": f"wkr_{uid}"})).all()
    stored = repr(tuple(row)) + repr([tuple(m) for m in members])
    assert f"MB{uid}" not in stored and member_number("TH-SSO", uid) not in stored


async def test_a_fund_does_not_see_workers_of_other_funds(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid, ("JP-JPS",))
    hidden = await api.http.get(f"/v1/workers/{worker}", headers=api.auth("th"))
    assert hidden.status_code == 404
    statement = await api.http.get(f"/v1/workers/{worker}/statement", headers=api.auth("th"))
    assert statement.status_code == 404


async def test_duplicate_membership_is_409(api: Api, uid: str) -> None:
    await new_worker(api, uid)
    again = await api.http.post("/v1/workers", headers=api.auth("operator"), json={
        "nationality": "KH",
        "memberships": [{"fund": "TH-SSO", "member_number": member_number("TH-SSO", uid)}]})
    assert again.status_code == 409 and again.json()["code"] == "membership_exists"


async def test_statement_balances_months_and_totals(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid, ("TH-SSO", "JP-JPS"))
    for month in ("2025-01", "2025-02", "2025-03"):
        body = thai_contribution(worker, month=month)
        assert (await api.http.post("/v1/contributions", json=body, headers={
            **api.auth("operator"), "Idempotency-Key": f"{uid}{month}"})).status_code == 201
    epi = {"worker_id": worker, "fund": "JP-JPS", "scheme": "epi", "month": "2025-04",
           "wage_base": money("180000", "JPY"),
           "shares": [{"payer": "employee", "amount": money("16470", "JPY")},
                      {"payer": "employer", "amount": money("16470", "JPY")}]}
    assert (await api.http.post("/v1/contributions", json=epi, headers={
        **api.auth("operator"), "Idempotency-Key": f"{uid}-epi"})).status_code == 201
    statement = (await api.http.get(f"/v1/workers/{worker}/statement",
                                    headers=api.auth("operator"))).json()
    by_fund = {f["fund"]: f for f in statement["funds"]}
    thai = by_fund["TH-SSO"]
    assert thai["months"] == 3 and thai["totals"] == [money("315150")]
    (old_age,) = thai["schemes"]
    assert old_age["balance"] == money("315150")
    assert old_age["paid_by_payer"] == [
        {"payer": "employee", "amount": money("135000")},
        {"payer": "employer", "amount": money("135000")},
        {"payer": "government", "amount": money("45150")}]
    assert (old_age["first_month"], old_age["last_month"]) == ("2025-01", "2025-03")
    assert old_age["months_by_state"] == {"active": 3}
    assert by_fund["JP-JPS"]["totals"] == [money("32940", "JPY")]
    assert statement["totals"] == [money("32940", "JPY"), money("315150")]
    assert len(thai["contributions"]) == 3
    as_th = (await api.http.get(f"/v1/workers/{worker}/statement", headers=api.auth("th"))).json()
    assert [f["fund"] for f in as_th["funds"]] == ["TH-SSO"]


async def open_account(api: Api, key: str, flags: list[str] | None = None,
                       currency: str = "THB") -> int:
    response = await api.http.post("/v1/accounts", headers=api.auth("operator"), json={
        "key": key, "code": "operating", "currency": currency, "flags": flags or []})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def transfers(api: Api, items: list[dict[str, Any]]) -> Any:
    return await api.http.post("/v1/transfers", headers=api.auth("operator"),
                               json={"transfers": items})


def move(tid: str, debit: int, credit: int, amount: str, **extra: Any) -> dict[str, Any]:
    return {"id": tid, "debit_account_id": debit, "credit_account_id": credit,
            "amount": money(amount), **extra}


async def test_linked_batch_pending_post_void_and_reversal(api: Api, uid: str) -> None:
    a = await open_account(api, f"t/{uid}/a")
    b = await open_account(api, f"t/{uid}/b", ["debits_must_not_exceed_credits"])
    created = await transfers(api, [move(f"{uid}-1", a, b, "1000"),
                                    move(f"{uid}-2", a, b, "500", pending=True)])
    assert created.status_code == 201 and created.json()["status"] == "created"
    account_b = (await api.http.get(f"/v1/accounts/{b}", headers=api.auth("operator"))).json()
    assert account_b["credits_posted"] == money("1000")
    assert account_b["credits_pending"] == money("500")
    posted = await api.http.post(f"/v1/transfers/{uid}-2/post", headers=api.auth("operator"),
                                 json={"id": f"{uid}-2p", "amount_minor": "200"})
    assert posted.status_code == 201, posted.text
    assert posted.json()["transfers"][0]["amount"] == money("200")
    void = await api.http.post(f"/v1/transfers/{uid}-2/void", headers=api.auth("operator"),
                               json={"id": f"{uid}-2v"})
    assert void.status_code == 422 and void.json()["code"] == "pending_already_resolved"
    reversal = await api.http.post(f"/v1/transfers/{uid}-1/reversal",
                                   headers=api.auth("operator"), json={"id": f"{uid}-1r"})
    assert reversal.status_code == 201
    twice = await api.http.post(f"/v1/transfers/{uid}-1/reversal",
                                headers=api.auth("operator"), json={"id": f"{uid}-1r2"})
    assert twice.status_code == 422 and twice.json()["code"] == "already_reversed"
    account_b = (await api.http.get(f"/v1/accounts/{b}", headers=api.auth("operator"))).json()
    assert account_b["balance"] == money("200")
    journal = (await api.http.get(f"/v1/accounts/{b}/transfers?limit=2",
                                  headers=api.auth("operator"))).json()
    assert [t["id"] for t in journal["transfers"]] == [f"{uid}-1", f"{uid}-2"]
    rest = (await api.http.get(f"/v1/accounts/{b}/transfers?after={journal['next_after']}",
                               headers=api.auth("operator"))).json()
    assert [t["id"] for t in rest["transfers"]] == [f"{uid}-2p", f"{uid}-1r"]


async def test_a_failing_linked_batch_changes_nothing(api: Api, uid: str) -> None:
    a = await open_account(api, f"t/{uid}/a")
    b = await open_account(api, f"t/{uid}/b", ["debits_must_not_exceed_credits"])
    yen = await open_account(api, f"t/{uid}/yen", currency="JPY")
    before = await ledger_snapshot(api)
    overdraw = await transfers(api, [move(f"{uid}-1", a, b, "100"),
                                     move(f"{uid}-2", b, a, "101")])
    assert overdraw.status_code == 422
    assert (overdraw.json()["code"], overdraw.json()["index"]) == ("exceeds_credits", 1)
    mixed = await transfers(api, [move(f"{uid}-3", a, yen, "100")])
    assert mixed.status_code == 422 and mixed.json()["code"] == "currency_mismatch"
    same = await transfers(api, [move(f"{uid}-4", a, a, "100")])
    assert same.status_code == 422 and same.json()["code"] == "same_account"
    unknown = await transfers(api, [move(f"{uid}-5", a, 10**12, "100")])
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_account"
    assert await ledger_snapshot(api) == before


async def test_only_the_operator_moves_money_directly(api: Api, uid: str) -> None:
    response = await api.http.post("/v1/transfers", headers=api.auth("th"),
                                   json={"transfers": [move(f"{uid}", 1, 2, "1")]})
    assert response.status_code == 403


async def test_health_ready_funds(api: Api) -> None:
    assert (await api.http.get("/v1/health")).json() == {"status": "ok"}
    ready = (await api.http.get("/v1/ready", headers=api.auth("operator"))).json()
    assert ready["status"] == "ready" and ready["schema"] == head_revision()
    funds = (await api.http.get("/v1/funds")).json()
    # The built-in five, then the funds adapter folders declare (Lao LSSO, Malaysia's SOCSO).
    assert [f["code"] for f in funds] == ["KH-NSSF", "MM-SSB", "VN-VSS", "TH-SSO", "JP-JPS",
                                          "LA-LSSO", "MY-SOCSO"]
    assert (await api.http.get("/v1/funds/XX")).status_code == 404
    # The home funds' voluntary schemes; those no product operates are agreement options.
    vn = {s["code"]: s for s in (await api.http.get("/v1/funds/VN-VSS")).json()["schemes"]}
    assert (vn["voluntary-si"]["voluntary"], vn["voluntary-si"]["operating"]) == (True, True)
    assert vn["migrant-welfare"]["name"] == "Overseas Employment Support Fund"
    assert not vn["retirement-survivorship"]["voluntary"]
    mm = {s["code"]: s for s in (await api.http.get("/v1/funds/MM-SSB")).json()["schemes"]}
    assert {k: mm["voluntary-abroad"][k] for k in ("operating", "voluntary",
                                                    "agreement_option")} == {
        "operating": False, "voluntary": True, "agreement_option": True}
    la = (await api.http.get("/v1/funds/LA-LSSO")).json()
    assert (la["currency"], [s["code"] for s in la["schemes"]]) == (
        "LAK", ["social-security", "voluntary", "migrant-welfare"])
