"""Request builders shared by API tests."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api


def money(amount: str, currency: str = "THB") -> dict[str, str]:
    return {"amount_minor": amount, "currency": currency}


def thai_contribution(worker: str, month: str = "2025-06", employee: str = "45000",
                      **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "worker_id": worker, "fund": "TH-SSO", "scheme": "s33-old-age", "month": month,
        "wage_base": money("1500000"),
        "shares": [{"payer": "employee", "amount": money(employee)},
                   {"payer": "employer", "amount": money("45000")},
                   {"payer": "government", "amount": money("15000")}],
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


async def ledger_snapshot(api: Api) -> Any:
    """Everything a bad request must leave untouched: per-currency totals."""
    response = await api.http.get("/v1/ledger/totals", headers=api.auth("operator"))
    assert response.status_code == 200
    return response.json()
