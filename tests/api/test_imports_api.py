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
    for data, reason, header_read in (
        (f"{text}\n".encode(),
         f"the header could not be read: line 1, record: is {len(text)} bytes, expected 135",
         False),
        (b"", "the header could not be read: the file is empty", False),
        (header + b"\n" + row[:40] + b"\n",
         "no row could be read: line 2, record: is 40 bytes, expected 135", True),
        (header + b"\n", "no row could be read: the file has a header but no rows", True),
    ):
        response = await api.http.post(URL, headers=api.auth("th"),
                                       files={"file": ("sso.txt", data)})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "import_rejected"
        assert problem["detail"].startswith(reason), problem["detail"]
        assert problem["detail"].endswith("; nothing was booked")
        report = problem["details"]["report"]
        assert report["rows_parsed"] == 0
        assert report["header_read"] is header_read
        if not header_read:  # nothing counted, nothing reconciled
            assert (report["rows_total"], report["rows_accepted"], report["rows_rejected"]) == (
                0, 0, 0)
            assert report["header_reconciled"] is False
        assert 0 <= report["rows_rejected"] <= report["rows_total"]
        assert report["rows_accepted"] >= 0
    assert await ledger_snapshot(api) == before


async def test_a_csv_file_whose_header_cannot_be_read_counts_nothing(api: Api) -> None:
    """The issue's case: a CSV header of the wrong shape read as `0 read, -1 accepted` and
    `header_reconciled: true`."""
    before = await ledger_snapshot(api)
    data = b"garbage,header\nNSSF-000123,Sok,Dara,150000000,2400000,6480000\n"
    response = await api.http.post("/v1/funds/KH-NSSF/declarations",
                                   headers=api.auth("operator"),
                                   files={"file": ("declaration.csv", data)})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"] == ("the header could not be read: line 1, header: must be HEADER "
                                 "and 9 fields, got 2 fields; nothing was booked")
    report = problem["details"]["report"]
    assert (report["header_read"], report["header_reconciled"]) == (False, False)
    assert (report["rows_total"], report["rows_accepted"], report["rows_rejected"]) == (0, 0, 0)
    assert await ledger_snapshot(api) == before


async def test_a_negative_amount_must_be_positive_and_comes_before_the_totals_it_upsets(
    api: Api,
) -> None:
    from tests.adapters.test_csv_declarations import SAMPLES

    sample = SAMPLES["KH-NSSF"][1].read_bytes()
    data = sample.replace(b"150000000,2400000,", b"150000000,-2400000,", 1)
    assert data != sample
    response = await api.http.post("/v1/funds/KH-NSSF/declarations",
                                   headers=api.auth("operator"),
                                   files={"file": ("declaration.csv", data)})
    assert response.status_code == 422, response.text
    errors = response.json()["details"]["report"]["errors"]
    assert errors[0] == {"line": 3, "field": "employee_minor", "reason": (
        "must be positive (a whole number of minor units, zero or more), got '-2400000'")}
    totals = errors[1:]
    assert [e["line"] for e in totals] == [0] * 4 and len(totals) == 4
    assert all(e["reason"].endswith("(the 1 unreadable row not counted)") for e in totals)


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
