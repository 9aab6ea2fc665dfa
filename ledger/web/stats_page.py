"""The monitoring dashboard (issue 24): a release's headline series, charted, each linked to data.

`/web/stats/` shows the latest public release (`?release=ID` another one the reader may read: a
ministry or fund signed in also sees its own). The page reads the release's own signed CSV
through the statistics service, so what it shows is what anyone can download and verify. Series
are sums over the release's cells (every cell noisy and independent: the margin of a sum is the
root of the sum of the squared margins), charted as inline SVG: no script, nothing fetched. A
money series in a currency whose every month lies within its margin is left to the CSV: noise.
Where the release carries a simulator run (`data/simulation.csv`), its sums stand beside the
ledger's: "what a policy would change" next to "what is".
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money
from ledger.domain.principals import Principal
from ledger.stats.package import SIMULATION
from ledger.web import session
from ledger.web.pages import error_page
from ledger.web.templating import render

router = APIRouter(include_in_schema=False)

COUNTS = ("workers_covered", "months_voluntary", "channel_payers", "transfers_posted",
          "refunds_paid", "claims_pending")
PAYERS = ("employee", "employer", "government", "voluntary")
BAR_WIDTH = 320  # px of the longest bar


def _(message: str) -> str:
    """Marks a label for the catalogue (pybabel extract); the page translates it when shown."""
    return message


LABELS = {
    "workers_covered": _("Workers covered"),
    "months_voluntary": _("Voluntary months insured"),
    "channel_payers": _("Workers paying through a payment channel"),
    "transfers_posted": _("Transfers to the home fund"),
    "refunds_paid": _("Refunds paid"),
    "claims_pending": _("Claims pending"),
    "contributions_employee": _("Paid by employees"),
    "contributions_employer": _("Paid by employers"),
    "contributions_government": _("Paid by governments"),
    "contributions_voluntary": _("Paid voluntarily"),
}


@dataclass(slots=True)
class Series:
    """One line of the dashboard: a value per month, with the margin of that sum."""

    key: str
    currency: str = ""
    values: dict[str, int] = field(default_factory=dict)  # YYYY-MM -> sum of the cells
    squares: dict[str, int] = field(default_factory=dict)  # YYYY-MM -> Σ cell margin²

    def add(self, month: str, value: int, margin: int) -> None:
        self.values[month] = self.values.get(month, 0) + value
        self.squares[month] = self.squares.get(month, 0) + margin * margin

    @property
    def margins(self) -> dict[str, int]:
        """The margin of each month's sum: the root of the sum of the cells' squared margins.
        The cells' noise is independent, so the sum's spread grows as √n, not n; each cell's
        95% margin is ln(20)·b ≈ 2.1σ of its discrete Laplace, wider than the normal 1.96σ
        the sum of many cells tends to, so this errs on the wide side."""
        return {m: math.isqrt(sq - 1) + 1 if sq else 0 for m, sq in self.squares.items()}

    def bars(self) -> list[tuple[str, int, int, int]]:
        """(month, value, margin, bar width in px): widths scale to the largest value."""
        top = max([abs(v) for v in self.values.values()] + [1])
        margins = self.margins
        return [(m, v, margins.get(m, 0), max(0, v) * BAR_WIDTH // top)
                for m, v in sorted(self.values.items())]


def _rows(files: dict[str, bytes], path: str) -> list[dict[str, str]]:
    if path not in files:
        return []
    return list(csv.DictReader(io.StringIO(files[path].decode("utf-8"))))


Simulated = dict[tuple[str, str], dict[str, dict[str, int]]]  # (measure, ccy) -> policy -> month


def simulated(rows: list[dict[str, str]]) -> Simulated:
    """A simulator run published with the release, summed like the release's series."""
    out: Simulated = {}
    for row in rows:
        months = out.setdefault((row["measure"], row["currency"]), {}).setdefault(
            row["policy"], {})
        months[row["month"]] = months.get(row["month"], 0) + int(row["value"])
    return out


def series(cells: list[dict[str, str]]) -> dict[str, list[Series]]:
    """Headline series: counts over every corridor; money per currency; corridors' workers."""
    found: dict[tuple[str, str], Series] = {}
    corridors: dict[tuple[str, str], Series] = {}
    for cell in cells:
        measure, currency, month = cell["measure"], cell["currency"], cell["month"]
        value, margin = int(cell["value"]), int(cell["margin_95"] or 0)
        wanted = measure in COUNTS or measure.startswith("contributions_") or (
            measure == "channel_fees")
        if wanted:
            found.setdefault((measure, currency), Series(measure, currency)).add(
                month, value, margin)
        if measure == "workers_covered":
            key = (cell["origin"], cell["fund"])
            corridors.setdefault(key, Series(f"{key[0]} → {key[1]}")).add(month, value, margin)
    money: dict[str, list[Series]] = defaultdict(list)
    for (measure, currency), line in sorted(found.items()):
        # a money line is shown where some month stands out of its noise; the rest are in the
        # CSV (a currency no one paid in is noise only)
        margins = line.margins
        if currency and any(abs(v) > margins.get(m, 0) for m, v in line.values.items()):
            money[measure].append(line)
    top = sorted(corridors.values(), key=lambda s: -sum(s.values.values()))[:8]
    return {"counts": [found[(m, "")] for m in COUNTS if (m, "") in found],
            "contributions": [s for p in PAYERS for s in money.get(f"contributions_{p}", [])],
            "fees": money.get("channel_fees", []), "corridors": top}


async def _reader(request: Request) -> Principal | None:
    try:
        return await session.principal(request)
    except DomainError:
        return None  # the public release needs no sign-in


@router.get("/web/stats/")
async def dashboard(request: Request, release: str | None = None) -> Response:
    stats = session.services(request).stats
    reader = await _reader(request)
    listed = await stats.releases(reader)
    chosen = release or next((r["id"] for r in reversed(listed) if r["audience"] == "public"),
                             None)
    if chosen is None:
        return render(request, "stats.html", {"release": None, "listed": listed})
    try:
        row = await stats.release(reader, chosen)
        files = await stats.files(reader, chosen)
    except DomainError as refused:
        if refused.code is ErrorCode.UNKNOWN_RELEASE:  # the pages' "not found"
            refused = DomainError(ErrorCode.NOT_FOUND, refused.message, field=refused.field)
        return error_page(request, refused)
    cells = _rows(files, "data/monitoring.csv")
    unknown = [m for m in _rows(files, "data/measures.csv") if m["released"] == "false"]
    simulation = simulated(_rows(files, SIMULATION))
    return render(request, "stats.html", {
        "release": row, "listed": listed, "series": series(cells), "unknown": unknown,
        "simulated": simulation,
        "policies": sorted({p for by_policy in simulation.values() for p in by_policy}),
        "months": sorted({c["month"] for c in cells}), "labels": LABELS,
        "files": f"/v1/stats/releases/{row['id']}/files",
        "minor": lambda value, currency: Money(value, Currency(currency)),
    })
