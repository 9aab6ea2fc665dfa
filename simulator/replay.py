"""Replay a simulated population into the real ledger and prove both agree to the minor unit.

From one policy's `Outcome` this rebuilds, month by month, what the funds and channels would
send: each Thai month as an SSO 1-10 file, each Malaysian month as a CLMTV declaration CSV, each
month of Vietnam's 22% abroad regime as a D02 list, and the months no native monthly file carries
(Japanese EPI, whose SHFD0006 is an annual report; Thai s39 paid from home) as contribution API
calls. Workers are registered through the API first. Everything goes over HTTP, to an in-process
app on a fresh database (`local`, or a database URL) or to a running ledger's base URL, through
the same endpoints a fund would use. Then the ledger's booked contributions per (fund, scheme,
payer) are read back and compared with the simulator's totals, which must be equal exactly.

Under an agreement the exits are replayed too, as signed messages to the inbox: each worker
whose Thai old-age balance the simulation moved home, or paid out through the hub, gets a
portability flow (requested, approved by TH-SSO, acknowledged by the home fund), and the flows
are settled in a USD window; the THB each flow drained must equal what the simulation moved.
Japanese lump sums the simulation paid through the hub become lump-sum flows whose gross,
withheld tax and tax refund must equal the simulation's. Exits of workers without a member fund
at home (Lao PDR) cannot be flows and are counted, as are Japanese periods kept for
totalisation (nothing moves).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

from ledger.adapters.context import WorkerContext
from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import codec, get_adapter
from ledger.adapters.th_sso.ids import national_id_check_digit
from ledger.domain.funds import Payer
from ledger.domain.money import Money
from ledger.domain.periods import Month
from simulator.engine import Outcome
from simulator.paying import S39

if TYPE_CHECKING:
    from ledger.app.local import LocalLedger

BATCH = 1_000  # contributions per API batch (the API's own limit)
Key = tuple[str, str, str]  # (fund, scheme, payer)
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class ReplayPlan:
    workers: list[dict[str, Any]] = field(default_factory=list)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (fund, name, bytes)
    contributions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExitFlow:
    worker: int  # row in the population
    destination: str  # "home_fund", "worker" (Thai balance) or "jp_lump_sum"
    moved_minor: int  # THB moved out of TH-SSO, or the JPY gross lump sum
    claim_index: int = 0  # JP: month index of the claim
    last_index: int = 0  # JP: month index of the last insured month
    withheld_minor: int = 0  # JP: the 20.42% kept back
    refund_minor: int = 0  # JP: the part of it not due as tax (the refund the worker is owed)


@dataclass(slots=True)
class ExitsReport:
    flows: int = 0
    not_replayed: dict[str, int] = field(default_factory=dict)  # why -> workers
    simulator: dict[str, int] = field(default_factory=dict)  # destination -> THB minor
    ledger: dict[str, int] = field(default_factory=dict)
    window: dict[str, Any] = field(default_factory=dict)
    mismatched: list[str] = field(default_factory=list)  # flows whose THB differs, by id
    via: str = "signed messages"  # or "API transitions" (replay to a URL)

    @property
    def equal(self) -> bool:
        return (self.simulator == self.ledger and not self.mismatched
                and self.window.get("state") in (None, "settled"))


@dataclass(slots=True)
class ReplayReport:
    workers: int
    files: int
    file_rows: int
    api_contributions: int
    simulator: dict[Key, int]
    ledger: dict[Key, int]
    exits: ExitsReport | None = None

    @property
    def equal(self) -> bool:
        return self.simulator == self.ledger and (self.exits is None or self.exits.equal)

    def differences(self) -> dict[Key, tuple[int, int]]:
        keys = set(self.simulator) | set(self.ledger)
        return {k: (self.simulator.get(k, 0), self.ledger.get(k, 0)) for k in sorted(keys)
                if self.simulator.get(k, 0) != self.ledger.get(k, 0)}


class LedgerNotEmptyError(ValueError):
    """The target ledger already books contributions: its totals could not equal the
    simulator's, so the replay refuses before sending anything."""


