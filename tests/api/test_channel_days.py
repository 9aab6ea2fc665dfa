"""A channel's day file: reconciled line by line against the ledger (a planted discrepancy is
caught and named), a file with a bad line refused whole, and the day's net per fund booked as an
obligation that the next settlement window nets, confirms, settles and reconciles."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger.app.settle_run import OPERATOR, fund_keys, run_window
from ledger.channels.dayfile import HEADER
from ledger.db import channels_repo
from tests.api.channel_helpers import (
    MEKONG,
    at,
    channel_token,
    month_of,
    own_day,
    payment,
    set_rates,
    vn_worker,
)
from tests.api.conftest import Api

pytestmark = pytest.mark.anyio
MEMBERS = ("KH-NSSF", "MM-SSB", "VN-VSS", "TH-SSO", "JP-JPS")


async def _a_day_of_payments(api: Api, uid: str, count: int = 3) -> tuple[date, dict[str, str]]:
    """`count` payments of one worker on a day of the test's own, the last one refunded."""
    await set_rates(api.services)
    wallet = await channel_token(api, uid)
    worker = await vn_worker(api, uid)
    day = own_day()
    api.services.channels.clock = lambda: at(day)
    for i in range(count):
        response = await api.http.post(
            f"/v1/channels/{MEKONG}/payments",
            json=payment(worker, f"d{i}-{uid}", month_of(day, i)),
            headers={**wallet, "Idempotency-Key": f"d{i}-{uid}"})
        assert response.status_code == 201, response.text
    refunded = await api.http.post(f"/v1/channels/{MEKONG}/payments/d{count - 1}-{uid}/refund",
                                   headers=wallet, json={"reason": "left the scheme"})
    assert refunded.status_code == 201, refunded.text
    api.services.channels.clock = lambda: at(day, hour=30)  # the next day: this one is over
    return day, wallet


async def _hub_view(api: Api, wallet: dict[str, str], day: date) -> str:
    response = await api.http.get(f"/v1/channels/{MEKONG}/days/{day}/ledger.csv", headers=wallet)
    assert response.status_code == 200
    return response.text


async def _send(api: Api, wallet: dict[str, str], day: date, text: str) -> Any:
    return await api.http.post(f"/v1/channels/{MEKONG}/days/{day}", headers=wallet,
                               files={"file": ("day.csv", text.encode())})


async def test_a_matching_day_file_reconciles_and_books_the_days_obligation(
    api: Api, uid: str
) -> None:
    day, wallet = await _a_day_of_payments(api, uid)
    text = await _hub_view(api, wallet, day)
    lines = text.splitlines()
    assert lines[0] == ",".join(HEADER) and len(lines) == 1 + 3 + 1  # 3 payments, 1 refund
    assert f"d2-{uid},refund,wkr_{uid},VN-VSS,voluntary-si,157143,THB,0,1100000,VND" in lines

    response = await _send(api, wallet, day, text)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["status"] == "reconciled" and report["counts"]["matched"] == 4
    assert report["discrepancies"] == [] and report["replayed"] is False
    # Three payments less one refund: 2,200,000 VND, 88.00 USD at USD/VND 25,000.
    (obligation,) = report["obligations"]
    assert obligation["net"] == {"amount_minor": "2200000", "currency": "VND"}
    assert obligation["settlement"] == {"amount_minor": "8800", "currency": "USD"}
    again = await _send(api, wallet, day, text)
    assert again.json()["replayed"] is True and again.json()["obligations"] == [obligation]
    stored = await api.http.get(f"/v1/channels/{MEKONG}/days/{day}", headers=wallet)
    assert stored.json()["status"] == "reconciled"


