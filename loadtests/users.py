"""The ledger's clients under load, as Locust users (`FastHttpUser`), each paced by its kind.

- `StatementReader`: a worker reads their statement (their own token; now and then the signed
  statement);
- `Employer`: an employer (or a fund, for Vietnam's abroad-regime lists) uploads its monthly
  declaration file in the fund's native format;
- `FundUploader`: the Japanese fund posts its month's EPI contributions as batches, each with its
  own Idempotency-Key;
- `FundOps` (one for the whole test): the funds' signed messages through the inbox — the Thai
  fund requests and approves a worker's transfer, the home fund acknowledges it — and, when the
  shape says so, the hub operator closes a settlement window under load, each fund confirms it
  by signed message and the window is settled.

- `VoluntaryPayer`: a worker abroad pays a month of a home fund's voluntary scheme from a mobile
  wallet: a quote (the price, fee included, as the app shows it), then the payment with an
  Idempotency-Key and the quote's locked rate; now and then the app retries with the same key
  (a lost answer) or the worker taps twice (two requests at once, one key): the ledger must
  answer the same payment each time and book it once.
- `ChannelGatherer`: the same payers' taps reaching their channel's server, which gathers each
  channel's taps for a window (`gathering.py`) and sends them as one batch, priced from its
  book of hub quotes; now and then a batch is sent again whole (a lost answer): every payment
  must answer `exists` with its first receipt. Each acknowledged payment is logged as a single
  one is, so the audit covers both alike.

`FundOps` also sends, when the shape says a day is over, each channel's day file of a past day
(prepared with payments booked that day) and checks its reconciliation.

Every upload, batch, flow and window the ledger acknowledged is written to the process's ack log
for the audit. Failures are what the ledger should not have answered: a refused upload, a
message that was not processed, a window that did not reconcile.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import gevent  # type: ignore[import-untyped]
import gevent.event  # type: ignore[import-untyped]
import gevent.lock  # type: ignore[import-untyped]
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from loadtests.data import Data, Exit, Payer, Upload
from loadtests.gathering import KIND as BATCH_KIND
from loadtests.gathering import (
    GatherConfig,
    PriceBook,
    Tap,
    Windows,
    ack_fields,
    gather,
    payment_body,
    price_key,
    purchase,
    read_answer,
    resend_problems,
)
from loadtests.pacing import PACE
from loadtests.recorder import AckLog
from loadtests.signing import FundSigner, payload_of

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
HUB = "HUB"
FLOWS_PER_BATCH_MAX = 300
RETRY_SHARE = 0.05  # payments sent again with the same key after the answer (a lost answer)
DOUBLE_TAP_SHARE = 0.02  # payments sent twice at once with the same key (a double tap)
MESSAGES_PER_FLOW = 3  # request + approve (host fund), acknowledge (home fund)


class Context:
    """What every user of this process shares: the data directory, the ack log, the hosts we
    may load (loopback unless the operator names another)."""

    data: Data
    acks: AckLog
    allowed_hosts: frozenset[str] = LOOPBACK
    gathering: GatherConfig = GatherConfig()


def check_host(host: str | None) -> None:
    name = urlsplit(host or "").hostname or ""
    if name not in Context.allowed_hosts:
        raise RuntimeError(f"refusing to load {host!r}: load tests target loopback only "
                           "(set CLMTV_LT_ALLOW_HOSTS for a compose network)")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Paced(FastHttpUser):
    abstract = True
    kind = ""
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        check_host(self.host)

    @task
    def act(self) -> None:
        if PACE.wait(self.kind):
            self.send()

    def send(self) -> None:
        raise NotImplementedError

    def context(self) -> dict[str, str]:
        return {"step": PACE.step}


class StatementReader(Paced):
    kind = "statement_read"

    def send(self) -> None:
        worker, token = random.choice(Context.data.readers)  # noqa: S311 - sampling, not a secret
        signed = random.random() < 0.05  # noqa: S311
        path = f"/v1/workers/{worker}/statement" + (".jws" if signed else "")
        name = "GET /v1/workers/[id]/statement" + (".jws" if signed else "")
        self.client.get(path, headers=_auth(token), name=name, context=self.context())


class _Queue:
    """This process's share of a list of uploads: items index, index + W, index + 2W, ..."""

    def __init__(self, items: list[Upload]) -> None:
        self.items = items
        self.taken = 0

    def next(self) -> Upload | None:
        position = PACE.index + self.taken * PACE.workers
        if position >= len(self.items):
            return None
        self.taken += 1
        return self.items[position]


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"'
            "\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + data + tail, f"multipart/form-data; boundary={boundary}"


