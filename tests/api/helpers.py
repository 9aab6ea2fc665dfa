"""Request builders shared by API tests."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import TEST_EMPLOYER, Api


def money(amount: str, currency: str = "THB") -> dict[str, str]:
    return {"amount_minor": amount, "currency": currency}


def thai_contribution(worker: str, month: str = "2025-06", employee: str = "45000",
                      employee_reason: str | None = None, **overrides: Any) -> dict[str, Any]:
    """s33 old age on a 15,000 THB wage, at the rules' amounts (the state's 2.75 % in whole
    baht leaves 150.50 to old age, ADR 0035) unless `employee` says otherwise, with a reason
    (`employee_reason`) or without (then the rules refuse it)."""
    own: dict[str, Any] = {"payer": "employee", "amount": money(employee)}
    if employee_reason is not None:
        own["reason"] = employee_reason
    body: dict[str, Any] = {
        "worker_id": worker, "fund": "TH-SSO", "scheme": "s33-old-age", "month": month,
        "wage_base": money("1500000"),
        "shares": [own,
                   {"payer": "employer", "amount": money("45000")},
                   {"payer": "government", "amount": money("15050")}],
    }
    body.update(overrides)
    return body


def thai_id(seed: str) -> str:
    """A valid 13-digit Thai ID derived from `seed` (check digit per the SSO rule)."""
    body = str(int(seed, 16) % 10**11).rjust(11, "0")
    body = "1" + body
    total = sum(int(d) * (13 - i) for i, d in enumerate(body))
    return body + str((11 - total % 11) % 10)


def member_number(fund: str, uid: str) -> str:
    digits = str(int(uid, 16) % 10**10).rjust(10, "0")
    return {
        "TH-SSO": thai_id(uid),
        "JP-JPS": f"{digits[:4]}-{digits[4:]}",
        "VN-VSS": digits,
        "KH-NSSF": f"NSSF-{digits}",
        "MM-SSB": f"SSB-{digits}",
    }[fund]


async def new_worker(api: Api, uid: str, funds: tuple[str, ...] = ("TH-SSO",)) -> str:
    response = await api.http.post("/v1/workers", headers=api.auth("operator"), json={
        "id": f"wkr_{uid}", "nationality": "KH",
        "memberships": [{"fund": f, "member_number": member_number(f, uid)} for f in funds]})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def employ(api: Api, worker: str, employer: str = TEST_EMPLOYER,
                 fund: str = "TH-SSO") -> None:
    """The fund registers the worker as the employer's employee."""
    response = await api.http.post(f"/v1/funds/{fund}/employers/{employer}/employees",
                                   headers=api.auth("operator"), json={"worker_id": worker})
    assert response.status_code in (200, 201), response.text


async def ledger_snapshot(api: Api) -> Any:
    """Everything a bad request must leave untouched: per-currency totals."""
    response = await api.http.get("/v1/ledger/totals", headers=api.auth("operator"))
    assert response.status_code == 200
    return response.json()
