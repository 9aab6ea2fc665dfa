"""Consent: a worker lets an officer or helper read their statement for a limited time, revokes
it at will, and sees who read it and when.

A grant names the grantee by its API client's name and lasts at most CONSENT_DAYS_MAX days. While
it is in force (not expired, not revoked) the grantee reads the worker's whole statement, as the
worker would but without identity or member numbers; after, it is refused as before. Every read
by someone other than the worker is recorded (`statement_reads`), so the worker's page can say
who looked, when, and under which grant. The clock is injectable: tests move it past an expiry.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.db import consent_repo as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ids import check_worker_id
from ledger.domain.principals import Principal, PrincipalKind
from ledger.limits import CONSENT_DAYS_MAX, CONSENT_GRANTS_OPEN_MAX, STATEMENT_READS_SHOWN
from ledger.services.posting import now_us

DAY_US = 24 * 3600 * 1_000_000
NOTE_CHARS_MAX = 200
# Who may receive a grant: those who otherwise see none or only part of a worker's record.
GRANTEE_KINDS = frozenset({PrincipalKind.HELPER, PrincipalKind.FUND})


@dataclass(frozen=True, slots=True)
class Access:
    """How a reader reads a worker's statement: as whom, and under which grant (if any)."""

    reader: Principal
    acting_as: Principal  # the principal the statement is computed for
    grant_id: str | None
    hide_numbers: bool  # a grantee never sees identity or member numbers


class ConsentService:
    def __init__(self, db: Database, clock: Callable[[], int] = now_us,
                 records: Database | None = None) -> None:
        self.db = db
        self.clock = clock  # µs since the epoch
        # Where reads are recorded: the primary, also when this service reads from a standby
        # (ADR 0058), which takes no writes.
        self.records = records or db

    async def grant(self, principal: Principal, worker_id: str, grantee: str, days: int,
                    note: str = "") -> dict[str, Any]:
        """The worker (only) grants `grantee` read access for `days` days."""
        check_worker_id(worker_id)
        principal.require(_is(principal, worker_id), "grant access to another worker's statement")
        if not 1 <= days <= CONSENT_DAYS_MAX:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              f"a grant lasts 1 to {CONSENT_DAYS_MAX} days, not {days}",
                              field="days")
        if len(note) > NOTE_CHARS_MAX:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              f"the note is longer than {NOTE_CHARS_MAX} characters", field="note")
        kind = await self._grantee_kind(grantee)
        if kind not in GRANTEE_KINDS:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              f"{grantee} is a {kind.value} client: grants go to helpers and "
                              "fund officers", field="grantee")
        now = self.clock()
        in_force = [g for g in await repo.grants_of_worker(self.db, worker_id)
                    if _state(g, now) == "active"]
        if len(in_force) >= CONSENT_GRANTS_OPEN_MAX:
            raise DomainError(ErrorCode.INVALID_INPUT, f"{len(in_force)} grants are in force; "
                              "revoke one first", field="grantee")
        row = {"id": "cg_" + secrets.token_hex(12), "worker_id": worker_id, "grantee": grantee,
               "note": note.strip(), "created_at_us": now,
               "expires_at_us": now + days * DAY_US, "revoked_at_us": None}
        await repo.insert_grant(self.db, row)
        return _view(row, now)

    async def _grantee_kind(self, grantee: str) -> PrincipalKind:
        kind = await repo.client_kind(self.db, grantee)
        if kind is None:
            raise DomainError(ErrorCode.INVALID_INPUT, f"no client named {grantee!r}",
                              field="grantee")
        return PrincipalKind(kind)

    async def revoke(self, principal: Principal, worker_id: str, grant_id: str
                     ) -> dict[str, Any]:
        found = await repo.grant(self.db, grant_id)
        principal.require(_is(principal, worker_id), "revoke another worker's grant")
        if found is None or found["worker_id"] != worker_id:
            raise DomainError(ErrorCode.NOT_FOUND, f"no grant {grant_id}", field="grant_id")
        now = self.clock()
        await repo.revoke_grant(self.db, grant_id, now)  # an ended grant stays as it ended
        again = await repo.grant(self.db, grant_id)
        assert again is not None
        return _view(again, now)

    async def overview(self, principal: Principal, worker_id: str) -> dict[str, Any]:
        """The worker's grants (newest first, ended ones too) and who read the statement."""
        principal.require(_is(principal, worker_id) or principal.sees_everything,
                          "see another worker's consents")
        now = self.clock()
        grants = [_view(g, now) for g in await repo.grants_of_worker(self.db, worker_id)]
        reads = [{"reader": r["reader"], "reader_kind": r["reader_kind"],
                  "grant_id": r["grant_id"], "what": r["what"], "at_us": r["at_us"]}
                 for r in await repo.reads_of_worker(self.db, worker_id, STATEMENT_READS_SHOWN)]
        return {"worker_id": worker_id, "grants": grants, "reads": reads}

    async def access(self, principal: Principal, worker_id: str) -> Access:
        """How `principal` reads `worker_id`'s statement: the worker and the hub as themselves,
        a grantee in force as the worker, anyone else as themselves (a fund sees its part)."""
        if principal.kind is PrincipalKind.WORKER or principal.sees_everything \
                or principal.kind not in GRANTEE_KINDS:
            return Access(principal, principal, None, False)
        found = await repo.grant_in_force(self.db, worker_id, principal.name, self.clock())
        if found is None:
            return Access(principal, principal, None, False)
        as_worker = Principal(principal.name, PrincipalKind.WORKER, worker_id)
        return Access(principal, as_worker, str(found["id"]), True)

    async def record_read(self, access: Access, worker_id: str, what: str) -> None:
        """A read by anyone but the worker is kept for the worker to see."""
        reader = access.reader
        if _is(reader, worker_id):
            return
        await repo.insert_read(self.records, {"worker_id": worker_id, "reader": reader.name,
                                         "reader_kind": reader.kind.value,
                                         "grant_id": access.grant_id, "what": what,
                                         "at_us": self.clock()})


def _is(principal: Principal, worker_id: str) -> bool:
    return principal.kind is PrincipalKind.WORKER and principal.scope == worker_id


def _state(row: dict[str, Any], now: int) -> str:
    if row["revoked_at_us"] is not None and row["revoked_at_us"] <= now:
        return "revoked"
    return "expired" if row["expires_at_us"] <= now else "active"


def _view(row: dict[str, Any], now: int) -> dict[str, Any]:
    return {"id": row["id"], "worker_id": row["worker_id"], "grantee": row["grantee"],
            "note": row["note"], "created_at_us": row["created_at_us"],
            "expires_at_us": row["expires_at_us"], "revoked_at_us": row["revoked_at_us"],
            "state": _state(row, now)}
