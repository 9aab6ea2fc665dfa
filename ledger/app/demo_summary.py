"""The demo's closing summary, read back from the ledger: what each demo worker has at each
fund, whether every sample file was imported, and whether the USD window settled and reconciled.

The summary is what a newcomer checks the demo against (and the README's reference worker: 140
months under Thai SSO, 36 of Japanese pension, then the NSSF at home); `ok` is whether every
step succeeded, and `clmtv demo` exits 1 without serving when it is not.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field

from ledger.app.demo_imports import SampleImport
from ledger.composition import Services
from ledger.db import windows_repo
from ledger.demo_data import DEMO_SECOND_WORKER, DEMO_WORKER
from ledger.domain.errors import DomainError
from ledger.domain.principals import Principal, PrincipalKind

READER = Principal("demo-summary", PrincipalKind.AUDITOR)
DEMO_FLOWS = ("pt-demo-lswp", "pt-demo-thai")


@dataclass(slots=True)
class DemoSummary:
    months: dict[str, dict[str, int]]  # worker -> fund -> months of contributions
    nationality: dict[str, str]
    samples: list[SampleImport]
    flows_posted: int
    window: str | None  # the settled USD window whose reconciliation agrees
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        head = ("Demo seeded: every step succeeded." if self.ok
                else f"Demo seeded with {len(self.problems)} problem(s):")
        out = [head, *(f"  FAILED: {p}" for p in self.problems)]
        for worker, funds in self.months.items():
            out.append(f"  {worker} ({self.nationality[worker]}): "
                       + ", ".join(f"{fund} {_months(n)}" for fund, n in funds.items()))
        imported = sum(s.imported for s in self.samples)
        out.append(f"  sample files: {imported} of {len(self.samples)} imported")
        out.append(f"  portability: {self.flows_posted} of {len(DEMO_FLOWS)} flows posted; "
                   + (f"window {self.window} settled, reconciliation agrees" if self.window
                      else "no settled window"))
        return out


async def summarise(svc: Services, samples: list[SampleImport]) -> DemoSummary:
    months: dict[str, dict[str, int]] = {}
    nationality: dict[str, str] = {}
    for worker in (DEMO_WORKER, DEMO_SECOND_WORKER):
        statement = await svc.statements.statement(READER, worker)
        nationality[worker] = statement["nationality"]
        # In the order of the worker's story: by each fund's first month.
        funds = sorted(statement["funds"], key=lambda f: min(
            (s["first_month"] for s in f["schemes"] if s["first_month"]), default="9999"))
        months[worker] = {f["fund"]: f["months"] for f in funds}
    posted = 0
    for flow_id in DEMO_FLOWS:
        with contextlib.suppress(DomainError):  # a flow never requested is not posted
            posted += (await svc.portability.get(READER, flow_id))["state"] == "posted"
    window = next((str(w["id"]) for w in await windows_repo.windows(svc.db, "USD", 100)
                   if w["state"] == "settled" and json.loads(str(w["reconciliation"]))["agrees"]),
                  None)
    problems = [f"{s.fund} {s.file}: {s.detail}" for s in samples if not s.imported]
    if posted < len(DEMO_FLOWS):
        problems.append(f"{len(DEMO_FLOWS) - posted} demo flow(s) not posted")
    if window is None:
        problems.append("no settled USD window whose reconciliation agrees")
    return DemoSummary(months, nationality, samples, posted, window, problems)


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"
