"""GET /v1/workers/{id}/statement: the summary whole, the detail paged (issue 22 item 8).

`limit`, `after`, `fund` and `scheme` choose which contributions a page lists; the summary
(balances, payers, months) never changes with them, and the signed statement lists them all.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ledger.settlement.keys import HUB, TrustRegistry
from ledger.settlement.messages import verify_message
from tests.api.conftest import Api
from tests.api.helpers import money, new_worker, thai_contribution

pytestmark = pytest.mark.anyio
THAI_MONTHS = [f"2025-{m:02d}" for m in range(1, 8)]


async def _career(api: Api, uid: str) -> str:
    """Seven Thai months and two Japanese ones: nine contributions."""
    worker = await new_worker(api, uid, ("TH-SSO", "JP-JPS"))
    epi = [{"worker_id": worker, "fund": "JP-JPS", "scheme": "epi", "month": month,
            "wage_base": money("180000", "JPY"),
            "shares": [{"payer": "employee", "amount": money("16470", "JPY")},
                       {"payer": "employer", "amount": money("16470", "JPY")}]}
           for month in ("2025-08", "2025-09")]
    response = await api.http.post("/v1/contributions/batch", headers={
        **api.auth("operator"), "Idempotency-Key": f"career-{uid}"}, json={"contributions": [
            *(thai_contribution(worker, month=m) for m in THAI_MONTHS), *epi]})
    assert response.status_code in (200, 201), response.text
    return worker


async def _statement(api: Api, worker: str, **params: Any) -> Any:
    response = await api.http.get(f"/v1/workers/{worker}/statement", params=params,
                                  headers=api.auth("operator"))
    assert response.status_code == 200, response.text
    return response.json()


def _listed(statement: dict[str, Any]) -> list[str]:
    return [c["id"] for f in statement["funds"] for c in f["contributions"]]


def _summary(statement: dict[str, Any]) -> Any:
    return (statement["totals"], [(f["fund"], f["months"], f["totals"], f["schemes"],
                                   f.get("contributions_total")) for f in statement["funds"]])


async def test_pages_walk_the_detail_in_order_and_the_summary_stays_whole(
    api: Api, uid: str,
) -> None:
    worker = await _career(api, uid)
    whole = await _statement(api, worker, limit=500)
    order = _listed(whole)
    assert len(order) == 9 and whole["detail"]["next"] is None
    # fund, then month: the Japanese months first (JP-JPS < TH-SSO), each fund by month
    assert [o.split(":")[-1] for o in order] == ["2025-08", "2025-09", *THAI_MONTHS]
    pages, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 4, **({"after": after} if after else {})}
        page = await _statement(api, worker, **params)
        assert _summary(page) == _summary(whole)
        assert page["detail"]["contributions"] == 9 and page["detail"]["limit"] == 4
        pages.append(_listed(page))
        assert page["detail"]["listed"] == len(pages[-1])
        after = page["detail"]["next"]
        if after is None:
            break
        assert after == pages[-1][-1]
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [i for p in pages for i in p] == order
    by_fund = {f["fund"]: f["contributions_total"] for f in whole["funds"]}
    assert by_fund == {"JP-JPS": 2, "TH-SSO": 7}


async def test_the_default_page_the_summary_alone_and_filters(api: Api, uid: str) -> None:
    worker = await _career(api, uid)
    default = await _statement(api, worker)
    assert default["detail"]["limit"] == 50 and default["detail"]["listed"] == 9
    summary = await _statement(api, worker, limit=0)
    assert _listed(summary) == [] and summary["detail"]["contributions"] == 9
    assert summary["detail"]["next"] is None
    assert _summary(summary) == _summary(default)
    thai = {f["fund"]: f for f in summary["funds"]}["TH-SSO"]
    (old_age,) = thai["schemes"]  # months, balance and who paid, without one contribution
    assert (old_age["months"], old_age["balance"]) == (7, money(str(7 * 105_050)))
    assert old_age["paid_by_payer"][0] == {"payer": "employee", "amount": money("315000")}
    japan = await _statement(api, worker, fund="JP-JPS")
    assert [i.split(":")[2] for i in _listed(japan)] == ["JP-JPS", "JP-JPS"]
    assert japan["detail"]["contributions"] == 2 and japan["detail"]["fund"] == "JP-JPS"
    none = await _statement(api, worker, scheme="s33-sickness")
    assert _listed(none) == [] and none["detail"]["contributions"] == 0


async def test_bad_page_parameters_are_refused(api: Api, uid: str) -> None:
    worker = await _career(api, uid)
    for params, field in (({"after": "ctb:nothing"}, "after"), ({"limit": 501}, "limit"),
                          ({"limit": -1}, "limit")):
        response = await api.http.get(f"/v1/workers/{worker}/statement", params=params,
                                      headers=api.auth("operator"))
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field


async def test_the_signed_statement_holds_the_whole_detail(api: Api, uid: str) -> None:
    worker = await _career(api, uid)
    token = (await api.http.get(f"/v1/workers/{worker}/statement.jws",
                                headers=api.auth("operator"))).text
    registry = TrustRegistry()
    registry.load_jwks(HUB, api.services.signer.jwks())
    body = verify_message(token, registry, worker, int(time.time())).body
    assert sum(len(f["contributions"]) for f in body["funds"]) == 9
    assert "detail" not in body
