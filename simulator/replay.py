"""Replay a simulated population into the real ledger and prove both agree to the minor unit.

From one policy's `Outcome` this rebuilds, month by month, what the funds and channels would
send: each Thai month as an SSO 1-10 file, each month of Vietnam's 22% abroad regime as a D02
list, and the months no native monthly file carries (Japanese EPI, whose SHFD0006 is an annual
report; Thai s39 paid from home) as contribution API calls. Workers are registered through the
API first. Everything goes over HTTP — to an in-process app on a fresh database (`local`) or to a
database URL the caller provides — through the same endpoints a fund would use. Then the ledger's
booked contributions per (fund, scheme, payer) are read back and compared with the simulator's
totals, which must be equal exactly.

Only contributions are replayed: exits (refunds, transfers under an agreement) are not.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import text

from ledger.adapters.context import WorkerContext
from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import codec, get_adapter
from ledger.adapters.th_sso.ids import national_id_check_digit
from ledger.domain.funds import Payer
from ledger.domain.money import Money
from ledger.domain.periods import Month
from simulator.engine import Outcome
from simulator.paying import S39

BATCH = 1_000  # contributions per API batch (the API's own limit)
Key = tuple[str, str, str]  # (fund, scheme, payer)
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class ReplayPlan:
    workers: list[dict[str, Any]] = field(default_factory=list)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (fund, name, bytes)
    contributions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class ReplayReport:
    workers: int
    files: int
    file_rows: int
    api_contributions: int
    simulator: dict[Key, int]
    ledger: dict[Key, int]

    @property
    def equal(self) -> bool:
        return self.simulator == self.ledger

    def differences(self) -> dict[Key, tuple[int, int]]:
        keys = set(self.simulator) | set(self.ledger)
        return {k: (self.simulator.get(k, 0), self.ledger.get(k, 0)) for k in sorted(keys)
                if self.simulator.get(k, 0) != self.ledger.get(k, 0)}


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
               progress: Progress | None = None) -> int:
    """Register, upload, post. Returns the number of file rows booked. Raises on any refusal."""
    auth = {"Authorization": f"Bearer {token}"}
    for n, worker in enumerate(replay.workers, start=1):
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


def simulator_totals(outcome: Outcome) -> dict[Key, int]:
    return {k: v for k, v in outcome.totals.contributions.items() if v}


async def ledger_totals(conn: Any) -> dict[Key, int]:
    """Booked contributions by (fund, scheme, payer): member and pool accounts' credits by the
    transfers that are contributions (per worker) or per-file pools (the payer ends the id)."""
    found: dict[Key, int] = defaultdict(int)
    rows = await conn.execute(text(
        "SELECT a.fund, a.scheme, a.payer, t.id, t.amount_minor FROM transfers t "
        "JOIN accounts a ON a.id = t.credit_account_id "
        "WHERE a.code IN ('member', 'branch_pool') AND t.code IN ('contribution', 'import_pool')"))
    for fund, scheme, payer, transfer_id, amount in rows.all():
        found[(fund, scheme, payer or transfer_id.rsplit("/", 1)[1])] += int(amount)
    return dict(found)


async def replay_local(outcome: Outcome, database_url: str,
                       progress: Progress | None = None) -> ReplayReport:
    """Replay into a fresh database at `database_url` through an in-process app."""
    from ledger.api.app import build_services, create_app
    from ledger.config import Settings
    from ledger.db.engine import open_database
    from ledger.db.migrate import upgrade
    from ledger.domain.principals import PrincipalKind
    from ledger.services.signing import HubSigner
    from ledger.settlement.keys import HUB, SigningKey

    db = open_database(database_url, 4)
    await upgrade(db)
    settings = Settings(database_url=database_url)
    services = build_services(settings, db=db, signer=HubSigner(SigningKey.generate(HUB)))
    services.committer.start()
    try:
        token = await services.clients.register("simulator-replay", PrincipalKind.HUB_OPERATOR,
                                                None)
        app = create_app(settings, services)
        app.state.services = services
        replay = plan(outcome)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://replay", timeout=600) as http:
            rows = await send(http, token, replay, progress)
        async with db.engine.connect() as conn:
            booked = await ledger_totals(conn)
    finally:
        await services.committer.stop()
        await db.dispose()
    return ReplayReport(len(replay.workers), len(replay.files), rows,
                        len(replay.contributions), simulator_totals(outcome), booked)


def run_replay(outcome: Outcome, target: str, out: Path,
               progress: Progress | None = None) -> ReplayReport:
    """`target` is `local` (a new SQLite file in `out`) or the URL of an empty database."""
    if target == "local":
        path = out / "replay.db"
        out.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        target = f"sqlite+aiosqlite:///{path}"
    return asyncio.run(replay_local(outcome, target, progress))
