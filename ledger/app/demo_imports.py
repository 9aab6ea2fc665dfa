"""The demo's declaration imports: every fund's sample file, booked through the import pipeline.

Registers the workers a sample names (so their member numbers resolve), then imports the file as
the hub operator. Seeding twice changes nothing: registrations that exist are skipped and a file
imported before returns its original report. A sample the import refuses (one that clashed with
the demo's own careers, say) is reported, left out, and makes the demo's summary a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger.adapters.formats import DeclaredRow
from ledger.adapters.registry import adapters, codec
from ledger.composition import Services
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.workers import NewWorker
from ledger.text import plural

OPERATOR = Principal("demo-operator", PrincipalKind.HUB_OPERATOR)
# Who the sample files' workers are: migrants at the host funds, nationals at home.
NATIONALITY = {"TH-SSO": "MM", "JP-JPS": "VN", "KH-NSSF": "KH", "MM-SSB": "MM", "VN-VSS": "VN",
               "MY-SOCSO": "MM", "LA-LSSO": "LA"}


@dataclass(frozen=True, slots=True)
class SampleImport:
    fund: str
    file: str
    imported: bool  # booked now, or by an earlier run of the demo
    detail: str


def sample_files(fund: str) -> list[Path]:
    adapter = adapters()[fund]
    folder = Path(__import__(type(adapter).__module__, fromlist=["x"]).__file__ or "").parent
    return sorted(p for p in (folder / "samples").iterdir() if p.is_file())


async def import_samples(svc: Services, say: Callable[[str], None] = print
                         ) -> list[SampleImport]:
    results: list[SampleImport] = []
    for fund in sorted(adapters()):
        adapter = adapters()[fund]
        for path in sample_files(fund):
            with path.open("rb") as source:
                rows = [r for r in codec(fund).parse(iter(source))
                        if isinstance(r, DeclaredRow)]
            for row in rows:
                number = adapter.validate_member_number(row.member_number)
                try:
                    await svc.workers.create(OPERATOR, NewWorker(
                        nationality=NATIONALITY.get(fund, "KH"), memberships=[(fund, number)]))
                except DomainError as exc:
                    if exc.code is not ErrorCode.MEMBERSHIP_EXISTS:
                        raise
            with path.open("rb") as source:
                report = await svc.imports.import_file(OPERATOR, fund, source)
            if report.posted_anything():
                detail = (f"{plural(report.rows_accepted, 'row')}, {report.status}"
                          + (" (imported before)" if report.replayed else ""))
            else:
                detail = f"not imported: {report.rejection()}"
            results.append(SampleImport(fund, path.name, report.posted_anything(), detail))
            say(f"  {fund} {path.name}: {detail}")
    return results