async def test_a_planted_discrepancy_is_caught_and_named(api: Api, uid: str) -> None:
    day, wallet = await _a_day_of_payments(api, uid)
    lines = (await _hub_view(api, wallet, day)).splitlines()
    planted = lines[2].replace(",158714,THB,1571,", ",158174,THB,1571,")  # two digits swapped
    assert planted != lines[2]
    extra = f"ghost-{uid},payment,wkr_{uid},VN-VSS,voluntary-si,158714,THB,1571,1100000,VND"
    dropped = lines[3]
    text = "\n".join([lines[0], lines[1], planted, extra, *lines[4:]]) + "\n"

    response = await _send(api, wallet, day, text)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["status"] == "discrepancies"
    assert report["counts"] == {"matched": 2, "channel_only": 1, "hub_only": 1,
                                "amount_differs": 1, "details_differ": 0}
    by_outcome = {d["outcome"]: d for d in report["discrepancies"]}
    differs = by_outcome["amount_differs"]
    assert differs["line"] == 3 and differs["channel_ref"] == planted.split(",")[0]
    assert differs["fields"] == {"amount": {"hub": {"amount_minor": "158714", "currency": "THB"},
                                            "channel": {"amount_minor": "158174",
                                                        "currency": "THB"}}}
    assert by_outcome["channel_only"]["channel_ref"] == f"ghost-{uid}"
    assert by_outcome["hub_only"]["channel_ref"] == dropped.split(",")[0]
    # The obligation is the hub's view all the same: what workers were credited and receipted.
    assert report["obligations"][0]["net"]["amount_minor"] == "2200000"


async def test_a_day_file_with_a_bad_line_is_refused_whole(api: Api, uid: str) -> None:
    day, wallet = await _a_day_of_payments(api, uid, count=2)
    lines = (await _hub_view(api, wallet, day)).splitlines()
    bad = [lines[0], lines[1],
           lines[2].replace(",158714,", ",1587.14,"),
           "not,enough,fields",
           lines[1]]  # the same payment twice
    response = await _send(api, wallet, day, "\n".join(bad) + "\n")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "day_file_rejected"
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (3, "amount_minor"), (4, "line"), (5, "channel_ref")]
    assert "nothing recorded" in problem["detail"]
    assert await channels_repo.day_files(api.services.db, MEKONG, day.isoformat()) == []
    assert await channels_repo.obligations_of_day(api.services.db, MEKONG, day.isoformat()) == []
    header = await _send(api, wallet, day, "ref,kind\n")
    assert header.status_code == 422 and header.json()["errors"][0]["field"] == "header"


async def test_a_day_that_is_not_over_takes_no_file(api: Api, uid: str) -> None:
    await set_rates(api.services)
    wallet = await channel_token(api, uid)
    day = own_day()
    api.services.channels.clock = lambda: at(day, hour=23)
    response = await _send(api, wallet, day, ",".join(HEADER) + "\n")
    assert response.status_code == 409 and response.json()["code"] == "day_not_over"
    other = await channel_token(api, uid, "sakura-remit-jp")
    forbidden = await _send(api, other, day, ",".join(HEADER) + "\n")
    assert forbidden.status_code == 403


async def test_the_days_obligation_is_netted_confirmed_settled_and_reconciled(
    api: Api, uid: str, tmp_path: Path
) -> None:
    day, wallet = await _a_day_of_payments(api, uid)
    assert (await _send(api, wallet, day, await _hub_view(api, wallet, day))).status_code == 200
    svc = api.services
    said: list[str] = []
    settled = await run_window(svc, "USD", fund_keys(tmp_path / "keys", MEMBERS), said.append)
    assert settled["state"] == "settled", said
    positions = {f: int(v) for f, v in settled["netting"]["positions_minor"].items()}
    assert positions[f"channel:{MEKONG}"] <= -8_800  # this day's, and any other test's before
    assert positions["VN-VSS"] >= 8_800
    report = settled["reconciliation"]
    assert report["agrees"] is True
    channel_line = next(f for f in report["funds"] if f["fund"] == f"channel:{MEKONG}")
    assert channel_line["confirmed"] is True
    (obligation,) = await channels_repo.obligations_of_day(svc.db, MEKONG, day.isoformat())
    assert obligation["window_id"] == settled["id"]
    balances = (await api.http.get(f"/v1/channels/{MEKONG}/balances",
                                   headers=api.auth("operator"))).json()["accounts"]
    position = next(b for b in balances if b["account"] == f"channel/{MEKONG}/position/USD")
    assert position["balance"]["amount_minor"] == "0"  # settled: back to zero
    assert OPERATOR.kind.value == "hub_operator"
