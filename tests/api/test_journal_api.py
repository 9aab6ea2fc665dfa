"""The journal's routes (ADR 0050): a fund fetches tree heads and proofs and checks them offline
with the hub's published keys; an inclusion proof follows the transfer's visibility."""

from __future__ import annotations

import pytest

from ledger.settlement.journal import check_document
from ledger.settlement.keys import HUB, TrustRegistry
from tests.api.conftest import Api
from tests.api.helpers import new_worker, thai_contribution

pytestmark = pytest.mark.anyio
NOW = 2_000_000_000


async def _hub_keys(api: Api) -> TrustRegistry:
    registry = TrustRegistry()
    registry.load_jwks(HUB, (await api.http.get("/.well-known/jwks.json")).json())
    return registry


async def test_a_fund_proves_its_contribution_is_in_the_signed_journal(api: Api,
                                                                       uid: str) -> None:
    worker = await new_worker(api, uid)
    posted = await api.http.post("/v1/contributions", headers={
        **api.auth("th"), "Idempotency-Key": f"journal-{uid}"},
        json=thai_contribution(worker, month="2025-03"))
    assert posted.status_code == 201, posted.text
    transfer_id = posted.json()["transfers"][0]["id"]
    assert "/" in transfer_id  # a contribution's transfers are named <contribution>/<payer>

    # Not sealed yet (no server task here): asking for the proof seals it.
    proof = await api.http.get(f"/v1/journal/transfers/{transfer_id}/inclusion",
                               headers=api.auth("th"))
    assert proof.status_code == 200, proof.text
    keys = await _hub_keys(api)
    verdict = check_document(proof.json(), keys, NOW)
    assert verdict.lines[0].startswith(f"valid: transfer {transfer_id} ")

    latest = (await api.http.get("/v1/journal/tree-heads/latest", headers=api.auth("th")))
    assert latest.status_code == 200 and latest.json()["tree_size"] >= proof.json()["tree_size"]
    heads = await api.http.get("/v1/journal/tree-heads", headers=api.auth("th"),
                               params={"after_size": latest.json()["tree_size"] - 1})
    assert [h["token"] for h in heads.json()["tree_heads"]] == [latest.json()["token"]]

    first = proof.json()["tree_size"]
    await api.http.post("/v1/contributions", headers={
        **api.auth("th"), "Idempotency-Key": f"journal-{uid}-2"},
        json=thai_contribution(worker, month="2025-04"))
    await api.services.journal.seal_all()
    newest = (await api.http.get("/v1/journal/tree-heads/latest",
                                 headers=api.auth("th"))).json()["tree_size"]
    consistency = await api.http.get("/v1/journal/consistency", headers=api.auth("th"),
                                     params={"first": first, "second": newest})
    assert consistency.status_code == 200, consistency.text
    assert check_document(consistency.json(), keys, NOW).kind == "consistency"


async def test_who_may_read_the_journal(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    posted = await api.http.post("/v1/contributions", headers={
        **api.auth("th"), "Idempotency-Key": f"journal-who-{uid}"},
        json=thai_contribution(worker, month="2025-05"))
    transfer_id = posted.json()["transfers"][0]["id"]
    path = f"/v1/journal/transfers/{transfer_id}/inclusion"
    assert (await api.http.get(path, headers=api.auth("auditor"))).status_code == 200
    # Another fund does not see TH-SSO's transfer: as if it did not exist.
    assert (await api.http.get(path, headers=api.auth("jp"))).status_code == 404
    assert (await api.http.get(path, headers=api.auth("employer"))).status_code == 403
    assert (await api.http.get("/v1/journal/tree-heads",
                               headers=api.auth("employer"))).status_code == 403
    assert (await api.http.get("/v1/journal/tree-heads")).status_code == 401
    bad = await api.http.get("/v1/journal/consistency", headers=api.auth("jp"),
                             params={"first": 10**9, "second": 10**9})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"


async def test_a_fund_proves_a_period_change_and_only_its_own(api: Api, uid: str) -> None:
    """The period log (ADR 0059): the month a contribution created, proven to TH-SSO over HTTP
    and checked offline; another fund is told it does not exist; an unknown change is a 404."""
    worker = await new_worker(api, uid)
    posted = await api.http.post("/v1/contributions", headers={
        **api.auth("th"), "Idempotency-Key": f"journal-period-{uid}"},
        json=thai_contribution(worker, month="2025-06"))
    assert posted.status_code == 201, posted.text
    scheme = thai_contribution(worker)["scheme"]
    change = f"{worker}/TH-SSO/{scheme}/2025-06/active"
    path = f"/v1/journal/periods/{change}/inclusion"
    proof = await api.http.get(path, headers=api.auth("th"))
    assert proof.status_code == 200, proof.text
    keys = await _hub_keys(api)
    assert check_document(proof.json(), keys, NOW).lines[0].startswith(
        f"valid: period change {change} ")
    heads = await api.http.get("/v1/journal/tree-heads", headers=api.auth("th"),
                               params={"log": "periods",
                                       "after_size": proof.json()["tree_size"] - 1})
    assert proof.json()["tree_head"] in [h["token"] for h in heads.json()["tree_heads"]]
    await api.http.post("/v1/contributions", headers={
        **api.auth("th"), "Idempotency-Key": f"journal-period-{uid}-2"},
        json=thai_contribution(worker, month="2025-07"))
    await api.services.period_journal.seal_all()
    newest = (await api.http.get("/v1/journal/tree-heads/latest", headers=api.auth("th"),
                                 params={"log": "periods"})).json()["tree_size"]
    consistency = await api.http.get("/v1/journal/consistency", headers=api.auth("auditor"),
                                     params={"log": "periods", "first": proof.json()["tree_size"],
                                             "second": newest})
    assert consistency.status_code == 200, consistency.text
    assert check_document(consistency.json(), keys, NOW).kind == "consistency"
    other = await api.http.get(path, headers=api.auth("jp"))
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    missing = await api.http.get(path.replace("/active/", "/withdrawn/"),
                                 headers=api.auth("th"))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