async def refuse_unless_empty(http: httpx.AsyncClient, token: str, where: str) -> None:
    """Refuse at once, naming what the ledger holds, when it already books contributions."""
    refuse_if_held(await _http_totals(http, token), where)


def refuse_if_held(totals: dict[Key, int], where: str) -> None:
    held = {k: v for k, v in totals.items() if v}
    if held:
        first = sorted(held)[0]
        raise LedgerNotEmptyError(
            f"the ledger at {where} already holds contributions ({len(held)} (fund, scheme, "
            f"payer) totals, e.g. {'/'.join(first)} {held[first]} minor units): a replay "
            "compares the ledger's totals with the simulator's, so it needs a ledger that "
            "holds nothing else; replay into `local` (a new SQLite file) or an empty database")


def _thai_id(i: int) -> str:
    body = f"8{i:011d}"
    return body + str(national_id_check_digit(body))


def plan(outcome: Outcome) -> ReplayPlan:
    """Registrations, native files and API calls for every contribution the simulation paid."""
    pop, cov = outcome.pop, outcome.coverage
    out = ReplayPlan()
    fund_of_row = np.empty(pop.size, dtype=object)
    for fund, rows in pop.slices.items():
        fund_of_row[rows] = fund
    for i in range(pop.size):
        fund = str(fund_of_row[i])
        memberships = [{"fund": fund, "member_number": _member(fund, i)}]
        if cov.abroad[i]:
            memberships.append({"fund": "VN-VSS", "member_number": _member("VN-VSS", i)})
        out.workers.append({"id": _worker(i), "nationality": pop.origin_of(int(pop.corridor[i])),
                            "memberships": memberships})
    for m in range(pop.horizon):
        month = pop.start.plus(m)
        paying = (cov.host_first <= m) & (m < cov.host_stop)
        th = np.flatnonzero(paying & (fund_of_row == "TH-SSO"))
        if th.size:
            out.files.append(("TH-SSO", f"sso-1-10-{month}.txt", _thai_file(month, th, pop)))
        my = np.flatnonzero(paying & (fund_of_row == "MY-SOCSO"))
        if my.size:
            out.files.append(("MY-SOCSO", f"socso-{month}.csv", _socso_file(month, my, pop)))
        abroad = np.flatnonzero(cov.abroad & (pop.arrival <= m) & (m < cov.host_stop))
        if abroad.size:
            out.files.append(("VN-VSS", f"d02-{month}.csv", _vietnam_file(month, abroad)))
        jp = np.flatnonzero(paying & (fund_of_row == "JP-JPS"))
        out.contributions.extend(_api("JP-JPS", "epi", "compulsory", month, jp, pop))
        voluntary = np.flatnonzero((cov.digital_first <= m) & (m < cov.digital_stop))
        out.contributions.extend(_api("TH-SSO", S39.scheme, "voluntary", month, voluntary, pop))
    return out


def _worker(i: int) -> str:
    return f"wkr_sim{i:08d}"


def _member(fund: str, i: int) -> str:
    if fund == "TH-SSO":
        return _thai_id(i)
    if fund == "JP-JPS":
        return f"{8000 + i // 1_000_000:04d}-{i % 1_000_000:06d}"
    if fund == "MY-SOCSO":
        return f"MB{i:08d}"  # SOCSO knows foreign workers by passport number
    return f"{9_000_000_000 + i:010d}"  # VN-VSS social-insurance code


