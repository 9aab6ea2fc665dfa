"""A worker's statement: what was paid for them, by whom, at every fund, and which months count.

Each scheme's balance is its member account (one per worker, fund, scheme and currency, ADR
0026), so the statement always equals the ledger; who paid is the sum of the contributions'
shares by payer. A fund sees only its own part; the worker and the hub see all.

The summary (per fund and scheme: balance, paid by whom, months) is always whole. The detail,
one line per contribution (a worker of twenty years has hundreds), is whole in the signed
statement and paged over the API (`DetailPage`): in the order fund, month, scheme, id, a page
starts after a contribution id and says where the next one starts; an officer or
helper whose consent grant is in force sees all but the identity and member numbers
(`consent.py`), and each such read is recorded for the worker.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ledger.db import repositories as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.consent import Access, ConsentService
from ledger.services.workers import WorkerService


@dataclass(slots=True)
class SchemeLine:
    scheme: str
    currency: Currency
    balance: int = 0  # the member account's posted balance
    pending: Money | None = None
    paid_by_payer: dict[str, int] = field(default_factory=dict)  # Σ contributions' shares
    months: list[int] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class FundPart:
    fund: str
    member_number: str | None
    schemes: dict[str, SchemeLine] = field(default_factory=dict)
    contributions: list[dict[str, Any]] = field(default_factory=list)
    count: int | None = None  # every contribution, when `contributions` holds a page of them


@dataclass(frozen=True, slots=True)
class DetailPage:
    """Which contributions a statement lists: at most `limit` (0: the summary alone), after
    the contribution `after`, of one fund and scheme if given."""

    limit: int
    after: str | None = None
    fund: str | None = None
    scheme: str | None = None


class StatementService:
    def __init__(self, db: Database, workers: WorkerService, consent: ConsentService) -> None:
        self.db = db
        self.workers = workers
        self.consent = consent

    async def statement(self, principal: Principal, worker_id: str,
                        page: DetailPage | None = None, what: str = "json") -> dict[str, Any]:
        """The statement as `principal` may read it: whole, or with `page` its summary and one
        page of its detail; a read by anyone but the worker is recorded as `what` ("json",
        "signed", "page")."""
        access = await self.consent.access(principal, worker_id)
        found = await self._statement(access, worker_id, page)
        await self.consent.record_read(access, worker_id, what)
        return found

    async def _statement(self, access: Access, worker_id: str,
                         page: DetailPage | None = None) -> dict[str, Any]:
        principal = access.acting_as
        worker = await self.workers.get(principal, worker_id)
        visible = {m.fund: None if access.hide_numbers else m.member_number
                   for m in worker.memberships}
        parts = {fund: FundPart(fund, number) for fund, number in visible.items()}
        for row in await repo.worker_accounts(self.db, worker_id):
            if row["fund"] not in parts:
                continue
            line = _line(parts[row["fund"]], row["scheme"], Currency(row["currency"]))
            posted = row["credits_posted"] - row["debits_posted"]
            pending = row["credits_pending"] - row["debits_pending"]
            line.balance += posted
            if pending:
                base = line.pending or Money.zero(line.currency)
                line.pending = base + Money(pending, line.currency)
        for row in await repo.worker_periods(self.db, worker_id):
            if row["fund"] in parts:
                scheme = parts[row["fund"]].schemes.get(row["scheme"])
                if scheme is not None:
                    scheme.months.append(row["month"])
                    scheme.states[row["state"]] = scheme.states.get(row["state"], 0) + 1
        for row in await repo.worker_contributions(self.db, worker_id):
            if row["fund"] in parts:
                part = parts[row["fund"]]
                part.contributions.append(_contribution(row))
                paid = _line(part, row["scheme"], Currency(row["currency"])).paid_by_payer
                for payer, amount in json.loads(row["shares"]).items():
                    paid[payer] = paid.get(payer, 0) + int(amount)
        complete = principal.sees_everything or principal.kind is PrincipalKind.WORKER
        detail = None if page is None else _paginate(list(parts.values()), page)
        statement = _render(worker_id, worker.nationality, list(parts.values()), complete)
        if detail is not None:
            statement["detail"] = detail
        return statement


def _paginate(parts: list[FundPart], page: DetailPage) -> dict[str, Any]:
    """Keep in each part only the contributions of the page; say what the page holds."""
    chosen = [(part.fund, c) for part in sorted(parts, key=lambda p: p.fund)
              for c in sorted(part.contributions, key=lambda c: (c["month"], c["scheme"],
                                                                 c["id"]))
              if (page.fund is None or part.fund == page.fund)
              and (page.scheme is None or c["scheme"] == page.scheme)]
    start = 0
    if page.after is not None:
        start = next((i + 1 for i, (_, c) in enumerate(chosen) if c["id"] == page.after), -1)
        if start < 0:
            raise DomainError(ErrorCode.INVALID_INPUT, f"after: no contribution {page.after} "
                              "among those this statement lists", field="after")
    listed = chosen[start:start + page.limit]
    for part in parts:
        part.count = len(part.contributions)
        part.contributions = [c for fund, c in listed if fund == part.fund]
    more = start + len(listed) < len(chosen)
    return {"contributions": len(chosen), "listed": len(listed), "limit": page.limit,
            "after": page.after, "next": listed[-1][1]["id"] if more and listed else None,
            "fund": page.fund, "scheme": page.scheme}


def _line(part: FundPart, scheme: str, currency: Currency) -> SchemeLine:
    if scheme not in part.schemes:
        part.schemes[scheme] = SchemeLine(scheme, currency)
    return part.schemes[scheme]


def _share(payer: str, amount: str, currency: str, override: dict[str, str] | None
           ) -> dict[str, Any]:
    """One payer's share; one declared apart from the rules says why and what they give."""
    out: dict[str, Any] = {"payer": payer,
                           "amount": {"amount_minor": amount, "currency": currency}}
    if override is not None:
        out["override"] = {"reason": override["reason"], "rules_amount": {
            "amount_minor": override["rules_minor"], "currency": currency}}
    return out


