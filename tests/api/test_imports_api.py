"""POST /v1/funds/{fund}/declarations: upload, replay, rejection as problem+json, who may."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.helpers import ledger_snapshot, member_number, new_worker
from tests.db.test_imports import JAN_2026, thai_file

pytestmark = pytest.mark.anyio
URL = "/v1/funds/TH-SSO/declarations"


async def test_upload_books_then_replays_then_rejects_bad_files_whole(api: Api, uid: str
                                                                       ) -> None:
    worker = await new_worker(api, uid)
    data = thai_file(JAN_2026, [(member_number("TH-SSO", uid), 1_500_000)])
    first = await api.http.post(URL, headers=api.auth("th"),
                                files={"file": ("sso.txt", data)})
    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["status"], report["rows_accepted"], report["contributions_booked"]) == (
        "posted", 1, 1)
    statement = await api.http.get(f"/v1/workers/{worker}/statement",
                                   headers=api.auth("operator"))
    assert "s33-old-age" in statement.text
    again = await api.http.post(URL, headers=api.auth("th"),
                                files={"file": ("sso.txt", data)})
    assert again.status_code == 200 and again.json()["replayed"] is True
    before = await ledger_snapshot(api)
    bad = thai_file(JAN_2026, [(member_number("TH-SSO", uid), 1_500_000)],
                    employee={0: 1})
    rejected = await api.http.post(URL, headers=api.auth("th"),
                                   files={"file": ("sso.txt", bad)})
    assert rejected.status_code == 422
    assert rejected.headers["content-type"] == "application/problem+json"
    problem = rejected.json()
    assert problem["code"] == "import_rejected"
    assert problem["details"]["report"]["errors"][0]["field"] == "employee_contribution"
    assert await ledger_snapshot(api) == before


async def test_another_funds_principal_may_not_import(api: Api, uid: str) -> None:
    data = thai_file(JAN_2026, [(member_number("TH-SSO", uid), 1_500_000)])
    response = await api.http.post("/v1/funds/TH-SSO/declarations",
                                   headers=api.auth("jp"), files={"file": ("f", data)})
    assert response.status_code == 403
    unknown = await api.http.post("/v1/funds/XX-NONE/declarations",
                                  headers=api.auth("operator"), files={"file": ("f", data)})
    assert unknown.status_code in (404, 422) and unknown.json()["field"] == "fund"
