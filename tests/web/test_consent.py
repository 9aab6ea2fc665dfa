"""Consent grants: a worker lets a helper read their statement for a while; the helper reads it
before the grant expires and is refused after; a revoked grant stops at once; the worker sees
who read it. The clock is the consent service's, moved by the test."""

from __future__ import annotations

import pytest

from ledger.domain.principals import PrincipalKind
from ledger.services.consent import DAY_US
from tests.api.conftest import Api
from tests.api.helpers import new_worker, thai_contribution

pytestmark = pytest.mark.anyio

T0 = 1_900_000_000_000_000  # µs: a fixed "now" for the consent clock


async def _setup(api: Api, uid: str) -> tuple[str, dict[str, str], dict[str, str], str]:
    worker = await new_worker(api, uid, ("TH-SSO", "JP-JPS"))
    posted = await api.http.post("/v1/contributions", json=thai_contribution(worker),
                                 headers={**api.auth("operator"), "Idempotency-Key": uid})
    assert posted.status_code == 201
    worker_token = await api.services.clients.register(f"w-{uid}", PrincipalKind.WORKER, worker)
    helper = f"attache-{uid}"
    helper_token = await api.services.clients.register(helper, PrincipalKind.HELPER, None)
    return (worker, {"Authorization": f"Bearer {worker_token}"},
            {"Authorization": f"Bearer {helper_token}"}, helper)


async def _grant(api: Api, worker: str, as_worker: dict[str, str], grantee: str,
                 days: int) -> int:
    response = await api.http.post(f"/web/workers/{worker}/consents", headers=as_worker,
                                   data={"grantee": grantee, "days": str(days),
                                         "note": "pension claim"})
    return response.status_code


async def test_a_grant_lets_the_helper_read_until_it_expires(api: Api, uid: str) -> None:
    worker, as_worker, as_helper, helper = await _setup(api, uid)
    clock = {"now": T0}
    api.services.consent.clock = lambda: clock["now"]
    url = f"/v1/workers/{worker}/statement"
    assert (await api.http.get(url, headers=as_helper)).status_code == 404  # no grant yet

    assert await _grant(api, worker, as_worker, helper, 7) == 303
    clock["now"] = T0 + 7 * DAY_US - 1  # the last microsecond of the grant
    before = await api.http.get(url, headers=as_helper)
    assert before.status_code == 200, before.text
    assert before.json()["scope"]["complete"] is True
    assert {f["fund"] for f in before.json()["funds"]} == {"TH-SSO", "JP-JPS"}
    assert all(f["member_number"] is None for f in before.json()["funds"])  # no numbers shown
    opened = await api.http.get(f"/web/open?worker={worker}", headers=as_helper)
    assert opened.headers["location"] == f"/web/workers/{worker}/statement"
    page = await api.http.get(f"/web/workers/{worker}/statement", headers=as_helper)
    assert page.status_code == 200 and worker in page.text

    clock["now"] = T0 + 7 * DAY_US  # expired
    after = await api.http.get(url, headers=as_helper)
    assert after.status_code == 404
    assert (await api.http.get(f"/web/workers/{worker}/statement",
                               headers=as_helper)).status_code == 404

    seen = (await api.http.get(f"/v1/workers/{worker}/consents", headers=as_worker)).json()
    assert [g["state"] for g in seen["grants"]] == ["expired"]
    reads = [(r["reader"], r["what"], r["at_us"]) for r in seen["reads"]]
    assert reads == [(helper, "page", T0 + 7 * DAY_US - 1), (helper, "json", T0 + 7 * DAY_US - 1)]
    assert all(r["grant_id"] == seen["grants"][0]["id"] for r in seen["reads"])
    consent_page = await api.http.get(f"/web/workers/{worker}/consents", headers=as_worker)
    assert helper in consent_page.text


async def test_a_revoked_grant_stops_at_once(api: Api, uid: str) -> None:
    worker, as_worker, as_helper, helper = await _setup(api, uid)
    api.services.consent.clock = lambda: T0
    assert await _grant(api, worker, as_worker, helper, 30) == 303
    url = f"/v1/workers/{worker}/statement"
    assert (await api.http.get(url, headers=as_helper)).status_code == 200
    grant_id = (await api.http.get(f"/v1/workers/{worker}/consents",
                                   headers=as_worker)).json()["grants"][0]["id"]
    revoked = await api.http.post(f"/web/workers/{worker}/consents/{grant_id}/revoke",
                                  headers=as_worker)
    assert revoked.status_code == 303
    assert (await api.http.get(url, headers=as_helper)).status_code == 404


async def test_only_the_worker_grants_and_only_for_a_while(api: Api, uid: str) -> None:
    worker, as_worker, as_helper, helper = await _setup(api, uid)
    assert await _grant(api, worker, as_helper, helper, 7) == 403  # the helper itself
    assert await _grant(api, worker, as_worker, helper, 0) == 400
    assert await _grant(api, worker, as_worker, helper, 91) == 400  # CONSENT_DAYS_MAX is 90
    assert await _grant(api, worker, as_worker, f"nobody-{uid}", 7) == 400
    assert await _grant(api, worker, as_worker, f"w-{uid}", 7) == 400  # a worker client
    seen = (await api.http.get(f"/v1/workers/{worker}/consents", headers=as_worker)).json()
    assert seen["grants"] == []
    other = await api.http.get(f"/v1/workers/{worker}/consents", headers=as_helper)
    assert other.status_code == 403


async def test_an_unknown_grant_and_too_many_grants_are_refused(api: Api, uid: str) -> None:
    from ledger.limits import CONSENT_GRANTS_OPEN_MAX

    worker, as_worker, _, helper = await _setup(api, uid)
    unknown = await api.http.post(f"/web/workers/{worker}/consents/cg_nothing/revoke",
                                  headers=as_worker)
    assert unknown.status_code == 404
    for _ in range(CONSENT_GRANTS_OPEN_MAX):
        assert await _grant(api, worker, as_worker, helper, 1) == 303
    assert await _grant(api, worker, as_worker, helper, 1) == 400
    seen = (await api.http.get(f"/v1/workers/{worker}/consents", headers=as_worker)).json()
    assert len(seen["grants"]) == CONSENT_GRANTS_OPEN_MAX