def _contribution(row: dict[str, Any]) -> dict[str, Any]:
    currency = row["currency"]
    shares: dict[str, str] = json.loads(row["shares"])
    overrides: dict[str, dict[str, str]] = json.loads(row.get("overrides") or "{}")
    return {
        "id": row["id"],
        "scheme": row["scheme"],
        "month": str(Month.from_int(row["month"])),
        "kind": row["kind"],
        "wage_base": {"amount_minor": str(row["wage_base_minor"]), "currency": currency},
        "shares": [_share(payer, amount, currency, overrides.get(payer))
                   for payer, amount in shares.items()],
    }


def _render(worker_id: str, nationality: str, parts: list[FundPart], complete: bool
            ) -> dict[str, Any]:
    totals: dict[Currency, int] = defaultdict(int)
    funds_out = []
    for part in sorted(parts, key=lambda p: p.fund):
        schemes_out = []
        fund_total: dict[Currency, int] = defaultdict(int)
        months: set[int] = set()
        for line in sorted(part.schemes.values(), key=lambda s: s.scheme):
            fund_total[line.currency] += line.balance
            months.update(line.months)
            schemes_out.append({
                "scheme": line.scheme,
                "balance": Money(line.balance, line.currency).to_wire(),
                "pending": line.pending.to_wire() if line.pending else None,
                "paid_by_payer": [
                    {"payer": payer, "amount": Money(amount, line.currency).to_wire()}
                    for payer, amount in sorted(line.paid_by_payer.items())],
                "months": len(line.months),
                "first_month": str(Month.from_int(min(line.months))) if line.months else None,
                "last_month": str(Month.from_int(max(line.months))) if line.months else None,
                "months_by_state": dict(sorted(line.states.items())),
            })
        for currency, amount in fund_total.items():
            totals[currency] += amount
        funds_out.append({
            "fund": part.fund,
            "member_number": part.member_number,
            "months": len(months),
            "totals": [Money(a, c).to_wire() for c, a in sorted(fund_total.items())],
            "schemes": schemes_out,
            "contributions": part.contributions,
            **({} if part.count is None else {"contributions_total": part.count}),
        })
    return {
        "worker_id": worker_id,
        "nationality": nationality,
        # Signed with the rest: a fund's view of one worker (its own fund only) must never pass
        # for the worker's whole record (issue 25, finding 10).
        "scope": {"complete": complete, "funds": sorted(p.fund for p in parts)},
        "funds": funds_out,
        "totals": [Money(a, c).to_wire() for c, a in sorted(totals.items())],
    }