def _thai_file(month: Month, rows: np.ndarray, pop: Any) -> bytes:
    adapter = get_adapter("TH-SSO")
    wages = pop.wage_minor[rows]
    employee = np.zeros(rows.size, dtype=np.int64)
    for scheme in adapter.DECLARATION_SCHEMES:
        employee += adapter.contribution_arrays(scheme, month, wages)[Payer.EMPLOYEE]
    header = DeclaredHeader(
        employer_account="9999999999", branch="000000", month=month,
        currency=adapter.currency, employee_count=int(rows.size),
        total_wages_minor=int(wages.sum()), total_employee_minor=int(employee.sum()),
        total_employer_minor=int(employee.sum()), rate_basis_points=500,
        employer_name="Simulated employer")
    declared = [DeclaredRow(line=k + 2, member_number=_thai_id(int(i)), month=month,
                            wage_minor=int(w), employee_minor=int(e), first_name="Sim",
                            last_name=f"Worker {int(i)}")
                for k, (i, w, e) in enumerate(zip(rows, wages, employee, strict=True))]
    return codec("TH-SSO").render(header, declared)


def _socso_file(month: Month, rows: np.ndarray, pop: Any) -> bytes:
    """Malaysia: employment injury, employer-only, in the CLMTV declaration CSV."""
    adapter = get_adapter("MY-SOCSO")
    wages = pop.wage_minor[rows]
    employer = np.zeros(rows.size, dtype=np.int64)
    for scheme in adapter.DECLARATION_SCHEMES:
        employer += adapter.contribution_arrays(scheme, month, wages).get(
            Payer.EMPLOYER, np.zeros(rows.size, dtype=np.int64))
    declared = [DeclaredRow(line=k + 3, member_number=_member("MY-SOCSO", int(i)), month=month,
                            wage_minor=int(w), employee_minor=0, employer_minor=int(e),
                            first_name="Sim", last_name=f"Worker {int(i)}")
                for k, (i, w, e) in enumerate(zip(rows, wages, employer, strict=True))]
    header = DeclaredHeader(
        employer_account="SIMULATED", branch="000", month=month, currency=adapter.currency,
        employee_count=len(declared), total_wages_minor=int(wages.sum()),
        total_employee_minor=0, total_employer_minor=int(employer.sum()))
    return codec("MY-SOCSO").render(header, declared)


def _vietnam_file(month: Month, rows: np.ndarray) -> bytes:
    """The 22% abroad regime: the base is the rules' own (2 × base salary without a prior
    insured wage), so the declared wage column carries that base."""
    adapter = get_adapter("VN-VSS")
    context = WorkerContext(regime="abroad")
    quote = adapter.contribution(context, "retirement-survivorship", month,
                                 Money(0, adapter.currency))
    base, employee = quote.wage_base.amount_minor, quote.share(Payer.EMPLOYEE).amount_minor
    extra = {"plan_code": "ON", "zone": "01", "regime": "abroad", "date_of_birth": "01/01/1995",
             "gender": "0", "nationality": "VN"}
    declared = [DeclaredRow(line=k + 3, member_number=_member("VN-VSS", int(i)), month=month,
                            wage_minor=base, employee_minor=employee, employer_minor=0,
                            first_name="Sim", last_name=f"Worker {int(i)}", extra=extra)
                for k, i in enumerate(rows)]
    header = DeclaredHeader(
        employer_account="ABROAD", branch="000", month=month, currency=adapter.currency,
        employee_count=len(declared), total_wages_minor=base * len(declared),
        total_employee_minor=employee * len(declared), total_employer_minor=0)
    return codec("VN-VSS").render(header, declared)


def _api(fund: str, scheme: str, kind: str, month: Month, rows: np.ndarray, pop: Any
         ) -> Iterator[dict[str, Any]]:
    adapter = get_adapter(fund)
    priced: dict[int, Any] = {}
    for i in rows.tolist():
        wage = int(pop.wage_minor[i])
        quote = priced.get(wage)
        if quote is None:
            quote = priced[wage] = adapter.contribution(WorkerContext(), scheme, month,
                                                        Money(wage, adapter.currency))
        yield {"worker_id": _worker(i), "fund": fund, "scheme": scheme, "month": str(month),
               "kind": kind, "wage_base": _money(quote.wage_base),
               "shares": [{"payer": str(p), "amount": _money(m)} for p, m in quote.shares]}


