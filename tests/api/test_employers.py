"""Issue 25 finding 4: an employer is bound to its employer number and the workers the fund
registered as its employees.

On main before this, an employer token could post a contribution for any member of its fund
(a 3-satang month for a worker it could not read was booked as an insured month, and the real
employer's declaration of that month was then refused). Each refusal is a 403 problem+json that
changes nothing; the allowed path books.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.db import repositories as repo
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import PrincipalKind
from tests.api.conftest import TEST_EMPLOYER, Api
from tests.api.helpers import (
    employ,
    ledger_snapshot,
    member_number,
    new_worker,
    thai_contribution,
)
from tests.db.test_imports import JAN_2026, thai_file

pytestmark = pytest.mark.anyio
EMPLOYEES = f"/v1/funds/TH-SSO/employers/{TEST_EMPLOYER}/employees"


async def post(api: Api, body: Any, key: str, who: str = "employer") -> Any:
    return await api.http.post("/v1/contributions", json=body,
                               headers={**api.auth(who), "Idempotency-Key": key})


def forbidden(response: Any, field: str | None) -> str:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem.get("field")) == ("forbidden", field)
    return str(problem["detail"])


async def test_an_employer_posts_only_for_its_employees(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    before = await ledger_snapshot(api)
    # Not (yet) its employee, and a worker id nobody has: the same answer, nothing booked.
    stranger = forbidden(await post(api, thai_contribution(worker), f"a-{uid}"), "worker_id")
    nobody = forbidden(await post(api, thai_contribution("wkr_nobody00"), f"b-{uid}"),
                       "worker_id")
    assert stranger == (f"employer {TEST_EMPLOYER} at TH-SSO does not employ worker {worker}; "
                        "the fund registers its employees")
    assert nobody == stranger.replace(worker, "wkr_nobody00")
    assert await ledger_snapshot(api) == before
    # The fund registers the employment (again: 200, nothing changes); the employer books.
    first = await api.http.post(EMPLOYEES, headers=api.auth("th"), json={"worker_id": worker})
    again = await api.http.post(EMPLOYEES, headers=api.auth("th"), json={"worker_id": worker})
    assert (first.status_code, again.status_code) == (201, 200)
    assert (await post(api, thai_contribution(worker), f"c-{uid}")).status_code == 201
    listed = await api.http.get(EMPLOYEES, headers=api.auth("employer"))
    assert listed.status_code == 200 and worker in listed.json()["worker_ids"]
    # Ended: the employer may no longer post for the worker; what it posted stays.
    ended = await api.http.delete(f"{EMPLOYEES}/{worker}", headers=api.auth("th"))
    assert ended.status_code == 204
    assert (await api.http.delete(f"{EMPLOYEES}/{worker}", headers=api.auth("th"))
            ).status_code == 404
    forbidden(await post(api, thai_contribution(worker, month="2025-07"), f"d-{uid}"),
              "worker_id")


async def test_a_batch_naming_one_stranger_is_refused_whole(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    other = await new_worker(api, uid[::-1])
    await employ(api, worker)
    before = await ledger_snapshot(api)
    response = await api.http.post("/v1/contributions/batch", headers={
        **api.auth("employer"), "Idempotency-Key": uid}, json={"contributions": [
            thai_contribution(worker), thai_contribution(other)]})
    forbidden(response, "worker_id")
    assert response.json()["index"] == 1
    assert await ledger_snapshot(api) == before


async def test_an_employer_may_not_say_a_share_differs_from_the_rules(api: Api, uid: str
                                                                      ) -> None:
    worker = await new_worker(api, uid)
    await employ(api, worker)
    body = thai_contribution(worker, employee="1", employee_reason="arrears")
    assert "the fund records arrears" in forbidden(await post(api, body, uid), "shares")


async def test_only_the_fund_and_the_hub_register_employees(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    for who in ("employer", "jp", "auditor"):
        response = await api.http.post(EMPLOYEES, headers=api.auth(who),
                                       json={"worker_id": worker})
        forbidden(response, None)
    jp_only = await new_worker(api, uid[::-1], ("JP-JPS",))
    response = await api.http.post(EMPLOYEES, headers=api.auth("th"),
                                   json={"worker_id": jp_only})
    assert response.status_code == 422 and response.json()["code"] == "worker_not_member"
    # Another employer of the same fund reads neither this list nor posts for its staff.
    other = await api.services.clients.register(f"other-{uid}", PrincipalKind.EMPLOYER,
                                                "TH-SSO", employer="5555555555")
    await employ(api, worker)
    listed = await api.http.get(EMPLOYEES, headers={"Authorization": f"Bearer {other}"})
    forbidden(listed, None)


async def test_an_employer_client_needs_its_number(api: Api, uid: str) -> None:
    with pytest.raises(DomainError) as caught:
        await api.services.clients.register(f"e-{uid}", PrincipalKind.EMPLOYER, "TH-SSO")
    assert (caught.value.code, caught.value.field) == (ErrorCode.INVALID_INPUT, "employer")
    with pytest.raises(DomainError) as caught:
        await api.services.clients.register(f"f-{uid}", PrincipalKind.FUND, "TH-SSO",
                                            employer="1234567890")
    assert caught.value.field == "employer"


async def test_an_employer_token_from_before_the_binding_may_post_nothing(api: Api, uid: str
                                                                          ) -> None:
    """A token issued before migration 0012 has no employer number: refused, uploads before
    their body is read."""
    worker = await new_worker(api, uid)
    token = await api.services.clients.register(f"old-{uid}", PrincipalKind.EMPLOYER, "TH-SSO",
                                                employer=TEST_EMPLOYER)
    await repo.update_client(api.services.db, f"old-{uid}", {"employer": None})
    api.services.clients._cache.clear()
    await employ(api, worker)
    auth = {"Authorization": f"Bearer {token}"}
    forbidden(await api.http.post("/v1/contributions", json=thai_contribution(worker),
                                  headers={**auth, "Idempotency-Key": uid}), "fund")
    data = thai_file(JAN_2026, [(member_number("TH-SSO", uid), 1_500_000)])
    forbidden(await api.http.post("/v1/funds/TH-SSO/declarations", headers=auth,
                                  files={"file": ("sso.txt", data)}), None)


async def test_an_employers_file_declares_its_own_employees_only(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    data = thai_file(JAN_2026, [(member_number("TH-SSO", uid), 1_500_000)])
    before = await ledger_snapshot(api)
    url = "/v1/funds/TH-SSO/declarations"
    # Another employer's header: 403, nothing read into the ledger.
    other = await api.services.clients.register(f"other-{uid}", PrincipalKind.EMPLOYER,
                                                "TH-SSO", employer="5555555555")
    response = await api.http.post(url, headers={"Authorization": f"Bearer {other}"},
                                   files={"file": ("sso.txt", data)})
    assert "declares for employer 5555555555 only" in forbidden(response, "file")
    # Its own header, a worker it does not employ and a number nobody holds: one reason.
    stranger = thai_file(JAN_2026, [(member_number("TH-SSO", uid), 1_500_000),
                                    (member_number("TH-SSO", uid[::-1]), 1_500_000)])
    refused = await api.http.post(url, headers=api.auth("employer"),
                                  files={"file": ("sso.txt", stranger)})
    assert refused.status_code == 422 and refused.json()["code"] == "import_rejected"
    errors = refused.json()["details"]["report"]["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(2, "member_number"),
                                                         (3, "member_number")]
    assert errors[0]["reason"] == errors[1]["reason"] == (
        f"not an employee of employer {TEST_EMPLOYER} at TH-SSO: the fund registers its "
        "employees (POST /v1/funds/TH-SSO/employers/{employer}/employees)")
    assert await ledger_snapshot(api) == before
    await employ(api, worker)
    booked = await api.http.post(url, headers=api.auth("employer"),
                                 files={"file": ("sso.txt", data)})
    assert booked.status_code == 201, booked.text
    assert booked.json()["contributions_booked"] == 1
    # Sent again by the other employer: still 403, not the first import's report.
    again = await api.http.post(url, headers={"Authorization": f"Bearer {other}"},
                                files={"file": ("sso.txt", data)})
    forbidden(again, "file")
