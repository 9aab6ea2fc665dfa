"""The employment relation: which workers an employer employs at a fund (issue 25 finding 4).

An employer client is bound to its fund and its employer number (`Principal.employer`); it may
post contributions and declare rows only for the workers this relation names. The fund (or the
hub operator) registers and ends it: a fund knows its employers' staff from their own
registration forms (Thai SSO 1-03, the Japanese 資格取得届). An employer reads its own list;
an employer's question about a worker it does not employ gets the same answer whether or not
that worker exists.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ledger.db import employments_repo as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import get_fund
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.posting import now_us
from ledger.services.workers import WorkerService

EMPLOYER_NUMBER_MAX = 32


def canonical_employer(number: object, field: str = "employer") -> str:
    """An employer number as the relation keeps it: letters and digits only, upper case (files
    write a Japanese office code `12-ab-123`, a client may write `12AB123`)."""
    text = "".join(ch for ch in str(number) if ch.isascii() and ch.isalnum()).upper()
    if not text or len(text) > EMPLOYER_NUMBER_MAX:
        raise DomainError(ErrorCode.INVALID_INPUT, "an employer number is 1 to "
                          f"{EMPLOYER_NUMBER_MAX} letters and digits", field=field)
    return text


class EmploymentService:
    def __init__(self, db: Database, workers: WorkerService) -> None:
        self.db = db
        self.workers = workers

    async def register(self, principal: Principal, fund: str, employer: str, worker_id: str
                       ) -> bool:
        """Record that `employer` employs the worker (a member of the fund); False when it was
        recorded already."""
        get_fund(fund)
        principal.require(principal.can_manage_members(fund), f"register employees at {fund}")
        number = canonical_employer(employer)
        if await self.workers.require_members([(worker_id, fund)]):
            raise DomainError(ErrorCode.WORKER_NOT_MEMBER,
                              f"worker {worker_id} has no membership at {fund}",
                              field="worker_id")
        return await repo.add(self.db, fund, number, worker_id, principal.name, now_us())

    async def register_many(self, principal: Principal, rows: Sequence[tuple[str, str, str]]
                            ) -> None:
        """Bulk enrolment by the hub operator (a load test's employer groups): (fund, employer,
        worker) each, recorded unless recorded already; the workers' memberships are the
        caller's to have made."""
        principal.require(principal.kind is PrincipalKind.HUB_OPERATOR,
                          "register employees in bulk")
        await repo.add_many(self.db, [(get_fund(f).code, canonical_employer(e), w)
                                      for f, e, w in rows], principal.name, now_us())

    async def end(self, principal: Principal, fund: str, employer: str, worker_id: str) -> None:
        get_fund(fund)
        principal.require(principal.can_manage_members(fund), f"end employments at {fund}")
        if not await repo.remove(self.db, fund, canonical_employer(employer), worker_id):
            raise DomainError(ErrorCode.NOT_FOUND,
                              f"{employer} at {fund} has no employee {worker_id}",
                              field="worker_id")

    async def employees(self, principal: Principal, fund: str, employer: str) -> list[str]:
        get_fund(fund)
        number = canonical_employer(employer)
        own = (principal.kind is PrincipalKind.EMPLOYER and principal.scope == fund
               and principal.employer == number)
        principal.require(own or principal.sees_everything or principal.can_manage_members(fund),
                          f"read the employees of {employer} at {fund}")
        return await repo.employees(self.db, fund, number)

    async def require_employed(self, principal: Principal, fund: str,
                               worker_ids: Collection[str]) -> set[str]:
        """Which of these workers the employer principal does NOT employ at `fund` (none for
        any other kind of principal: their authority is the fund's)."""
        if principal.kind is not PrincipalKind.EMPLOYER:
            return set()
        if principal.employer is None:
            return set(worker_ids)
        return set(worker_ids) - await repo.employed(self.db, fund, principal.employer,
                                                     worker_ids)