def _money(m: Money) -> dict[str, str]:
    return {"amount_minor": str(m.amount_minor), "currency": str(m.currency)}


async def send(http: httpx.AsyncClient, token: str, replay: ReplayPlan,
               progress: Progress | None = None, register: bool = True) -> int:
    """Register (unless the caller did, in bulk), upload, post. Returns the number of file rows
    booked. Raises on any refusal."""
    auth = {"Authorization": f"Bearer {token}"}
    for n, worker in enumerate(replay.workers if register else [], start=1):
        response = await http.post("/v1/workers", json=worker, headers=auth)
        if response.status_code not in (201, 409):
            raise RuntimeError(f"registering {worker['id']}: {response.text}")
        if progress is not None and (n % 500 == 0 or n == len(replay.workers)):
            progress("workers", n, len(replay.workers))
    rows = 0
    for n, (fund, name, data) in enumerate(replay.files, start=1):
        response = await http.post(f"/v1/funds/{fund}/declarations", headers=auth,
                                   files={"file": (name, data)})
        if response.status_code not in (200, 201):
            raise RuntimeError(f"importing {name}: {response.text[:2000]}")
        rows += int(response.json()["rows_accepted"])
        if progress is not None:
            progress("files", n, len(replay.files))
    batches = [replay.contributions[i:i + BATCH]
               for i in range(0, len(replay.contributions), BATCH)]
    for n, batch in enumerate(batches, start=1):
        response = await http.post("/v1/contributions/batch", json={"contributions": batch},
                                   headers={**auth, "Idempotency-Key": f"replay-{n}"})
        if response.status_code not in (200, 201):
            raise RuntimeError(f"contribution batch {n}: {response.text[:2000]}")
        if progress is not None:
            progress("contributions", n, len(batches))
    return rows


def exit_flows(outcome: Outcome) -> tuple[list[ExitFlow], dict[str, int]]:
    """The Thai exits the simulation settled under the agreement, and the exits not replayed."""
    from ledger.settlement.agreement import AgreementKind
    from simulator.exits import HostState

    skipped: dict[str, int] = defaultdict(int)
    if outcome.run.agreement.kind is AgreementKind.BASELINE:
        return [], dict(skipped)
    pop, bal, agreement = outcome.pop, outcome.balances, outcome.run.agreement
    portable = agreement.portable_scheme("TH-SSO", "s33-old-age")
    payers = set(portable.portable_payers) if portable is not None else set()
    by_payer = {Payer.EMPLOYEE: bal.employee, Payer.EMPLOYER: bal.employer,
                Payer.GOVERNMENT: bal.government}
    flows: list[ExitFlow] = []
    th = pop.slices.get("TH-SSO", slice(0, 0))
    jp = pop.slices.get("JP-JPS", slice(0, 0))
    settled = outcome.host_state
    flows.extend(_japanese_lump_sums(outcome, jp, skipped))
    for i in range(th.start, th.stop):
        state = settled[i]
        if state not in (HostState.TRANSFERRED, HostState.WITHDRAWN):
            continue
        origin = pop.origin_of(int(pop.corridor[i]))
        if not any(f.country == origin for f in _member_funds(agreement)):
            skipped[f"no member fund in {origin}"] += 1
            continue
        moved = int(bal.voluntary[i]) + sum(int(b[i]) for p, b in by_payer.items()
                                            if p in payers)
        flows.append(ExitFlow(i, "home_fund" if state == HostState.TRANSFERRED else "worker",
                              moved))
    return flows, {k: v for k, v in skipped.items() if v}


