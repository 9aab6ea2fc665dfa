"""Issue 25 finding 7: an upload is authenticated and authorised before its body is read, and
each format reads its lines with a bound.

On main before the fix, an anonymous 200 MB upload was received and spooled whole before its
401: the streamed bodies here count what the server pulled, and every refusal must pull none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ledger.limits import EMPLOYER_DECLARATION_MAX_BYTES
from tests.api.conftest import Api
from tests.api.helpers import member_number, new_worker
from tests.db.test_imports import JAN_2026, thai_file

pytestmark = pytest.mark.anyio

DECLARATIONS = "/v1/funds/TH-SSO/declarations"
DAY_FILE = "/v1/channels/mekong-wallet-th/days/2026-01-05"
BOUNDARY = "clmtvboundary"
SIZE = 200 * 1024 * 1024
CHUNK = 1024 * 1024


class Streamed:
    """A 200 MB multipart body that counts the bytes the server pulled from it."""

    def __init__(self) -> None:
        self.pulled = 0

    async def body(self) -> AsyncIterator[bytes]:
        head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"big.txt\"\r\nContent-Type: text/plain\r\n\r\n").encode()
        self.pulled += len(head)
        yield head
        block = b"x" * CHUNK
        for _ in range(SIZE // CHUNK):
            self.pulled += len(block)
            yield block
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.pulled += len(tail)
        yield tail


async def _stream(api: Api, path: str, headers: dict[str, str],
                  length: int | None = None) -> tuple[int, dict[str, str], int]:
    streamed = Streamed()
    sent = {**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if length is not None:
        sent["Content-Length"] = str(length)
    response = await api.http.post(path, content=streamed.body(), headers=sent)
    return response.status_code, response.json(), streamed.pulled


@pytest.mark.parametrize("path", [DECLARATIONS, DAY_FILE])
async def test_an_anonymous_200_mb_upload_is_refused_unread(api: Api, path: str) -> None:
    status, problem, pulled = await _stream(api, path, {})
    assert (status, problem["code"], pulled) == (401, "unauthenticated", 0)
    status, problem, pulled = await _stream(api, path, {"Authorization": "Bearer not-a-token"})
    assert (status, problem["code"], pulled) == (401, "unauthenticated", 0)


async def test_a_signed_in_caller_who_may_not_upload_here_is_refused_unread(api: Api) -> None:
    for who, path in (("jp", DECLARATIONS), ("auditor", DECLARATIONS), ("th", DAY_FILE)):
        status, problem, pulled = await _stream(api, path, api.auth(who))
        assert (status, problem["code"], pulled) == (403, "forbidden", 0), who


async def test_an_employers_upload_has_its_own_lower_bound(api: Api) -> None:
    """An employer declares one employer's month: past its bound, 413 before a byte is read;
    the fund's own bound is higher (that upload is read, then refused as no declaration)."""
    status, problem, pulled = await _stream(api, DECLARATIONS, api.auth("employer"),
                                            length=EMPLOYER_DECLARATION_MAX_BYTES + 1)
    assert (status, problem["code"], pulled) == (413, "body_too_large", 0)


async def test_a_line_past_the_formats_bound_refuses_the_file(api: Api, uid: str) -> None:
    """A file without line breaks is read a bounded line at a time, then refused."""
    response = await api.http.post(DECLARATIONS, headers=api.auth("th"),
                                   files={"file": ("one-line.txt", b"1" * 3_000_000)})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["field"]) == ("line_too_long", "file")
    assert problem["detail"].startswith("line 1 is longer than 1024 bytes, the most a ")


async def test_the_allowed_upload_still_books(api: Api, uid: str) -> None:
    await new_worker(api, uid)
    data = thai_file(JAN_2026, [(member_number("TH-SSO", uid), 1_500_000)])
    response = await api.http.post(DECLARATIONS, headers=api.auth("th"),
                                   files={"file": ("sso.txt", data)})
    assert response.status_code == 201, response.text
    assert response.json()["contributions_booked"] == 1
