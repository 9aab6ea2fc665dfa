"""JSON views of domain objects, as the API writes them (money as strings, times in ISO 8601)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from ledger.api.errors import problem_body
from ledger.db.ledger_store import TransferRecord
from ledger.domain.contributions import Contribution
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Fund
from ledger.domain.ledger import AccountFlags, TransferFlags
from ledger.services.claimables import WorkerClaims
from ledger.services.posting import Status, UnitResult
from ledger.services.transfers import AccountView
from ledger.services.workers import WorkerView


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat().replace("+00:00", "Z")


def flag_names(flags: int, kind: type[AccountFlags] | type[TransferFlags]) -> list[str]:
    return [f.name.lower() for f in kind if f.value and flags & f.value and f.name]


def transfer(record: TransferRecord) -> dict[str, Any]:
    s = record.spec
    return {
        "id": s.id,
        "debit_account_id": s.debit_account_id,
        "credit_account_id": s.credit_account_id,
        "amount": {"amount_minor": str(s.amount_minor), "currency": s.currency.value},
        "flags": flag_names(int(s.flags), TransferFlags),
        "pending_id": s.pending_id,
        "reversal_of": s.reversal_of,
        "code": s.code,
        "contribution_id": s.contribution_id,
        "created_at": iso(record.created_at_us),
    }


def account(view: AccountView) -> dict[str, Any]:
    cur = view.currency

    def money(amount: int) -> dict[str, str]:
        return {"amount_minor": str(amount), "currency": cur}

    return {
        "id": view.id, "key": view.key, "code": view.code, "currency": cur,
        "flags": flag_names(view.flags, AccountFlags), "fund": view.fund, "scheme": view.scheme,
        "worker_id": view.worker_id, "payer": view.payer,
        "debits_pending": money(view.debits_pending), "debits_posted": money(view.debits_posted),
        "credits_pending": money(view.credits_pending),
        "credits_posted": money(view.credits_posted),
        "balance": money(view.credits_posted - view.debits_posted),
        "created_at": iso(view.created_at_us),
    }


def worker(view: WorkerView) -> dict[str, Any]:
    return {
        "id": view.id,
        "nationality": view.nationality,
        "identity": None if view.identity_number is None else {
            "kind": view.identity_kind, "number": view.identity_number},
        "memberships": [
            {"fund": m.fund, "member_number": m.member_number, "created_at": iso(m.created_at_us)}
            for m in view.memberships
        ],
        "created_at": iso(view.created_at_us),
    }


def fund(f: Fund) -> dict[str, Any]:
    return {
        "code": f.code, "name": f.name, "country": f.country, "currency": f.currency.value,
        "schemes": [
            {"code": s.code, "name": s.name, "starts": str(s.starts), "long_term": s.long_term,
             "operating": s.operating, "start_verified": s.verified_start,
             "voluntary": s.voluntary, "agreement_option": s.agreement_option}
            for s in f.schemes.values()
        ],
    }


def contribution(c: Contribution) -> dict[str, Any]:
    return {
        "id": c.id, "worker_id": c.worker_id, "fund": c.fund, "scheme": c.scheme,
        "month": str(c.month), "kind": c.kind.value, "wage_base": c.wage_base.to_wire(),
        "shares": [{"payer": p.value, "amount": m.to_wire()} for p, m in c.shares],
    }


def contribution_result(c: Contribution, result: UnitResult) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of one posted contribution: 201 created, 200 exists, or a problem."""
    if result.error is not None:
        status, body = problem_body(result.error)
        return status, orjson.loads(body)
    return (201 if result.status is Status.CREATED else 200), {
        "status": result.status.value,
        "contribution": contribution(c),
        "transfers": [transfer(t) for t in result.transfers],
    }


def unexpected(result: UnitResult) -> DomainError:
    return result.error or DomainError(ErrorCode.INVALID_INPUT, f"unexpected {result.status}")


def claims(c: WorkerClaims) -> dict[str, Any]:
    """What is claimable (GET /v1/workers/{id}/claimable): money on the wire, dates ISO."""
    def money(m: Any) -> dict[str, str] | None:
        return None if m is None else m.to_wire()

    return {
        "as_of": c.today.isoformat(),
        "options": [{
            "route": o.route, "fund": o.fund, "scheme": o.scheme, "payer": o.payer,
            "amount": money(o.amount),
            "deadline": o.deadline.isoformat() if o.deadline else None,
            "days_left": o.days_left(c.today), "warn": o.warn(c.today),
            "opens_at_age": o.opens_at_age, "window_months": o.window_months,
            "window_from": o.window_from,
            "refused": list(o.refused), "basis": o.basis,
        } for o in c.options],
        "coverage_ended": [{"fund": e.fund, "last_month": str(e.last_month)}
                           for e in c.coverage_ended],
        "flows": [{**f, "source": money(f["source"]), "target": money(f["target"]),
                   "at": f["at"].isoformat()} for f in c.flows],
        "payments": [{**p, "paid": money(p["paid"]), "contribution": money(p["contribution"]),
                      "at": p["at"].isoformat()} for p in c.payments],
    }