def _japanese_lump_sums(outcome: Outcome, rows: slice, skipped: dict[str, int]
                        ) -> list[ExitFlow]:
    """JP workers whose lump sum the simulation paid through the hub (under the agreement's
    keep-and-totalise rule, those whose periods give no right): the gross it computed."""
    from simulator.exits import HostState
    from simulator.refunds import jp_lswp

    pop, cov, bal = outcome.pop, outcome.coverage, outcome.balances
    if rows.stop <= rows.start:
        return []
    idx = np.arange(rows.start, rows.stop)
    idx = idx[outcome.host_state[idx] == HostState.WITHDRAWN]
    delay = outcome.run.scenario.claims.jp.delay_months.value
    claim = cov.settle[idx] + delay
    last = np.maximum(cov.host_stop[idx] - 1, 0)
    result = jp_lswp(bal.standard_sum[idx], bal.months[idx], last, claim, pop.start)
    out = []
    members = {f.country for f in _member_funds(outcome.run.agreement)}
    for k, i in enumerate(idx.tolist()):
        origin = pop.origin_of(int(pop.corridor[i]))
        if origin not in members:
            skipped[f"no member fund in {origin}"] += 1
            continue
        out.append(ExitFlow(i, "jp_lump_sum", int(result.gross[k]), int(claim[k]),
                            int(last[k]), int(result.withheld[k]), int(result.refund[k])))
    kept = int((outcome.host_state[rows] == HostState.ACTIVE).sum())
    skipped["JP-JPS periods kept (nothing moves)"] = kept
    return out


def _member_funds(agreement: Any) -> list[Any]:
    from ledger.domain.funds import FUNDS

    return [FUNDS[f] for f in agreement.member_funds if f in FUNDS]


async def replay_exits(services: Any, outcome: Outcome) -> ExitsReport:
    """Request, approve and acknowledge each exit flow by signed message; settle the window."""
    from ledger.app.local import OPERATOR, REFERENCE_RATES, publish_fund_keys, run_window
    from ledger.settlement.keys import Party, SigningKey
    from ledger.settlement.messages import MessageType

    flows, skipped = exit_flows(outcome)
    report = ExitsReport(len(flows), skipped)
    if not flows:
        return report
    funds = tuple(outcome.run.agreement.member_funds)
    keys = {f: SigningKey.generate(Party(f)) for f in funds}
    await publish_fund_keys(services, keys)
    for base, quote, rate in REFERENCE_RATES:
        await services.portability.set_rate(OPERATOR, base, quote, rate, "replay reference rate")
    sequence: dict[str, int] = defaultdict(lambda: 1)
    for flow in flows:
        report.simulator[flow.destination] = (report.simulator.get(flow.destination, 0)
                                              + flow.moved_minor)
        if flow.moved_minor == 0:
            continue
        requested = await services.portability.request(OPERATOR, _request(outcome, flow))
        await _message(services, keys[requested["host_fund"]], sequence,
                       MessageType.TRANSFER_REQUEST,
                       {"action": "approve", "flow_id": requested["id"]})
        await _message(services, keys[requested["home_fund"]], sequence,
                       MessageType.TRANSFER_ACK, {"flow_id": requested["id"], "accepted": True})
        done = await services.portability.get(OPERATOR, requested["id"])
        if done["state"] != "posted":
            raise RuntimeError(f"flow {done['id']} is {done['state']}")
        _tally(report, flow, done)
    window = await run_window(services, "USD", keys, lambda _line: None)
    report.window = {k: window.get(k) for k in ("id", "state", "netting", "reconciliation")}
    return report


def _request(outcome: Outcome, flow: ExitFlow) -> Any:
    from ledger.adapters.refunds import Claim
    from ledger.app.local import FlowRequest, Reason
    from ledger.settlement.legs import Flow

    worker = _worker(flow.worker)
    if flow.destination != "jp_lump_sum":
        return FlowRequest(worker, "TH-SSO", "s33-old-age", Reason.RETURN_HOME,
                           flow_id=f"pt-sim-{flow.worker}")
    pop = outcome.pop
    years = (flow.claim_index - int(pop.arrival[flow.worker])) // 12
    claim = Claim(pop.start.plus(flow.claim_index),
                  age_years=int(pop.age_at_arrival[flow.worker]) + years,
                  insured_status_ended=True,
                  # The simulation pays on leaving; the rule wants the claim after leaving.
                  left_country_month=pop.start.plus(min(flow.last_index + 1,
                                                        flow.claim_index)))
    return FlowRequest(worker, "JP-JPS", "epi", Reason.CLAIM, Flow.LUMP_SUM,
                       f"pt-sim-jp-{flow.worker}", claim)


