"""No identity number, member number or worker's name posted through the API is found anywhere
the hub writes (issue 16 item 4): not in any column of any table (read back over SQL, and with
`pg_dump` or the SQLite file's raw bytes), not in any log line, not in any problem+json body.

A real uvicorn server (access log on, every logger captured at DEBUG, SQL parameters included)
serves the API on a database of the test's own. The test registers workers with known
numbers, looks them up, imports a declaration file that carries names, and makes refusals that
involve each number, then greps everything for each number, in its posted and normalised
forms, and for each name.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import inspect, select, table, text

from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso import format as sso
from ledger.config import DEV_PII_ENCRYPTION_KEY, DEV_PII_HMAC_KEY
from ledger.db.engine import Database
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.domain.pii import PiiVault, normalise_number
from tests.api.conftest import Api, api_on
from tests.api.helpers import member_number
from tests.conftest import TEST_DB
from tests.fresh_db import fresh_database

pytestmark = pytest.mark.anyio
MONTH = Month(2026, 1)
CLIENT_LOGGERS = ("httpx", "httpcore")


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] not in CLIENT_LOGGERS:
            self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[_Captured]:
    handler = _Captured()
    loggers = [logging.getLogger(), logging.getLogger("sqlalchemy.engine")]
    levels = [logger.level for logger in loggers]
    loggers[0].addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        loggers[0].removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@asynccontextmanager
async def _served(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = api.http._transport.app  # type: ignore[attr-defined]
    server = uvicorn.Server(uvicorn.Config(app, access_log=True, log_config=None,
                                           log_level="debug", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{sock.getsockname()[1]}") as http:
            yield http
    finally:
        server.should_exit = True
        await task
        sock.close()


def _declaration(rows: list[tuple[str, str, str]]) -> bytes:
    """An SSO 1-10 file of (national id, first name, last name), 15,000 THB each."""
    adapter = get_adapter("TH-SSO")
    declared = []
    for i, (member, first, last) in enumerate(rows):
        quotes = adapter.declaration(adapter.context_from_fields({}), MONTH,
                                     Money(1_500_000, Currency.THB))
        own = sum(q.share(Payer.EMPLOYEE).amount_minor for q in quotes)
        declared.append(DeclaredRow(line=i + 2, member_number=member, month=MONTH,
                                    wage_minor=1_500_000, employee_minor=own,
                                    first_name=first, last_name=last))
    total = sum(r.employee_minor or 0 for r in declared)
    return sso.render(DeclaredHeader(
        employer_account="1234567890", branch="000000", month=MONTH, currency=Currency.THB,
        employee_count=len(declared), total_wages_minor=1_500_000 * len(declared),
        total_employee_minor=total, total_employer_minor=total, rate_basis_points=500,
        employer_name="Dump Test Co"), declared)


async def _sql_dump(db: Database) -> list[str | bytes]:
    """Every non-null value of every column of every table, as the store returns it."""
    values: list[str | bytes] = []
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in names:
            columns = await conn.run_sync(
                lambda sync, n=name: [c["name"] for c in inspect(sync).get_columns(n)])
            rows = (await conn.execute(select(*[text(f'"{c}"') for c in columns]).select_from(
                table(name)))).all()
            for row in rows:
                values.extend(v if isinstance(v, bytes | str) else str(v)
                              for v in row if v is not None)
    assert "memberships" in names and "imports" in names
    return values


def _store_bytes(db: Database, tmp_path: Path) -> bytes:
    """The store as its own tools see it: pg_dump's output, or the SQLite files' raw bytes
    (free pages and the write-ahead log included)."""
    if TEST_DB.startswith("postgres"):
        if shutil.which("pg_dump") is None:
            return b""
        url = db.url.replace("+asyncpg", "")
        return subprocess.run(["pg_dump", "--data-only", url], check=True,
                              capture_output=True, timeout=60).stdout
    files = sorted(tmp_path.glob("own.db*"))
    assert files, "no SQLite file found"
    return b"".join(f.read_bytes() for f in files)


async def test_no_identity_number_or_name_is_in_a_dump_a_log_or_a_problem(
    tmp_path: Path, uid: str, captured: _Captured
) -> None:
    th = [member_number("TH-SSO", f"{uid}{n}") for n in range(3)]
    jp, kh = member_number("JP-JPS", uid), member_number("KH-NSSF", uid)
    passport, national = f"PP{uid.upper()}", f"9{int(uid, 16) % 10**12:012d}"
    unknown_th = member_number("TH-SSO", uid[::-1])
    names = [f"Somchai{uid}", f"Rattanakosin{uid}", f"Dara{uid}", f"Sokha {uid}"]
    broken = th[0][:6] + "#" + th[0][6:]  # refused by the registration's check
    numbers = [*th, jp, kh, passport, national, unknown_th, broken]
    problems: list[str] = []
    async with fresh_database(tmp_path) as db:
        async for api in api_on(db, uid):
            async with _served(api) as http:
                operator, fund = api.auth("operator"), api.auth("th")

                async def call(method: str, path: str, status: int, **kw: Any) -> Any:
                    response = await http.request(method, path, **kw)
                    assert response.status_code == status, (path, response.text)
                    if status >= 400:
                        assert response.headers["content-type"] == "application/problem+json"
                        problems.append(response.text)
                    return response.json() if "json" in response.headers["content-type"] \
                        else response.text

                worker = (await call("POST", "/v1/workers", 201, headers=operator, json={
                    "nationality": "KH", "identity": {"kind": "passport", "number": passport},
                    "memberships": [{"fund": "TH-SSO", "member_number": th[0]},
                                    {"fund": "JP-JPS", "member_number": jp}]}))["id"]
                await call("POST", "/v1/workers", 201, headers=fund, json={
                    "nationality": "TH", "identity": {"number": national},
                    "memberships": [{"fund": "TH-SSO", "member_number": th[1]}]})
                # The same passport by a fund: a claim (201); by the operator: a conflict.
                await call("POST", "/v1/workers", 201, headers=fund, json={
                    "nationality": "KH", "identity": {"kind": "passport", "number": passport},
                    "memberships": [{"fund": "TH-SSO", "member_number": th[2]}]})
                await call("POST", "/v1/workers", 409, headers=operator, json={
                    "nationality": "KH", "identity": {"kind": "passport", "number": passport}})
                await call("POST", f"/v1/workers/{worker}/memberships", 201, headers=operator,
                           json={"fund": "KH-NSSF", "member_number": kh})
                await call("POST", f"/v1/workers/{worker}/memberships", 409, headers=operator,
                           json={"fund": "KH-NSSF", "member_number": kh})
                # Names where no name belongs, and numbers in the wrong format.
                await call("POST", "/v1/workers", 422, headers=operator, json={
                    "nationality": "KH", "name": names[3],
                    "identity": {"kind": "passport", "number": passport}})
                await call("POST", "/v1/workers", 422, headers=operator, json={
                    "nationality": "KH",
                    "memberships": [{"fund": "TH-SSO", "member_number": names[3]}]})
                await call("POST", "/v1/workers", 422, headers=operator, json={
                    "nationality": "KH",
                    "memberships": [{"fund": "TH-SSO", "member_number": broken}]})
                for who, number, status in (("th", th[0], 200), ("th", unknown_th, 404),
                                            ("operator", jp, 200)):
                    await call("POST", f"/v1/funds/{'JP-JPS' if number == jp else 'TH-SSO'}"
                               "/members/search", status, headers=api.auth(who),
                               json={"member_number": number})
                await call("POST", "/v1/funds/JP-JPS/members/search", 403, headers=fund,
                           json={"member_number": jp})
                booked = _declaration([(th[0], names[0], names[1]), (th[1], names[2], "Test")])
                await call("POST", "/v1/funds/TH-SSO/declarations", 201, headers=fund,
                           files={"file": ("sso.txt", booked)})
                refused = _declaration([(unknown_th, names[3], names[1])])
                await call("POST", "/v1/funds/TH-SSO/declarations", 422, headers=fund,
                           files={"file": ("sso.txt", refused)})
                for path in (f"/v1/workers/{worker}", f"/v1/workers/{worker}/statement"):
                    await call("GET", path, 200, headers=operator)
            dumped = await _sql_dump(db)
            raw = _store_bytes(db, tmp_path)

    logged = "\n".join(captured.lines)
    assert "INSERT INTO memberships" in logged  # the capture works
    assert len(problems) == 8
    wanted = {*numbers, *(normalise_number(n) for n in numbers), *names}
    texts = [v for v in dumped if isinstance(v, str)]
    blobs = [v for v in dumped if isinstance(v, bytes)] + [raw]
    found = {
        "columns": sorted(w for w in wanted if any(w in v for v in texts)
                          or any(w.encode() in b for b in blobs)),
        "logs": sorted(w for w in wanted if w in logged),
        "problems": sorted(w for w in wanted if any(w in p for p in problems)),
    }
    assert found == {"columns": [], "logs": [], "problems": []}
    # The dumps are real: they hold what was posted in the forms that may be kept.
    kept = PiiVault(DEV_PII_HMAC_KEY, DEV_PII_ENCRYPTION_KEY).lookup_hash("TH-SSO", th[0])
    assert worker in texts and kept in texts
    if raw or not TEST_DB.startswith("postgres"):  # pg_dump is there (it is on CI)
        assert worker.encode() in raw and kept.encode() in raw
