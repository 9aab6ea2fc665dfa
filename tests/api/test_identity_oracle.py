"""Registering a worker answers the same whether or not another fund's worker holds the identity
number or id (issue 25 finding 3: any fund could test whether a passport was known anywhere)."""

from __future__ import annotations

import pytest

from ledger.db import repositories as repo
from tests.api.conftest import Api
from tests.api.helpers import member_number

pytestmark = pytest.mark.anyio


def _body(uid: str, fund: str, passport: str) -> dict[str, object]:
    return {"nationality": "MM", "identity": {"kind": "passport", "number": passport},
            "memberships": [{"fund": fund, "member_number": member_number(fund, uid)}]}


def _shape(answer: dict[str, object]) -> dict[str, object]:
    """What a caller can compare between two answers: everything but the new id and times."""
    return {k: v for k, v in answer.items() if k not in ("id", "created_at", "memberships",
                                                         "identity")} | {
        "identity_kind": answer["identity"]["kind"],  # type: ignore[index]
        "identity_masked": set(answer["identity"]["number"][:-3]) == {"*"}}  # type: ignore[index]


async def test_a_known_identity_number_is_not_disclosed_to_another_fund(api: Api, uid: str
                                                                        ) -> None:
    known = f"MB{uid.upper()}"
    first = await api.http.post("/v1/workers", headers=api.auth("th"),
                                json=_body(uid, "TH-SSO", known))
    assert first.status_code == 201, first.text
    other_uid = uid[::-1]
    probe = await api.http.post("/v1/workers", headers=api.auth("jp"),
                                json=_body(other_uid, "JP-JPS", known))
    fresh = await api.http.post("/v1/workers", headers=api.auth("jp"),
                                json=_body(uid[1:] + "0", "JP-JPS", f"MC{uid.upper()}"))
    assert (probe.status_code, fresh.status_code) == (201, 201), probe.text
    assert _shape(probe.json()) == _shape(fresh.json())
    assert probe.json()["identity"]["number"].endswith(known[-3:])  # masked, as for any worker
    claim = await repo.identity_claim(api.services.db, probe.json()["id"])
    assert claim is not None and claim["claimed_by"].startswith("jp-")  # kept for review
    # The operator sees everything, so it is told.
    told = await api.http.post("/v1/workers", headers=api.auth("operator"),
                               json=_body(uid[2:] + "11", "JP-JPS", known))
    assert told.status_code == 409 and told.json()["field"] == "identity_number"


async def test_a_fund_does_not_choose_worker_ids(api: Api, uid: str) -> None:
    body = {**_body(uid, "JP-JPS", f"MD{uid.upper()}"), "id": f"wkr_{uid}"}
    refused = await api.http.post("/v1/workers", headers=api.auth("jp"), json=body)
    assert refused.status_code == 422 and refused.json()["field"] == "id"
    chosen = await api.http.post("/v1/workers", headers=api.auth("operator"), json=body)
    assert chosen.status_code == 201 and chosen.json()["id"] == f"wkr_{uid}"