async def _message(services: Any, key: Any, sequence: dict[str, int], typ: Any,
                   body: dict[str, Any]) -> None:
    import time

    from ledger.settlement.keys import HUB
    from ledger.settlement.messages import sign_message

    token = sign_message(key, aud=HUB, typ=typ, seq=sequence[key.issuer], body=body,
                         iat=int(time.time()))
    sequence[key.issuer] += 1
    receipt = await services.inbox.receive(token)
    if receipt.result is None or not receipt.result.get("ok"):
        raise RuntimeError(f"message refused: {receipt.result}")


async def _http_totals(http: httpx.AsyncClient, token: str) -> dict[Key, int]:
    response = await http.get("/v1/ledger/contribution-totals",
                              headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return {(t["fund"], t["scheme"], t["payer"]): int(t["amount_minor"])
            for t in response.json()["totals"]}


async def replay_http(outcome: Outcome, base_url: str, token: str,
                      progress: Progress | None = None,
                      transport: httpx.AsyncBaseTransport | None = None) -> ReplayReport:
    """Replay into a running ledger at `base_url` (its database empty of other contributions)
    as a hub operator: contributions, then the exits as flows moved through the API's
    transitions. Windows are not settled here: each fund confirms with its own key."""
    replay = plan(outcome)
    async with httpx.AsyncClient(base_url=base_url, timeout=600, transport=transport) as http:
        await refuse_unless_empty(http, token, base_url)
        rows = await send(http, token, replay, progress)
        booked = await _http_totals(http, token)
        exits = await _exits_http(http, token, outcome)
    return ReplayReport(len(replay.workers), len(replay.files), rows,
                        len(replay.contributions), simulator_totals(outcome), booked, exits)


async def _exits_http(http: httpx.AsyncClient, token: str, outcome: Outcome) -> ExitsReport:
    from ledger.app.local import REFERENCE_RATES

    flows, skipped = exit_flows(outcome)
    report = ExitsReport(len(flows), skipped, via="API transitions")
    auth = {"Authorization": f"Bearer {token}"}
    if flows:
        for base, quote, rate in REFERENCE_RATES:
            response = await http.put(f"/v1/fx-rates/{base}/{quote}", headers=auth,
                                      json={"rate": rate, "source": "replay reference rate"})
            response.raise_for_status()
    for flow in flows:
        report.simulator[flow.destination] = (report.simulator.get(flow.destination, 0)
                                              + flow.moved_minor)
        if flow.moved_minor == 0:
            continue
        request = _request(outcome, flow)
        body: dict[str, Any] = {"id": request.flow_id, "worker_id": request.worker_id,
                                "host_fund": request.host_fund, "scheme": request.scheme,
                                "reason": str(request.reason), "flow": str(request.flow)}
        if request.claim is not None:
            claim = request.claim
            body["claim"] = {"claim_month": str(claim.claim_month), "age_years": claim.age_years,
                             "left_country_month": str(claim.left_country_month)}
        response = await http.post("/v1/portability/transfers", headers=auth, json=body)
        if response.status_code != 201:
            raise RuntimeError(f"flow {request.flow_id}: {response.text[:1000]}")
        for to in ("pending", "posted"):
            moved = await http.post(f"/v1/portability/transfers/{request.flow_id}/transitions",
                                    headers=auth, json={"to": to})
            if moved.status_code not in (200, 201):
                raise RuntimeError(f"flow {request.flow_id} to {to}: {moved.text[:1000]}")
        _tally(report, flow, moved.json())
    return report


def _tally(report: ExitsReport, flow: ExitFlow, done: dict[str, Any]) -> None:
    """Add a posted flow's amounts to the ledger side; name it if it differs from the plan."""
    if flow.destination == "jp_lump_sum":
        destination = flow.destination
        drained = int(done["basis"]["gross_minor"])
        withheld = int(done["basis"]["withheld_minor"])
        refund = int(done["basis"]["refund_minor"])
        for key, simulated, booked in (("jp_tax_withheld", flow.withheld_minor, withheld),
                                       ("jp_tax_refund", flow.refund_minor, refund)):
            report.simulator[key] = report.simulator.get(key, 0) + simulated
            report.ledger[key] = report.ledger.get(key, 0) + booked
        if (withheld, refund) != (flow.withheld_minor, flow.refund_minor):
            report.mismatched.append(done["id"])
    else:
        destination = "home_fund" if done["destination"] == "member" else "worker"
        drained = int(done["source"]["amount_minor"])
    report.ledger[destination] = report.ledger.get(destination, 0) + drained
    if drained != flow.moved_minor or destination != flow.destination:
        report.mismatched.append(done["id"])


def simulator_totals(outcome: Outcome) -> dict[Key, int]:
    return {k: v for k, v in outcome.totals.contributions.items() if v}


REGISTER_BATCH = 2_000  # workers per transaction when registering in bulk


async def _register_in_bulk(ledger: LocalLedger, replay: ReplayPlan,
                            progress: Progress | None) -> None:
    """Every worker of the plan through the service graph, a batch per transaction (what
    `clmtv loadtest prepare` does): the same checks, hashing and encryption as `POST
    /v1/workers`, without a request per worker (100,000 workers: minutes, not an hour)."""
    from ledger.app.local import OPERATOR, NewWorker

    total = len(replay.workers)
    for start in range(0, total, REGISTER_BATCH):
        batch = [NewWorker(w["nationality"], [(m["fund"], m["member_number"])
                                              for m in w["memberships"]], id=w["id"])
                 for w in replay.workers[start:start + REGISTER_BATCH]]
        await ledger.services.workers.register_many(OPERATOR, batch)
        if progress is not None:
            progress("workers", min(start + REGISTER_BATCH, total), total)


async def replay_local(outcome: Outcome, database_url: str,
                       progress: Progress | None = None) -> ReplayReport:
    """Replay into a fresh database at `database_url` through an in-process ledger."""
    from ledger.app.local import local_ledger

    async def empty(services: Any) -> None:  # before the replay's operator client is written
        refuse_if_held(await services.transfers.contribution_totals(), _safe(database_url))

    async with local_ledger(database_url, "simulator-replay", before=empty) as ledger:
        replay = plan(outcome)
        await _register_in_bulk(ledger, replay, progress)
        rows = await send(ledger.http, ledger.operator_token, replay, progress, register=False)
        booked = await _http_totals(ledger.http, ledger.operator_token)
        exits = await replay_exits(ledger.services, outcome)
    return ReplayReport(len(replay.workers), len(replay.files), rows,
                        len(replay.contributions), simulator_totals(outcome), booked, exits)


def _safe(database_url: str) -> str:
    """The database URL without its password (it is printed)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # unparsable: named by its scheme only
        return database_url.split("://", 1)[0] + "://…"


def run_replay(outcome: Outcome, target: str, out: Path,
               progress: Progress | None = None) -> ReplayReport:
    """`target` is `local` (a new SQLite file in `out`), the URL of an empty database, or the
    base URL (http://...) of a running ledger, with an operator token in CLMTV_REPLAY_TOKEN."""
    if target.startswith(("http://", "https://")):
        import os

        token = os.environ.get("CLMTV_REPLAY_TOKEN", "")
        if not token:
            raise ValueError("replaying to a URL needs a hub operator's bearer token in "
                             "CLMTV_REPLAY_TOKEN")
        return asyncio.run(replay_http(outcome, target, token, progress))
    if target == "local":
        path = out / "replay.db"
        out.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        target = f"sqlite+aiosqlite:///{path}"
    return asyncio.run(replay_local(outcome, target, progress))
