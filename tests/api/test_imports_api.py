"""POST /v1/funds/{fund}/declarations: upload, replay, rejection as problem+json, who may."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ledger.api import app as app_module
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


async def test_a_file_with_no_readable_row_says_so_with_the_first_reason(api: Api, uid: str
                                                                         ) -> None:
    await new_worker(api, uid)
    good = thai_file(JAN_2026, [(member_number("TH-SSO", uid), 1_500_000)])
    header, row = good.split(b"\n")[:2]
    before = await ledger_snapshot(api)
    text = f"not a declaration {uid}"
    for data, reason in (
        (f"{text}\n".encode(), f"line 1, record: is {len(text)} bytes, expected 135"),
        (header + b"\n" + row[:40] + b"\n", "line 2, record: is 40 bytes, expected 135"),
        (header + b"\n", "the file has a header but no rows"),
        (b"", "the file is empty"),
    ):
        response = await api.http.post(URL, headers=api.auth("th"),
                                       files={"file": ("sso.txt", data)})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "import_rejected"
        assert problem["detail"].startswith(f"no row could be read: {reason}"), problem["detail"]
        assert problem["detail"].endswith("; nothing was booked")
        report = problem["details"]["report"]
        assert report["rows_parsed"] == 0
        assert report["rows_rejected"] <= report["rows_total"]
    assert await ledger_snapshot(api) == before


def _multipart(file: bytes, padding: int) -> tuple[bytes, str]:
    """A form with the file first, then a text field of `padding` bytes."""
    boundary = "clmtv-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="sso.txt"'
            f"\r\nContent-Type: text/plain\r\n\r\n").encode() + file + (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
        ).encode() + b"x" * padding + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def _chunked(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start:start + 1000]


async def test_an_upload_past_the_limit_is_413_streamed_or_declared_and_books_nothing(
    api: Api, uid: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await new_worker(api, uid)
    data = thai_file(JAN_2026, [(member_number("TH-SSO", uid), 1_500_000)])
    limit = len(_multipart(data, 0)[0]) + 500
    monkeypatch.setattr(app_module, "DECLARATION_FILE_MAX_BYTES", limit)
    too_big, content_type = _multipart(data, 5000)
    headers = {**api.auth("th"), "content-type": content_type}
    before = await ledger_snapshot(api)
    streamed = await api.http.post(URL, headers=headers, content=_chunked(too_big))
    declared = await api.http.post(URL, headers=headers, content=too_big)
    for response in (streamed, declared):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "body_too_large"
        assert str(limit) in response.json()["detail"]
    assert "without a length" in streamed.json()["detail"]
    assert await ledger_snapshot(api) == before
    # The same file within the limit, also streamed, is booked now: it had not been before.
    fits, content_type = _multipart(data, 100)
    booked = await api.http.post(URL, headers={**api.auth("th"), "content-type": content_type},
                                 content=_chunked(fits))
    assert booked.status_code == 201, booked.text
    assert booked.json()["contributions_booked"] == 1 and not booked.json()["replayed"]


async def test_a_streamed_json_body_past_the_limit_is_413(api: Api, uid: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(app_module, "REQUEST_BODY_MAX_BYTES", 10_000)
    body = b'{"contributions": [' + b" " * 20_000 + b"]}"
    response = await api.http.post(
        "/v1/contributions/batch", content=_chunked(body),
        headers={**api.auth("operator"), "Idempotency-Key": uid,
                 "content-type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"
