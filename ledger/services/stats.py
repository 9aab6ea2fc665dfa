"""Monitoring releases (issue 24): the ledger's facts, the tables, privacy, the signed package.

Owns who may build and read which release, the facts a release reads (`facts`, one pass over
insurance periods, contributions, channel payments and portability flows of the period), and the
build: tables (`ledger.stats.tables`), noise and the budget (`ledger.stats.privacy`), the data
package (`ledger.stats.package`), the hub's signature, and the store (one transaction: the
release, its files and the ε it spent per month).

Audiences:
- `public`: differentially private, built by the hub operator, read by everyone;
- `ministry:<country>`: differentially private, its nationals only, under its own budget;
- `fund:<code>`: exact, the fund's own members only: records that fund already holds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from typing import Any

from ledger.db import stats_repo as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, get_fund
from ledger.domain.periods import Month, PeriodKind
from ledger.domain.principals import Principal
from ledger.services.signing import HubSigner
from ledger.stats import package
from ledger.stats.privacy import CONFIDENCE, Budget, NoisyMeasure, privatise, spent
from ledger.stats.tables import MEASURE_BY_NAME, Grid, TableBuilder

PUBLIC = "public"
_DAY_US = 86_400_000_000
_OPEN = ("requested", "receivable", "pending")
_REFUND_FLOWS = ("lump_sum", "tax_refund")


@dataclass(frozen=True, slots=True)
class Audience:
    text: str
    fund: str | None = None  # only this fund's records
    nationality: str | None = None  # only these nationals

    @property
    def exact(self) -> bool:
        return self.fund is not None

    @classmethod
    def parse(cls, text: str) -> Audience:
        kind, _, scope = text.partition(":")
        if text == PUBLIC:
            return cls(text)
        if kind == "fund" and scope:
            return cls(text, fund=get_fund(scope, field="audience").code)
        countries = {f.country for f in FUNDS.values()}
        if kind == "ministry" and scope in countries:
            return cls(text, nationality=scope)
        raise DomainError(ErrorCode.INVALID_INPUT, f"audience must be public, fund:<fund> or "
                          f"ministry:<{'|'.join(sorted(countries))}>, got {text!r}",
                          field="audience")


def month_of_us(at_us: int) -> int:
    day = datetime.fromtimestamp(at_us / 1_000_000, tz=UTC)
    return day.year * 100 + day.month


def month_start_us(month: Month) -> int:
    return int(datetime(month.year, month.month, 1, tzinfo=UTC).timestamp()) * 1_000_000


@dataclass(frozen=True, slots=True)
class Built:
    release: dict[str, Any]  # the stored row
    files: dict[str, bytes]  # path -> bytes, datapackage.json and the CSVs
    token: str  # release.jws
    workers_seen: int  # for the operator's console only: never in a public file


class StatsService:
    def __init__(self, db: Database, signer: HubSigner, epsilon: Decimal, budget: Budget,
                 clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.signer = signer
        self.epsilon = epsilon
        self.budget = budget
        self.clock = clock

    async def facts(self, conn: repo.Snapshot, grid: Grid, audience: Audience
                    ) -> TableBuilder:
        """Every fact of the grid's months from the ledger (one snapshot), into a builder."""
        builder = TableBuilder(grid)
        first, last = min(grid.months), max(grid.months)
        scope = (audience.fund, audience.nationality)
        covered: set[tuple[str, str, int]] = set()
        for worker, nationality, fund, month, kind in await repo.period_kinds(
                conn, first, last, *scope):
            if (worker, fund, month) not in covered:
                covered.add((worker, fund, month))
                builder.add("workers_covered", worker, nationality, fund, month, 1)
            if kind == PeriodKind.COMPULSORY.value:
                builder.add("months_compulsory", worker, nationality, fund, month, 1)
            elif kind == PeriodKind.VOLUNTARY.value:
                builder.add("months_voluntary", worker, nationality, fund, month, 1)
        for worker, nationality, fund, month, currency, shares in await repo.contribution_shares(
                conn, first, last, *scope):
            for payer, amount in json.loads(shares).items():
                name = f"contributions_{payer}"
                if name in MEASURE_BY_NAME:
                    builder.add(name, worker, nationality, fund, month, int(amount), currency)
        start = month_start_us(Month.from_int(first))
        stop = month_start_us(Month.from_int(last).plus(1))
        await self._channel_facts(conn, builder, start, stop, scope)
        await self._flow_facts(conn, builder, start, stop, scope)
        return builder

    async def _channel_facts(self, conn: repo.Snapshot, builder: TableBuilder, start: int,
                             stop: int, scope: tuple[str | None, str | None]) -> None:
        payers: set[tuple[str, str, int]] = set()
        for (worker, nationality, fund, paid_at, wallet, fee, home,
             contribution) in await repo.channel_paid(conn, start, stop, *scope):
            month = month_of_us(paid_at)
            if (worker, fund, month) not in payers:
                payers.add((worker, fund, month))
                builder.add("channel_payers", worker, nationality, fund, month, 1)
            builder.add("channel_payments", worker, nationality, fund, month, 1)
            builder.add("channel_contributions", worker, nationality, fund, month, contribution,
                        home)
            builder.add("channel_fees", worker, nationality, fund, month, fee, wallet)

    async def _flow_facts(self, conn: repo.Snapshot, builder: TableBuilder, start: int, stop: int,
                          scope: tuple[str | None, str | None]) -> None:
        for (worker, nationality, fund, flow, state, amount, currency, created,
             updated) in await repo.flows(conn, start, stop, *scope):
            if state == "posted" and start <= updated < stop:
                month = month_of_us(updated)
                refund = flow in _REFUND_FLOWS
                builder.add("refunds_paid" if refund else "transfers_posted", worker,
                            nationality, fund, month, 1)
                builder.add("refunds_paid_amount" if refund else "transfers_posted_amount",
                            worker, nationality, fund, month, amount or 0, currency)
                builder.add("claim_to_payment_days", worker, nationality, fund, month,
                            (updated - created) // _DAY_US)
            if state in _OPEN and start <= created < stop:
                month = month_of_us(created)
                builder.add("claims_pending", worker, nationality, fund, month, 1)
                if state == "pending" and amount is not None:
                    builder.add("claims_pending_amount", worker, nationality, fund, month,
                                amount, currency)

    async def build(self, principal: Principal, period: str, audience_text: str = PUBLIC,
                    epsilon: Decimal | None = None, simulation: str | None = None) -> Built:
        """Build, sign and store one release; refused (budget_exhausted) past the budget.
        `simulation`: a simulator's monitoring.csv to publish beside the tables, cut to the
        release's grid."""
        principal.require(principal.can_build_stats(audience_text),
                          f"build the {audience_text} monitoring release")
        audience = Audience.parse(audience_text)
        months = package.period_months(period)
        grid = Grid.of(months, (audience.nationality,) if audience.nationality else None,
                       (audience.fund,) if audience.fund else None)
        simulated = None if simulation is None else package.simulation_csv(
            simulation, {str(Month.from_int(m)) for m in grid.months}, set(grid.origins),
            set(grid.funds))  # checked before anything is read or spent
        began = time.perf_counter()
        async with repo.snapshot(self.db) as conn:
            position = await repo.position(conn)
            builder = await self.facts(conn, grid, audience)
        release_id = await self._next_id(audience, period)
        margins: dict[tuple[str, str], int] | None = None
        noisy: list[NoisyMeasure] = []
        if audience.exact:
            eps = Decimal(0)
            rows = builder.exact_rows()
            notes = {m.name: package.MeasureNote(m.name, True) for m in builder.measures}
        else:
            eps = epsilon if epsilon is not None else self.epsilon
            before = await self._spent(audience, grid)
            self.budget.check(before, grid.months, eps)
            noisy = privatise(builder, eps)
            eps = spent(noisy)
            rows = [r for m in noisy for r in builder.rows(m.name, m.values)]
            margins = {(m.name, c): v for m in noisy for c, v in m.margin.items()}
            notes = {m.name: _note(m) for m in noisy}
        nonce = secrets.token_hex(16)
        built_at = datetime.fromtimestamp(self.clock(), tz=UTC).isoformat(timespec="seconds")
        files = {"data/monitoring.csv": package.monitoring_csv(rows, margins),
                 "data/measures.csv": package.measures_csv(notes)}
        if simulated is not None:
            files[package.SIMULATION] = simulated
        provenance = self._provenance(release_id, audience, period, grid, built_at, position,
                                      nonce, eps, noisy)
        desc = package.descriptor(release_id, files, provenance,
                                  f"clmtv monitoring statistics {period} ({audience.text})")
        files[package.DESCRIPTOR] = package.descriptor_bytes(desc)
        token = self.signer.sign_release(audience.text, release_id,
                                         package.manifest(release_id, files),
                                         now=int(self.clock()))
        build_ms = int((time.perf_counter() - began) * 1000)
        row = {"id": release_id, "audience": audience.text, "period": period, "epsilon": str(eps),
               "position": position, "position_nonce": nonce,
               "descriptor": files[package.DESCRIPTOR].decode(), "token": token,
               "build_ms": build_ms, "created_at_us": int(self.clock() * 1_000_000)}
        budget = [] if audience.exact else [
            {"audience": audience.text, "month": m, "release_id": release_id,
             "epsilon": str(eps)} for m in grid.months]
        await repo.store_release(self.db, row, files.items(), budget)
        return Built(row, files, token, builder.workers_seen)

    async def _next_id(self, audience: Audience, period: str) -> str:
        """`stats-<audience>-<period>-<n>`: the n-th release of that audience and period. Two
        builds racing for the same n collide on the primary key: one of them fails whole."""
        n = await repo.release_count(self.db, audience.text, period) + 1
        return f"stats-{audience.text.replace(':', '-')}-{period}-{n}".lower()

    async def _spent(self, audience: Audience, grid: Grid) -> dict[int, Decimal]:
        out: dict[int, Decimal] = {}
        for row in await repo.budget_spent(self.db, audience.text, grid.months):
            out[row["month"]] = out.get(row["month"], Decimal(0)) + Decimal(row["epsilon"])
        return out

    def _provenance(self, release_id: str, audience: Audience, period: str, grid: Grid,
                    built_at: str, position: int, nonce: str, eps: Decimal,
                    noisy: list[NoisyMeasure]) -> dict[str, Any]:
        months = [str(Month.from_int(m)) for m in grid.months]
        out: dict[str, Any] = {
            "release_id": release_id, "audience": audience.text, "period": period,
            "months": months, "built_at": built_at, "issuer": "clmtv-hub",
            "grid": {"origins": list(grid.origins), "funds": list(grid.funds)},
        }
        if audience.exact:
            out["ledger_position"] = {"transfers_seq": position}
            out["privacy"] = {"exact": True, "why": f"the members of {audience.fund}: records "
                              "that fund already holds; not for publication"}
            return out
        commitment = hashlib.sha256(f"{release_id}:{position}:{nonce}".encode()).hexdigest()
        out["ledger_position"] = {
            "commitment": commitment,
            "note": "sha256 of release id, last transfer sequence number and a nonce the hub "
                    "keeps: the number of transfers is itself a count of the data, so it is "
                    "committed to, not published; an auditor checks it against the store"}
        out["privacy"] = {
            "unit": "one worker, with every record of theirs (add or remove)",
            "definition": "pure epsilon-differential privacy",
            "library": f"OpenDP {metadata.version('opendp')}",
            "mechanism": "discrete Laplace (opendp.measurements.make_laplace over an integer "
                         "vector, L1 distance), per measure and currency",
            "epsilon": str(eps), "delta": "0",
            "epsilon_per_measure": str(noisy[0].epsilon) if noisy else "0",
            "composition": "sequential: the measures' epsilons add up",
            "budget_cap_per_month": str(self.budget.cap_per_month),
            "budget_scope": audience.text,
            "confidence_of_margins": str(CONFIDENCE),
            "keys": "public: every origin x fund x month (x currency) of the grid is released, "
                    "zero or not; nothing is suppressed by its true value",
        }
        return out

    async def releases(self, principal: Principal | None) -> list[dict[str, Any]]:
        """The releases `principal` may read (None: someone without a token: the public)."""
        rows = await repo.releases(self.db, self._audiences(principal))
        return [r for r in rows if _may_read(principal, r["audience"])]

    def _audiences(self, principal: Principal | None) -> list[str]:
        if principal is None:
            return [PUBLIC]
        if principal.sees_everything:
            return [PUBLIC, *(f"fund:{f}" for f in FUNDS),
                    *(f"ministry:{c}" for c in sorted({f.country for f in FUNDS.values()}))]
        own = f"{principal.kind.value}:{principal.scope}" if principal.scope else None
        return [PUBLIC] + ([own] if own and principal.can_read_stats(own) else [])

    async def release(self, principal: Principal | None, release_id: str) -> dict[str, Any]:
        """A release's row; one the principal may not read is not found (not forbidden)."""
        row = await repo.release(self.db, release_id)
        if row is None or not _may_read(principal, row["audience"]):
            raise DomainError(ErrorCode.UNKNOWN_RELEASE, f"no release {release_id}",
                              field="release_id")
        return row

    async def files(self, principal: Principal | None, release_id: str) -> dict[str, bytes]:
        row = await self.release(principal, release_id)
        files = await repo.release_files(self.db, release_id)
        files[package.SIGNATURE] = row["token"].encode()
        return files


def _note(m: NoisyMeasure) -> package.MeasureNote:
    measure = MEASURE_BY_NAME[m.name]
    caps = ";".join(f"{c}:{measure.cap_for(c)}" if c else str(measure.cap_for(c))
                    for c in m.scale)
    scales = ";".join(f"{c}:{s:.3f}" if c else f"{s:.3f}" for c, s in m.scale.items())
    return package.MeasureNote(m.name, True, str(m.epsilon), caps, scales)



def _may_read(principal: Principal | None, audience: str) -> bool:
    return audience == PUBLIC if principal is None else principal.can_read_stats(audience)
