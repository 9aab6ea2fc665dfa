"""Answers that may carry identity numbers are never cached; every answer says nosniff; readiness
tells anyone only ready or not (issue 25, finding 13)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.anyio


async def test_private_answers_are_not_stored_and_public_documents_may_be(api: Api) -> None:
    private = [
        await api.http.get("/v1/accounts", headers=api.auth("operator")),
        await api.http.get("/v1/workers/nobody", headers=api.auth("th")),  # a 404 too
        await api.http.get("/v1/accounts"),  # a 401 too
    ]
    for response in private:
        assert response.headers["cache-control"] == "no-store", response.request.url
        assert response.headers["x-content-type-options"] == "nosniff"
    public = await api.http.get("/.well-known/jwks.json")
    assert "no-store" not in public.headers.get("cache-control", "")
    assert public.headers["x-content-type-options"] == "nosniff"


async def test_readiness_tells_anyone_only_ready_and_staff_what_runs(api: Api) -> None:
    anyone = (await api.http.get("/v1/ready")).json()
    assert anyone == {"status": "ready"}
    staff = (await api.http.get("/v1/ready", headers=api.auth("auditor"))).json()
    assert staff["status"] == "ready" and staff["database"] in ("sqlite", "postgresql")
    fund = (await api.http.get("/v1/ready", headers=api.auth("th"))).json()
    assert fund == {"status": "ready"}
    bad_token = await api.http.get("/v1/ready", headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
