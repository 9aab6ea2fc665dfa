"""A malformed identity number is never quoted: not in the upload's answer, not in the stored
import report (issue 25, finding 12)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.db.tables import imports
from ledger.domain.principals import PrincipalKind
from tests.api.conftest import Api
from tests.api.helpers import member_number, new_worker

pytestmark = pytest.mark.anyio


def _kh_file(good: str, bad: str, uid: str) -> bytes:
    return (
        f"HEADER,KH-NSSF,EMP-{uid[:4].upper()},000,2026-10,KHR,2,300000000,4800000,12960000\n"
        "member_number,last_name,first_name,wage_minor,employee_minor,employer_minor\n"
        f"{good},Sok,Dara,150000000,2400000,6480000\n"
        f"{bad},Chan,Sreymom,150000000,2400000,6480000\n"
    ).encode()


@pytest.mark.parametrize("bad", ["NSSF#7391SECRET", "NSSF--7391SECRET"])
async def test_a_bad_member_number_is_described_not_quoted(api: Api, uid: str, bad: str
                                                           ) -> None:
    await new_worker(api, uid, ("KH-NSSF",))
    api.tokens["kh"] = await api.services.clients.register(f"kh-{uid}", PrincipalKind.FUND,
                                                           "KH-NSSF")
    answer = await api.http.post("/v1/funds/KH-NSSF/declarations?partial=true",
                                 headers=api.auth("kh"),
                                 files={"file": ("kh.csv", _kh_file(
                                     member_number("KH-NSSF", uid), bad, uid))})
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "partial"
    assert "member_number" in answer.text  # the error is there, naming the field
    assert "7391SECRET" not in answer.text
    async with api.services.db.engine.connect() as conn:
        stored = (await conn.execute(select(imports.c.report))).scalars().all()
    mine = [report for report in stored if "member_number" in report]
    assert mine and not any("7391SECRET" in report for report in stored)
