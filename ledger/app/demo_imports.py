"""The demo's declaration imports: every fund's sample file, booked through the import pipeline.

Registers the workers a sample names (so their member numbers resolve), then imports the file as
the hub operator. Seeding twice changes nothing: registrations that exist are skipped and a file
imported before returns its original report. A sample that clashes with the demo's own
careers is reported and left out, as the import would for anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ledger.adapters.formats import DeclaredRow
from ledger.adapters.registry import adapters, codec
from ledger.composition import Services
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.workers import NewWorker

OPERATOR = Principal("demo-operator", PrincipalKind.HUB_OPERATOR)
# Who the sample files' workers are: migrants at the host funds, nationals at home.
NATIONALITY = {"TH-SSO": "MM", "JP-JPS": "VN", "KH-NSSF": "KH", "MM-SSB": "MM", "VN-VSS": "VN",
               "MY-SOCSO": "MM"}


def sample_files(fund: str) -> list[Path]:
    adapter = adapters()[fund]
    folder = Path(__import__(type(adapter).__module__, fromlist=["x"]).__file__ or "").parent
    return sorted(p for p in (folder / "samples").iterdir() if p.is_file())


async def import_samples(svc: Services, say: Callable[[str], None] = print) -> None:
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
            if not report.posted_anything():
                # e.g. the Japanese sample's worker is the demo's reference worker, whose months
                # were posted with other amounts: the import refuses to re-declare them.
                first = report.errors[0] if report.errors else {"line": 0, "reason": "?"}
                say(f"  {fund} {path.name}: not imported (line {first['line']}: "
                    f"{first['reason']})")
                continue
            say(f"  {fund} {path.name}: {report.rows_accepted} rows, {report.status}"
                + (" (imported before)" if report.replayed else ""))