def _exhausted(user: FastHttpUser, name: str) -> None:
    """Nothing left to send: a failure of the test's data, shown as one (size the data up)."""
    user.environment.events.request.fire(
        request_type="POST", name=name, response_time=0.0, response_length=0, response=None,
        context=user.context(), exception=RuntimeError("no upload left in this process's share"))


class Employer(Paced):
    kind = "declaration_upload"
    queue: _Queue | None = None

    def send(self) -> None:
        if Employer.queue is None:
            Employer.queue = _Queue([u for u in Context.data.uploads
                                     if u.kind == "declaration_upload"])
        upload = Employer.queue.next()
        name = "POST /v1/funds/[fund]/declarations"
        if upload is None:
            _exhausted(self, name)
            return
        body, content_type = _multipart(upload.path.name, upload.path.read_bytes())
        headers = {**_auth(upload.token), "Content-Type": content_type}
        # Bytes as they are (a TIS-620 file is no str); Locust's annotation says str or dict.
        with self.client.post(f"/v1/funds/{upload.fund}/declarations",
                              data=body,  # type: ignore[arg-type]
                              headers=headers, name=f"{name} {upload.fund}",
                              context=self.context(), catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {(response.text or '')[:300]}")
                return
            report = response.json()
            Context.acks.record("import", report["import_id"], fund=upload.fund,
                                rows=report["rows_accepted"],
                                contributions=report["contributions_booked"])


class FundUploader(Paced):
    kind = "fund_batch"
    queue: _Queue | None = None

    def send(self) -> None:
        if FundUploader.queue is None:
            FundUploader.queue = _Queue([u for u in Context.data.uploads
                                         if u.kind == "fund_batch"])
        upload = FundUploader.queue.next()
        name = "POST /v1/contributions/batch"
        if upload is None:
            _exhausted(self, name)
            return
        key = "lt-" + upload.path.stem
        headers = {**_auth(upload.token), "Content-Type": "application/json",
                   "Idempotency-Key": key}
        with self.client.post("/v1/contributions/batch",
                              data=upload.path.read_bytes(),  # type: ignore[arg-type]
                              headers=headers, name=f"{name} {upload.fund}",
                              context=self.context(), catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {(response.text or '')[:300]}")
                return
            counts = response.json()["counts"]
            Context.acks.record("batch", key, fund=upload.fund, created=counts["created"],
                                exists=counts["exists"])


class _Payments:
    """This process's share of the payers, and the next (payer, month) to pay: every payer's
    first payable month, then every payer's second, ... so that no month is paid twice."""

    def __init__(self, payers: list[Payer], months: dict[str, list[str]]) -> None:
        self.payers = payers[PACE.index::PACE.workers]
        self.months = months
        self.taken = 0
        self.tag = f"{uuid.uuid4().hex[:6]}"  # refs unique to this process

    def next(self) -> tuple[Payer, str, str] | None:
        while self.payers:
            k, position = divmod(self.taken, len(self.payers))
            payer = self.payers[position]
            months = self.months.get(f"{payer.channel}/{payer.fund}/{payer.scheme}", [])
            if k >= max((len(v) for v in self.months.values()), default=0):
                return None
            self.taken += 1
            if k < len(months):
                return payer, months[k], f"lt{self.tag}-{self.taken}"
        return None


_PAYMENTS: list[_Payments] = []


def _payments() -> _Payments:
    """One sequence of (payer, month) per process, shared by single payers and gatherers: a
    month is paid once whichever way it is sent."""
    if not _PAYMENTS:
        _PAYMENTS.append(_Payments(Context.data.payers, Context.data.payable_months))
    return _PAYMENTS[0]


def _count_payments(response: Any, n: int) -> None:
    """Payments this request booked, for the report's payments/s (`locustfile._request`)."""
    response.request_meta["context"]["payments"] = n


class VoluntaryPayer(Paced):
    kind = "voluntary_payment"

    def send(self) -> None:
        item = _payments().next()
        if item is None:
            _exhausted(self, "POST /v1/channels/[channel]/payments")
            return
        payer, month, ref = item
        auth = _auth(Context.data.channel_token(payer.channel))
        bought = purchase(payer, month)
        with self.client.post(f"/v1/channels/{payer.channel}/quotes",
                              json={"currency": payer.wallet_currency, **bought},
                              headers=auth, name="POST /v1/channels/[channel]/quotes",
                              context=self.context(), catch_response=True) as quoted:
            if quoted.status_code != 201:
                quoted.failure(f"{quoted.status_code}: {(quoted.text or '')[:300]}")
                return
            quote = quoted.json()
        body = {"channel_ref": ref, **bought, "quote_id": quote["quote_id"],
                "contribution": quote["price"]["contribution"], "paid": quote["price"]["total"]}
        headers = {**auth, "Idempotency-Key": f"{ref}-k"}
        path = f"/v1/channels/{payer.channel}/payments"
        tap = random.random()  # noqa: S311 - behaviour sampling, not a secret
        if tap < DOUBLE_TAP_SHARE:
            answers = [a for a in gevent.joinall([
                gevent.spawn(self._pay, path, body, headers, "(double tap)")
                for _ in range(2)]) if a.value is not None]
            receipts = [a.value for a in answers]
        else:
            first = self._pay(path, body, headers, "")
            receipts = [first] if first is not None else []
            if first is not None and tap < DOUBLE_TAP_SHARE + RETRY_SHARE:
                again = self._pay(path, body, headers, "(retry)")
                receipts += [again] if again is not None else []
        ids = {r["payment_id"] for r in receipts}
        if len(ids) > 1:  # one key, two payments: the ledger broke its promise
            self.environment.events.request.fire(
                request_type="CHECK", name="one key, one payment", response_time=0.0,
                response_length=0, response=None, context=self.context(),
                exception=RuntimeError(f"{ref}: answered as {sorted(ids)}"))
        for receipt in receipts:
            Context.acks.record(
                "payment", f"{payer.channel}/{ref}", payment_id=receipt["payment_id"],
                channel=payer.channel, channel_ref=ref, day=receipt["day"],
                worker_id=payer.worker_id, fund=payer.fund, scheme=payer.scheme,
                paid=receipt["paid"], fee=receipt["fee"], contribution=receipt["contribution"])

    def _pay(self, path: str, body: dict[str, Any], headers: dict[str, str], how: str
             ) -> dict[str, Any] | None:
        """The payment's record when the ledger took it (201, or 200 for one it holds); a 409
        (the same key still running: the other tap) is expected and not a receipt."""
        name = f"POST /v1/channels/[channel]/payments {how}".strip()
        with self.client.post(path, json=body, headers=headers, name=name,
                              context=self.context(), catch_response=True) as response:
            if response.status_code == 409 and how:
                response.success()
                return None
            if response.status_code not in (200, 201):
                response.failure(f"{response.status_code}: {(response.text or '')[:300]}")
                return None
            _count_payments(response, int(response.status_code == 201))
            payment: dict[str, Any] = response.json()["payment"]
            return payment


class ChannelGatherer(FastHttpUser):
    """A channel's server: taps arrive at the kind's rate, each channel's are gathered for a
    window and sent as one batch. One window is gathered at a time in a process (the gathering
    lock); the users are the batches in flight. Not a `Paced` user: it takes every tap that is
    due, not one slot at a time."""

    kind = BATCH_KIND
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 5.0
    windows: Windows | None = None
    prices = PriceBook()
    quoting: ClassVar[dict[tuple[str, ...], Any]] = {}  # price key -> the awaited answer
    lock: Any = None

    def on_start(self) -> None:
        check_host(self.host)

    def context(self) -> dict[str, str]:
        return {"step": PACE.step}

    @task
    def act(self) -> None:
        if ChannelGatherer.windows is None:
            ChannelGatherer.windows = Windows(Context.gathering)
            ChannelGatherer.lock = gevent.lock.Semaphore()
        with ChannelGatherer.lock:
            batch = gather(ChannelGatherer.windows, PACE.pacer(self.kind), self._tap,
                           time.monotonic, gevent.sleep)
        if batch is not None:
            self.send_batch(*batch)

    def _tap(self) -> Tap | None:
        item = _payments().next()
        if item is None:
            _exhausted(self, "POST /v1/channels/[channel]/payments/batch")
            return None
        return Tap(*item)

    def _price(self, tap: Tap) -> Any:
        """The tap's price from the book; one quote per missing price however many batches
        need it at once (the others wait for its answer)."""
        key = price_key(tap.payer, tap.month)
        found = self.prices.get(key, time.time())
        if found is not None:
            return found
        pending = ChannelGatherer.quoting.get(key)
        if pending is not None:
            return pending.get()
        pending = ChannelGatherer.quoting[key] = gevent.event.AsyncResult()
        price = None
        try:
            price = self._quote(tap, key)
        finally:
            del ChannelGatherer.quoting[key]
            pending.set(price)
        return price

    def _quote(self, tap: Tap, key: tuple[str, ...]) -> Any:
        with self.client.post(f"/v1/channels/{tap.payer.channel}/quotes",
                              json={"currency": tap.payer.wallet_currency,
                                    **purchase(tap.payer, tap.month)},
                              headers=_auth(Context.data.channel_token(tap.payer.channel)),
                              name="POST /v1/channels/[channel]/quotes (price book)",
                              context=self.context(), catch_response=True) as quoted:
            if quoted.status_code != 201:
                quoted.failure(f"{quoted.status_code}: {(quoted.text or '')[:300]}")
                return None
            return self.prices.put(key, quoted.json())

    def send_batch(self, channel: str, taps: list[Tap]) -> None:
        one_each = {price_key(t.payer, t.month): t for t in taps}  # a tap per price
        asked = {k: gevent.spawn(self._price, t) for k, t in one_each.items()}  # side by side
        gevent.joinall(list(asked.values()))
        priced = [(t, asked[price_key(t.payer, t.month)].value) for t in taps]
        taps = [t for t, p in priced if p is not None]  # unpriced: the quote's failure says why
        if not taps:
            return
        body = {"payments": [payment_body(t, p) for t, p in priced if p is not None]}
        path = f"/v1/channels/{channel}/payments/batch"
        headers = _auth(Context.data.channel_token(channel))
        first = self._post_batch(path, body, headers, taps, "")
        if first is None or random.random() >= Context.gathering.resend_share:  # noqa: S311
            return
        again = self._post_batch(path, body, headers, taps, "(resent)")
        if again is None:
            return
        problems = resend_problems(first[0], again[1])
        if problems:
            self.environment.events.request.fire(
                request_type="CHECK", name="a resent batch answers its first receipts",
                response_time=0.0, response_length=0, response=None, context=self.context(),
                exception=RuntimeError("; ".join(problems[:5])))

    def _post_batch(self, path: str, body: dict[str, Any], headers: dict[str, str],
                    taps: list[Tap], how: str) -> tuple[Any, dict[str, Any]] | None:
        """One batch request: each acknowledged payment logged; a payment that failed makes
        the request a failure naming each code (the batch's other payments stand)."""
        name = f"POST /v1/channels/[channel]/payments/batch {how}".strip()
        with self.client.post(path, json=body, headers=headers, name=name,
                              context=self.context(), catch_response=True) as response:
            if response.status_code not in (200, 207, 422):
                response.failure(f"{response.status_code}: {(response.text or '')[:300]}")
                return None
            answered: dict[str, Any] = response.json()
            answer = read_answer(taps, answered)
            _count_payments(response, answer.created)
            for tap, payment in answer.acknowledged:
                Context.acks.record("payment", f"{tap.payer.channel}/{tap.ref}",
                                    **ack_fields(tap, payment))
            failed = answer.failure_text(response.status_code)
            if failed is not None:
                response.failure(failed)
            else:
                response.success()
            return answer, answered


class FundOps(FastHttpUser):
    """The funds' message channels and the operator's window: one user, so that each channel's
    sequence numbers go out in order."""

    fixed_count = 1
    wait_time = constant(0)
    network_timeout = 60.0

    def on_start(self) -> None:
        check_host(self.host)
        data = Context.data
        self.signers = {f: FundSigner(f, jwk) for f, jwk in data.fund_keys.items()}
        self.exits: Iterator[Exit] = iter(data.exits)
        self.credit = 0
        self.seq = self._sequences()
        self.exhausted = False
        self.days = iter(data.day_files)

    def _sequences(self) -> dict[str, int]:
        response = self.client.get("/v1/inbox/channels", headers=_auth(
            Context.data.operator_token), name="GET /v1/inbox/channels")
        seq = dict.fromkeys(self.signers, 1)
        if response.status_code == 200:
            for row in response.json()["channels"]:
                if row["audience"] == HUB and row["issuer"] in seq:
                    seq[row["issuer"]] = int(row["next_seq"])
        return seq

    def context(self) -> dict[str, str]:
        return {"step": PACE.step}

    @task
    def act(self) -> None:
        if PACE.event_due("window_close"):
            self.close_window()
            return
        if PACE.event_due("day_file"):
            self.send_day_files()
            return
        self.credit += PACE.pacer("fund_message").take_due(time.monotonic(),
                                                            FLOWS_PER_BATCH_MAX * 3)
        flows = min(self.credit // MESSAGES_PER_FLOW, FLOWS_PER_BATCH_MAX)
        if flows == 0 or self.exhausted:
            gevent.sleep(0.25)
            return
        self.credit -= flows * MESSAGES_PER_FLOW
        batch = [e for _, e in zip(range(flows), self.exits, strict=False)]
        if len(batch) < flows:
            self.exhausted = True
            self.environment.events.request.fire(
                request_type="POST", name="POST /v1/inbox/messages (no exit left)",
                response_time=0.0, response_length=0, response=None, context=self.context(),
                exception=RuntimeError("every prepared exit has been messaged"))
        if batch:
            self.move(batch)

    def _sign(self, fund: str, typ: str, body: dict[str, Any]) -> str:
        seq = self.seq[fund]
        self.seq[fund] = seq + 1
        return self.signers[fund].sign(aud=HUB, typ=typ, seq=seq, body=body,
                                       iat=int(time.time()))

    def _deliver(self, tokens: list[str], name: str, token: str) -> list[dict[str, Any]] | None:
        """POST a batch; the outcomes if every one was processed, else None (failure logged,
        sequences read again: a lost answer leaves them unknown)."""
        with self.client.post("/v1/inbox/messages", json={"tokens": tokens},
                              headers=_auth(token), name=name, context=self.context(),
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {(response.text or '')[:300]}")
                self.seq = self._sequences()
                return None
            outcomes: list[dict[str, Any]] = response.json()["outcomes"]
            bad = [o for o in outcomes if o.get("outcome") != "processed"
                   or not (o.get("result") or {}).get("ok")]
            if bad:
                response.failure(f"{len(bad)} of {len(outcomes)} not processed: {bad[0]}")
                self.seq = self._sequences()
                return None
            return outcomes

    def move(self, exits: list[Exit]) -> None:
        data = Context.data
        host = exits[0].host_fund
        tokens = []
        for e in exits:
            tokens.append(self._sign(host, "transfer.request", {
                "action": "request", "flow_id": e.flow_id, "worker_id": e.worker_id,
                "host_fund": e.host_fund, "scheme": e.scheme, "reason": "return_home",
                "flow": "transfer"}))
            tokens.append(self._sign(host, "transfer.request",
                                     {"action": "approve", "flow_id": e.flow_id}))
        if self._deliver(tokens, "POST /v1/inbox/messages (request, approve)",
                         data.fund_token(host)) is None:
            return
        by_home: dict[str, list[Exit]] = {}
        for e in exits:
            by_home.setdefault(e.home_fund, []).append(e)
        for home, group in sorted(by_home.items()):
            acks = [self._sign(home, "transfer.ack", {"flow_id": e.flow_id, "accepted": True})
                    for e in group]
            if self._deliver(acks, "POST /v1/inbox/messages (acknowledge)",
                             data.fund_token(home)) is not None:
                for e in group:
                    Context.acks.record("flow", e.flow_id, worker_id=e.worker_id,
                                        home_fund=home)

    def close_window(self) -> None:
        """Close the open window under load, confirm it as each fund, settle it."""
        data = Context.data
        currency = data.manifest["settlement_currency"]
        operator = _auth(data.operator_token)
        opened = self.client.post("/v1/windows", json={"currency": currency}, headers=operator,
                                  name="POST /v1/windows", context=self.context())
        if opened.status_code != 200:
            return
        window_id = opened.json()["id"]
        closed = self.client.post(f"/v1/windows/{window_id}/transitions", json={"to": "closed"},
                                  headers=operator, name="POST /v1/windows/[id] closed",
                                  context=self.context())
        if closed.status_code != 200:
            return
        window = closed.json()
        statements: dict[str, str] = window.get("statements") or {}
        positions = (window.get("netting") or {}).get("positions_minor", {})
        confirmations = []
        for fund, statement in sorted(statements.items()):
            netting = payload_of(statement)["body"]["netting"]["positions_minor"]
            if netting.get(fund) != positions.get(fund):
                self.environment.events.request.fire(
                    request_type="CHECK", name="window statement = netting", response_time=0.0,
                    response_length=0, response=None, context=self.context(),
                    exception=RuntimeError(f"{fund}: statement says {netting.get(fund)}, "
                                           f"window says {positions.get(fund)}"))
                return
            confirmations.append(self._sign(fund, "settlement.confirmation", {
                "window_id": window_id,
                "statement_sha256": hashlib.sha256(statement.encode("ascii")).hexdigest(),
                "position_minor": str(positions[fund])}))
        if confirmations and self._deliver(confirmations, "POST /v1/inbox/messages (confirm)",
                                           data.operator_token) is None:
            return
        with self.client.post(f"/v1/windows/{window_id}/transitions", json={"to": "settled"},
                              headers=operator, name="POST /v1/windows/[id] settled",
                              context=self.context(), catch_response=True) as settled:
            if settled.status_code != 200:
                settled.failure(f"{settled.status_code}: {(settled.text or '')[:300]}")
                return
            report = settled.json().get("reconciliation") or {}
            if not report.get("agrees"):
                settled.failure(f"window {window_id} does not reconcile: {report}")
                return
            Context.acks.record("window", window_id, funds=len(statements),
                                flows=(window.get("netting") or {}).get("transfer_count", 0))

    def send_day_files(self) -> None:
        """The next past day: each channel's file, reconciled by the hub line by line."""
        files = next(self.days, None)
        if files is None:
            self.environment.events.request.fire(
                request_type="POST", name="POST /v1/channels/[channel]/days/[day] (none left)",
                response_time=0.0, response_length=0, response=None, context=self.context(),
                exception=RuntimeError("every prepared day file has been sent"))
            return
        for day_file in files:
            body, content_type = _multipart(day_file.path.name, day_file.path.read_bytes())
            headers = {**_auth(Context.data.channel_token(day_file.channel)),
                       "Content-Type": content_type}
            with self.client.post(f"/v1/channels/{day_file.channel}/days/{day_file.day}",
                                  data=body,  # type: ignore[arg-type]
                                  headers=headers, name="POST /v1/channels/[channel]/days/[day]",
                                  context=self.context(), catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"{response.status_code}: {(response.text or '')[:300]}")
                    continue
                report = response.json()
                if report.get("status") != "reconciled":
                    response.failure(f"{day_file.channel} {day_file.day}: "
                                     f"{report.get('discrepancies')}")
                    continue
                Context.acks.record("day_file", f"{day_file.channel}/{day_file.day}",
                                    channel=day_file.channel, day=day_file.day,
                                    lines=report["lines"], file_sha256=report["file_sha256"])
