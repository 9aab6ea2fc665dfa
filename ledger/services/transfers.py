"""Transfers through the API: linked batches, post/void of pending transfers, reversals.

Only the hub operator moves money directly; everything else moves through contributions (and,
later, portability and settlement). Accounts opened here carry the key their creator chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.db import repositories as repo
from ledger.db.engine import Database
from ledger.db.ledger_store import TransferRecord
from ledger.domain.accounts import AccountCode
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ids import check_id
from ledger.domain.ledger import AccountFlags, TransferFlags
from ledger.domain.money import Currency
from ledger.domain.principals import Principal, PrincipalKind
from ledger.limits import TRANSFERS_PER_REQUEST_MAX
from ledger.services.group_commit import GroupCommitter
from ledger.services.posting import Job, Unit, UnitResult, now_us


@dataclass(frozen=True, slots=True)
class AccountView:
    id: int
    key: str
    code: str
    currency: str
    flags: int
    fund: str | None
    scheme: str | None
    worker_id: str | None
    payer: str | None
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    created_at_us: int


def _operator(principal: Principal, what: str) -> None:
    principal.require(principal.kind is PrincipalKind.HUB_OPERATOR, what)


class TransferService:
    def __init__(self, db: Database, committer: GroupCommitter) -> None:
        self.db = db
        self.committer = committer

    async def open_account(
        self, principal: Principal, key: str, code: AccountCode, currency: Currency,
        flags: AccountFlags, fund: str | None = None,
    ) -> AccountView:
        """Open an account; the same key with the same attributes returns the existing one."""
        _operator(principal, "open accounts")
        check_id(key, "key")
        if code is AccountCode.MEMBER:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              "member accounts open themselves on a worker's first contribution",
                              field="code")
        row = await repo.open_account(self.db, {
            "key": key, "code": code.value, "currency": currency.value, "flags": int(flags),
            "fund": fund, "created_at_us": now_us()})
        if (row["code"], row["currency"], row["flags"], row["fund"]) != (
                code.value, currency.value, int(flags), fund):
            raise DomainError(ErrorCode.ID_CONFLICT,
                              f"account {key} exists with other attributes", field="key")
        return AccountView(**row)

    async def create(
        self, principal: Principal, transfers: Sequence[PlannedTransfer]
    ) -> list[UnitResult]:
        """One linked batch: all transfers apply or none."""
        _operator(principal, "create transfers")
        if not transfers:
            raise DomainError(ErrorCode.BATCH_EMPTY, "no transfers given", field="transfers")
        if len(transfers) > TRANSFERS_PER_REQUEST_MAX:
            raise DomainError(ErrorCode.BATCH_TOO_LARGE,
                              f"at most {TRANSFERS_PER_REQUEST_MAX} transfers per linked batch",
                              field="transfers")
        seen: set[str] = set()
        for index, tid in enumerate(t.id for t in transfers):
            check_id(tid, f"transfers[{index}].id")
            if tid in seen:
                raise DomainError(ErrorCode.INVALID_INPUT, f"transfer id {tid} appears twice",
                                  field=f"transfers[{index}].id", index=index)
            seen.add(tid)
        return await self.committer.submit(Job([Unit(list(transfers))]))

    async def resolve(
        self, principal: Principal, pending_id: str, new_id: str, post: bool, amount_minor: int
    ) -> UnitResult:
        _operator(principal, "post or void transfers")
        flags = TransferFlags.POST_PENDING if post else TransferFlags.VOID_PENDING
        original = await self.get(principal, pending_id)
        planned = PlannedTransfer(check_id(new_id), 0, 0, amount_minor, original.spec.currency,
                                  flags, pending_id, code="post" if post else "void")
        return (await self.committer.submit(Job([Unit([planned])])))[0]

    async def reverse(self, principal: Principal, transfer_id: str, new_id: str) -> UnitResult:
        """A new transfer with the accounts swapped: the only way to correct a posted one."""
        _operator(principal, "reverse transfers")
        original = (await self.get(principal, transfer_id)).spec
        if original.flags & TransferFlags.PENDING:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              "a pending transfer is voided, not reversed", field="transfer_id")
        if original.flags & TransferFlags.VOID_PENDING:
            raise DomainError(ErrorCode.INVALID_INPUT, "a void moved no money", field="transfer_id")
        planned = PlannedTransfer(
            check_id(new_id), original.credit_account_id, original.debit_account_id,
            original.amount_minor, original.currency, reversal_of=original.id, code="reversal",
            contribution_id=original.contribution_id,
        )
        return (await self.committer.submit(Job([Unit([planned])])))[0]

    async def get(self, principal: Principal, transfer_id: str) -> TransferRecord:
        record = await repo.transfer_by_id(self.db, transfer_id)
        if record is None:
            raise DomainError(ErrorCode.UNKNOWN_TRANSFER, f"no transfer {transfer_id}",
                              field="transfer_id")
        if not principal.sees_everything:
            funds = await repo.account_funds(
                self.db, [record.spec.debit_account_id, record.spec.credit_account_id])
            if not any(principal.can_read_fund(f) for f in funds):
                raise DomainError(ErrorCode.UNKNOWN_TRANSFER, f"no transfer {transfer_id}",
                                  field="transfer_id")
        return record

    async def account(self, principal: Principal, account_id: int) -> AccountView:
        row = await repo.account_by_id(self.db, account_id)
        if row is None or not principal.can_read_fund(row["fund"]):
            raise DomainError(ErrorCode.UNKNOWN_ACCOUNT, f"no account {account_id}",
                              field="account_id")
        return AccountView(**row)

    async def accounts(
        self, principal: Principal, *, fund: str | None, worker_id: str | None,
        code: str | None, after_id: int, limit: int,
    ) -> list[AccountView]:
        if not principal.sees_everything:
            principal.require(principal.kind is PrincipalKind.FUND, "list accounts")
            fund = principal.scope
        rows = await repo.list_accounts(self.db, fund=fund, worker_id=worker_id, code=code,
                                        after_id=after_id, limit=limit)
        return [AccountView(**r) for r in rows]

    async def account_transfers(
        self, principal: Principal, account_id: int, after_seq: int, limit: int
    ) -> tuple[list[TransferRecord], int]:
        """One page of an account's journal, oldest first, and the cursor for the next page."""
        await self.account(principal, account_id)
        rows = await repo.transfers_of_account(self.db, account_id, after_seq, limit)
        return [r for _, r in rows], (rows[-1][0] if rows else after_seq)

    async def totals(self) -> dict[str, tuple[int, int]]:
        """(debits, credits) posted per currency: equal in a sound ledger."""
        return await repo.posted_totals_by_currency(self.db)

    async def contribution_totals(self) -> dict[tuple[str, str, str], int]:
        """Contributions booked, by (fund, scheme, payer), whichever channel brought them."""
        return await repo.contribution_totals(self.db)
