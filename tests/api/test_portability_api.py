"""Portability, inbox and windows over HTTP: status codes of the new error codes, who sees what."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.helpers import new_worker, thai_contribution

pytestmark = pytest.mark.anyio


async def test_a_flow_over_http_and_its_errors(api: Api, uid: str) -> None:
    http, op = api.http, api.auth("operator")
    worker = await new_worker(api, uid, ("TH-SSO", "JP-JPS"))
    for month in ("2025-01", "2025-02"):
        assert (await http.post("/v1/contributions", headers={**op, "Idempotency-Key": month + uid},
                                json=thai_contribution(worker, month))).status_code == 201
    for base, quote, rate in (("THB", "USD", "0.028"), ("USD", "KHR", "4100")):
        put = await http.put(f"/v1/fx-rates/{base}/{quote}", headers=op,
                             json={"rate": rate, "source": "test"})
        assert put.status_code == 200, put.text
    bad_rate = await http.put("/v1/fx-rates/THB/USD", headers=op, json={"rate": "0", "source": "x"})
    assert bad_rate.status_code == 422 and bad_rate.json()["code"] == "invalid_rate"
    assert (await http.put("/v1/fx-rates/THB/USD", headers=api.auth("th"),
                           json={"rate": "1", "source": "x"})).status_code == 403

    body = {"worker_id": worker, "host_fund": "TH-SSO", "scheme": "s33-old-age",
            "reason": "return_home", "id": f"pt-{uid}"}
    created = await http.post("/v1/portability/transfers", headers=op, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["home_fund"] == "KH-NSSF" and created.json()["state"] == "requested"
    again = await http.post("/v1/portability/transfers", headers=op, json=body)
    assert again.status_code == 409 and again.json()["code"] == "flow_open"
    kept = await http.post("/v1/portability/transfers", headers=op,
                           json={**body, "host_fund": "JP-JPS", "scheme": "epi", "id": None})
    assert kept.status_code == 422 and kept.json()["code"] == "not_portable"

    path = f"/v1/portability/transfers/pt-{uid}"
    assert (await http.get(path, headers=api.auth("jp"))).json()["code"] == "unknown_flow"
    early = await http.post(path + "/transitions", headers=op, json={"to": "posted"})
    assert early.status_code == 409 and early.json()["code"] == "illegal_flow_transition"
    approved = await http.post(path + "/transitions", headers=api.auth("th"),
                               json={"to": "pending"})
    assert approved.status_code == 200 and approved.json()["state"] == "pending", approved.text
    assert approved.json()["source"] == {"amount_minor": "180000", "currency": "THB"}
    posted = await http.post(path + "/transitions", headers=op, json={"to": "posted"})
    assert posted.json()["state"] == "posted"
    missing = await http.get("/v1/portability/transfers/nope", headers=op)
    assert missing.status_code == 404

    totals = await http.get(f"/v1/workers/{worker}/totalisation?as_of=2026-01", headers=op)
    th = next(f for f in totals.json()["funds"] if f["fund"] == "TH-SSO")
    assert th["own_months"] == 0  # transferred to the home fund
    assert (await http.get("/v1/windows/NOPE", headers=op)).status_code == 404
    pilot = await http.get("/v1/agreements/clmtv-2019-pilot", headers=op)
    assert pilot.json()["settlement"]["currency"] == "USD"
    assert (await http.get("/v1/agreements/nope", headers=op)).status_code == 404


async def test_inbox_answers_each_token(api: Api) -> None:
    response = await api.http.post("/v1/inbox/messages", headers=api.auth("operator"),
                                   json={"tokens": ["not-a-token", "a.b.c"]})
    assert response.status_code == 200
    outcomes = response.json()["outcomes"]
    assert [o["outcome"] for o in outcomes] == ["rejected", "rejected"]
    assert outcomes[0]["reason"] == "malformed"
    empty = await api.http.post("/v1/inbox/messages", headers=api.auth("operator"),
                                json={"tokens": []})
    assert empty.status_code == 422
