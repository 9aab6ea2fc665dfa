"""The preparation step against the real ledger: a simulated population registered in bulk, and
everything it wrote for Locust accepted by the API as Locust will send it — every native file
and batch books, a reader reads their statement, the funds' keys sign messages the inbox
processes — then the audit checks the acknowledgements."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.app.loadtest.audit import audit
from ledger.app.loadtest.prepare import Prepared, PrepareOptions, prepare
from loadtests.data import Data
from loadtests.signing import FundSigner
from tests.api.conftest import Api
from tests.loadtest.conftest import SMALL

pytestmark = pytest.mark.anyio


def _options(uid: str, day_files: int = 0) -> PrepareOptions:
    """No past days by default: they are real days, shared by every test of the database."""
    return PrepareOptions(workers=SMALL.workers, years=SMALL.years, seed=SMALL.seed,
                          exits=SMALL.exits, prefix=f"t{uid}",
                          member_base=int(uid, 16) % 10**6 * 1000, day_files=day_files)


@pytest.fixture
async def prepared(api: Api, uid: str, outcome: Any, tmp_path: Path) -> tuple[Prepared, Data]:
    result = await prepare(api.services, _options(uid), tmp_path, lambda _: None, outcome)
    return result, Data(tmp_path)


async def test_the_population_is_registered_with_its_memberships(
        api: Api, uid: str, outcome: Any, prepared: tuple[Prepared, Data]) -> None:
    result, data = prepared
    assert result.workers == outcome.pop.size
    with (data.directory / "workers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == outcome.pop.size
    for row in rows[:: max(1, len(rows) // 15)]:  # a sample, every fund among them
        response = await api.http.get(f"/v1/workers/{row['worker_id']}",
                                      headers=api.auth("operator"))
        assert response.status_code == 200, response.text
        assert row["fund"] in {m["fund"] for m in response.json()["memberships"]}
    worker, token = data.readers[0]
    statement = await api.http.get(f"/v1/workers/{worker}/statement",
                                   headers={"Authorization": f"Bearer {token}"})
    assert statement.status_code == 200
    other = data.readers[1][0]
    refused = await api.http.get(f"/v1/workers/{other}/statement",
                                 headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 404  # a worker's token reads only that worker


async def test_every_upload_books_as_sent(api: Api, prepared: tuple[Prepared, Data],
                                          tmp_path: Path) -> None:
    result, data = prepared
    assert {u.fund for u in data.uploads} >= {"TH-SSO", "JP-JPS"}
    acks = tmp_path / "acks"
    acks.mkdir()
    lines = []
    for upload in data.uploads:
        auth = {"Authorization": f"Bearer {upload.token}"}
        if upload.kind == "fund_batch":
            response = await api.http.post(
                "/v1/contributions/batch", content=upload.path.read_bytes(),
                headers={**auth, "Content-Type": "application/json",
                         "Idempotency-Key": f"lt-{upload.path.stem}"})
            assert response.status_code == 200, response.text
            assert response.json()["counts"]["created"] == upload.rows
            lines.append({"kind": "batch", "id": f"lt-{upload.path.stem}"})
        else:
            response = await api.http.post(
                f"/v1/funds/{upload.fund}/declarations", headers=auth,
                files={"file": (upload.path.name, upload.path.read_bytes())})
            assert response.status_code == 201, response.text[:2000]
            assert response.json()["rows_accepted"] == upload.rows
            lines.append({"kind": "import", "id": response.json()["import_id"],
                          "rows": upload.rows})
    assert sum(u.rows for u in data.uploads) == result.upload_rows
    (acks / "one.ndjson").write_text("".join(json.dumps(x) + "\n" for x in lines))
    clean = await audit(api.services.db, acks)
    assert clean.ok, clean.to_dict()
    assert clean.acknowledged == {"batch": sum(u.kind == "fund_batch" for u in data.uploads),
                                  "import": sum(u.kind != "fund_batch" for u in data.uploads)}
    first = next(x for x in lines if x["kind"] == "import")
    with (acks / "two.ndjson").open("w") as handle:
        handle.write(json.dumps(first) + "\n")  # told twice
        handle.write(json.dumps({**first, "id": "imp_0000never0000", "rows": 1}) + "\n")
        handle.write(json.dumps({"kind": "batch", "id": "lt-never-sent"}) + "\n")
        handle.write('{"kind": "flow", "id": "pt-cut')  # a process killed mid-line
    found = await audit(api.services.db, acks)
    problems = [p for c in found.checks for p in c.problems]
    assert not found.ok
    assert f"import {first['id']} acknowledged 2 times" in problems
    assert "import imp_0000never0000 acknowledged but not in the ledger" in problems
    assert "batch lt-never-sent: 0 stored answers" in problems
    assert "cut line two.ndjson:4" in problems


async def test_the_funds_keys_move_an_exit_by_signed_messages(
        api: Api, prepared: tuple[Prepared, Data]) -> None:
    _, data = prepared
    signers = {f: FundSigner(f, jwk) for f, jwk in data.fund_keys.items()}
    operator = {"Authorization": f"Bearer {data.operator_token}"}
    channels = (await api.http.get("/v1/inbox/channels", headers=operator)).json()["channels"]
    seq = dict.fromkeys(signers, 1)
    for row in channels:
        if row["audience"] == "HUB" and row["issuer"] in seq:
            seq[row["issuer"]] = int(row["next_seq"])

    def sign(fund: str, typ: str, body: dict[str, Any]) -> str:
        seq[fund] += 1
        return signers[fund].sign(aud="HUB", typ=typ, seq=seq[fund] - 1, body=body,
                                  iat=int(time.time()))

    exit_ = data.exits[0]
    tokens = [sign("TH-SSO", "transfer.request", {
                  "action": "request", "flow_id": exit_.flow_id, "worker_id": exit_.worker_id,
                  "host_fund": "TH-SSO", "scheme": "s33-old-age", "reason": "return_home",
                  "flow": "transfer"}),
              sign("TH-SSO", "transfer.request", {"action": "approve", "flow_id": exit_.flow_id})]
    response = await api.http.post("/v1/inbox/messages", json={"tokens": tokens},
                                   headers=operator)
    assert [o["outcome"] for o in response.json()["outcomes"]] == ["processed", "processed"], \
        response.text
    ack = sign(exit_.home_fund, "transfer.ack", {"flow_id": exit_.flow_id, "accepted": True})
    response = await api.http.post("/v1/inbox/messages", json={"tokens": [ack]},
                                   headers=operator)
    outcome = response.json()["outcomes"][0]
    assert outcome["outcome"] == "processed" and outcome["result"]["ok"], outcome
    flow = await api.http.get(f"/v1/portability/transfers/{exit_.flow_id}", headers=operator)
    assert flow.json()["state"] == "posted"
    assert int(flow.json()["source"]["amount_minor"]) > 0  # the booked history moved home


async def test_payers_pay_once_and_their_day_reconciles(
        api: Api, prepared: tuple[Prepared, Data], tmp_path: Path) -> None:
    from datetime import date

    _, data = prepared
    assert data.payers, "the small population has voluntary payers"
    lines = []
    for n, payer in enumerate(data.payers[:4]):
        auth = {"Authorization": f"Bearer {data.channel_token(payer.channel)}"}
        month = data.payable_months[f"{payer.channel}/{payer.fund}/{payer.scheme}"][0]
        purchase: dict[str, Any] = {"fund": payer.fund, "worker_id": payer.worker_id,
                                    "scheme": payer.scheme, "months": [month]}
        if payer.declared_income_minor:
            purchase["declared_income"] = {"amount_minor": payer.declared_income_minor,
                                           "currency": payer.home_currency}
        quote = await api.http.post(f"/v1/channels/{payer.channel}/quotes", headers=auth,
                                    json={"currency": payer.wallet_currency, **purchase})
        assert quote.status_code == 201, quote.text
        price = quote.json()["price"]
        body = {"channel_ref": f"t-{payer.worker_id}-{n}", **purchase,
                "quote_id": quote.json()["quote_id"], "contribution": price["contribution"],
                "paid": price["total"]}
        key = {**auth, "Idempotency-Key": f"k-{payer.worker_id}-{n}"}
        first = await api.http.post(f"/v1/channels/{payer.channel}/payments", json=body,
                                    headers=key)
        assert first.status_code == 201, first.text
        again = await api.http.post(f"/v1/channels/{payer.channel}/payments", json=body,
                                    headers=key)  # the app's retry: the same answer
        assert again.json()["payment"]["payment_id"] == first.json()["payment"]["payment_id"]
        receipt = first.json()["payment"]
        lines += [{"kind": "payment", "id": f"{payer.channel}/{body['channel_ref']}",
                   "channel": payer.channel, "channel_ref": body["channel_ref"],
                   "day": receipt["day"], "worker_id": payer.worker_id, "fund": payer.fund,
                   "scheme": payer.scheme, **{k: receipt[k] for k in (
                       "payment_id", "paid", "fee", "contribution")}}] * 2  # told twice
    acks = tmp_path / "payment-acks"
    acks.mkdir()
    (acks / "a.ndjson").write_text("".join(json.dumps(x) + "\n" for x in lines))
    services = api.services

    async def hub_day(channel: str, day: str) -> list[Any]:
        return await services.channel_days.hub_entries(services.channels.registry.get(channel),
                                                       date.fromisoformat(day))

    clean = await audit(api.services.db, acks, hub_day)
    assert clean.ok, clean.to_dict()
    planted = await audit(api.services.db, acks, hub_day, plant=True)
    (day_check,) = [c for c in planted.checks if c.name.startswith("channel day files")]
    assert len(day_check.problems) == 1
    groups: dict[tuple[str, str], list[str]] = {}
    for line in lines:  # the audit plants one unit on the first line of the first day
        refs = groups.setdefault((line["channel"], line["day"]), [])
        if line["channel_ref"] not in refs:
            refs.append(line["channel_ref"])
    planted_ref = groups[min(groups)][0]
    assert f"amount_differs {planted_ref} (line 2): amount hub" in day_check.problems[0]


async def test_the_past_days_files_reconcile(api: Api, uid: str, outcome: Any,
                                             tmp_path: Path) -> None:
    """The only test that books past days: they are the real days before today."""
    result = await prepare(api.services, _options(uid, day_files=1), tmp_path,
                           lambda _: None, outcome)
    data = Data(tmp_path)
    assert result.day_files == len(data.day_files[0]) >= 1
    for day_file in data.day_files[0]:
        auth = {"Authorization": f"Bearer {data.channel_token(day_file.channel)}"}
        response = await api.http.post(
            f"/v1/channels/{day_file.channel}/days/{day_file.day}", headers=auth,
            files={"file": (day_file.path.name, day_file.path.read_bytes())})
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["status"] == "reconciled", report
        assert report["counts"]["matched"] == day_file.lines


async def test_gathered_payers_pay_in_batches_and_the_audit_checks_each_payment(
        api: Api, prepared: tuple[Prepared, Data], tmp_path: Path) -> None:
    """The gatherer's own wire format (loadtests/gathering.py) against the ledger: a batch priced
    from the price book, sent again whole, each payment logged as a single one is; the audit is
    clean, then names a payment acknowledged in a batch but not booked, and one answered as two
    payments."""
    from datetime import date

    from loadtests.gathering import (
        PriceBook,
        Tap,
        ack_fields,
        payment_body,
        price_key,
        purchase,
        read_answer,
        resend_problems,
    )

    _, data = prepared
    by_channel: dict[str, list[Any]] = {}
    for payer in data.payers:
        by_channel.setdefault(payer.channel, []).append(payer)
    channel, payers = max(by_channel.items(), key=lambda kv: len(kv[1]))
    assert len(payers) >= 3, "the small population has a channel with several payers"
    auth = {"Authorization": f"Bearer {data.channel_token(channel)}"}
    book, quotes = PriceBook(), 0
    taps = [Tap(p, data.payable_months[f"{p.channel}/{p.fund}/{p.scheme}"][0],
                f"g-{n}-{p.worker_id}") for n, p in enumerate(payers[:6])]
    bodies = []
    for tap in taps:
        price = book.get(price_key(tap.payer, tap.month), time.time())
        if price is None:
            quoted = await api.http.post(f"/v1/channels/{channel}/quotes", headers=auth, json={
                "currency": tap.payer.wallet_currency, **purchase(tap.payer, tap.month)})
            assert quoted.status_code == 201, quoted.text
            price = book.put(price_key(tap.payer, tap.month), quoted.json())
            quotes += 1
        bodies.append(payment_body(tap, price))
    assert quotes < len(taps)  # one price for the payers of one purchase: not a quote each
    path = f"/v1/channels/{channel}/payments/batch"
    first = await api.http.post(path, json={"payments": bodies}, headers=auth)
    assert first.status_code == 200, first.text
    answer = read_answer(taps, first.json())
    assert answer.created == len(taps) and not answer.failures
    again = await api.http.post(path, json={"payments": bodies}, headers=auth)  # a lost answer
    assert again.status_code == 200 and again.json()["counts"]["exists"] == len(taps)
    assert resend_problems(answer, again.json()) == []
    lines = [{"kind": "payment", "id": f"{channel}/{tap.ref}", **ack_fields(tap, payment)}
             for told in (answer, read_answer(taps, again.json()))
             for tap, payment in told.acknowledged]
    acks = tmp_path / "batch-acks"
    acks.mkdir()
    (acks / "a.ndjson").write_text("".join(json.dumps(x) + "\n" for x in lines))
    services = api.services

    async def hub_day(code: str, day: str) -> list[Any]:
        return await services.channel_days.hub_entries(services.channels.registry.get(code),
                                                       date.fromisoformat(day))

    clean = await audit(services.db, acks, hub_day)
    assert clean.ok, clean.to_dict()
    assert clean.acknowledged == {"payment": 2 * len(taps)}
    never = {**lines[0], "id": f"{channel}/g-never", "channel_ref": "g-never"}
    twice = {**lines[1], "payment_id": f"{channel}/g-other"}  # one tap, two payments
    (acks / "b.ndjson").write_text(json.dumps(never) + "\n" + json.dumps(twice) + "\n")
    found = await audit(services.db, acks, hub_day)
    problems = [p for c in found.checks for p in c.problems]
    assert f"payment {channel}/g-never acknowledged but not in the ledger" in problems
    assert any(p.startswith(f"payment {lines[1]['id']} answered differently") for p in problems)
    # The channel's record of the day has a line the hub never booked: named too.
    assert any("channel_only g-never" in p for p in problems), problems
