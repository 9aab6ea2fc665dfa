"""Workers and their memberships at funds: one person, many (fund, member number) pairs.

Identity and member numbers are stored only as a keyed HMAC (to find a person) and AES-GCM
ciphertext (to show the number to those allowed); everyone else sees a masked form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledger.db import repositories as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import get_fund
from ledger.domain.ids import check_worker_id, check_worker_id_carries_no_number, new_worker_id
from ledger.domain.pii import PiiVault, mask
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.coalesce import CoalescingLookup
from ledger.services.posting import now_us

# fund code, member number -> raises DomainError when the number is malformed for that fund
MemberNumberCheck = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class MembershipView:
    fund: str
    member_number: str  # clear or masked, depending on who asks
    created_at_us: int


@dataclass(frozen=True, slots=True)
class WorkerView:
    id: str
    nationality: str
    identity_kind: str | None
    identity_number: str | None
    memberships: list[MembershipView]
    created_at_us: int


@dataclass(slots=True)
class NewWorker:
    nationality: str
    memberships: list[tuple[str, str]] = field(default_factory=list)  # (fund, member number)
    identity_kind: str | None = None
    identity_number: str | None = None
    id: str | None = None


def basic_member_number_check(fund: str, number: str) -> None:
    if not (1 <= len(number) <= 40) or not all(
            (ch.isascii() and ch.isalnum()) or ch in "-/()" for ch in number):
        raise DomainError(
            ErrorCode.INVALID_ID,
            f"member number for {fund} must be 1-40 letters, digits or - / ( )",
            field="member_number",
        )


class WorkerService:
    def __init__(
        self, db: Database, vault: PiiVault, check: MemberNumberCheck = basic_member_number_check
    ) -> None:
        self.db = db
        self.vault = vault
        self.check = check
        self._known_members: set[tuple[str, str]] = set()  # (worker, fund); never removed
        # Concurrent requests' membership lookups share one query (`coalesce.py`).
        self._memberships: CoalescingLookup[tuple[str, str]] = CoalescingLookup(
            lambda pairs: repo.existing_memberships(self.db, pairs))

    async def create(self, principal: Principal, new: NewWorker) -> WorkerView:
        now = now_us()
        worker, members = self._rows(principal, new, now)
        worker_id = str(worker["id"])
        try:
            await self._refuse_held_under_previous_key(new.identity_kind, new.identity_number,
                                                       new.memberships)
            await repo.insert_worker(self.db, worker, members)
        except repo.DuplicateKeyError as exc:
            if "identity_hmac" not in exc.detail or principal.kind is PrincipalKind.HUB_OPERATOR:
                raise _conflict(exc.detail) from None
            # Another worker holds this identity number, one the caller may not see: register
            # this one all the same and keep the identity as a claim for a reviewed merge, so
            # the answer is the same whether or not the number is known (no identity oracle).
            identity = {k: v for k, v in worker.items() if k.startswith("identity_")}
            claim = {"worker_id": worker_id, "claimed_by": principal.name,
                     "created_at_us": now, **identity}
            unclaimed = {k: v for k, v in worker.items() if not k.startswith("identity_")}
            try:
                await repo.insert_worker(self.db, unclaimed, members, claim)
            except repo.DuplicateKeyError as again:
                raise _conflict(again.detail) from None
        return await self.get(principal, worker_id)

    async def register_many(self, principal: Principal, new: Sequence[NewWorker]) -> list[str]:
        """Register many workers at once, all or none: the same checks, hashing and
        encryption as `create`, one transaction and no read-back. For bulk enrolment by the hub
        operator (a population loaded before a load test), who is told of every conflict, so
        no identity claims are needed; a bad worker names its index."""
        principal.require(principal.kind is PrincipalKind.HUB_OPERATOR and principal.is_writer,
                          "register workers in bulk")
        now = now_us()
        workers: list[dict[str, object]] = []
        members: list[dict[str, object]] = []
        for index, item in enumerate(new):
            try:
                worker, rows = self._rows(principal, item, now)
            except DomainError as exc:
                raise exc.at(index, f"workers[{index}]") from None
            workers.append(worker)
            members.extend(rows)
        try:
            for item in new if self.vault.rotating else ():
                await self._refuse_held_under_previous_key(item.identity_kind,
                                                           item.identity_number,
                                                           item.memberships)
            await repo.insert_workers_bulk(self.db, workers, members)
        except repo.DuplicateKeyError as exc:
            raise _conflict(exc.detail) from None
        return [str(w["id"]) for w in workers]

    def _rows(self, principal: Principal, new: NewWorker, now: int
              ) -> tuple[dict[str, object], list[dict[str, object]]]:
        """The worker's row and its membership rows, checked, hashed and sealed."""
        principal.require(principal.is_writer and principal.kind in (
            PrincipalKind.HUB_OPERATOR, PrincipalKind.FUND), "register workers")
        if not new.memberships and principal.kind is not PrincipalKind.HUB_OPERATOR:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "a fund registers a worker with its membership",
                field="memberships",
            )
        # An id sent, even an empty one, is an id chosen (the API document gives its pattern).
        if new.id is not None and principal.kind is not PrincipalKind.HUB_OPERATOR:
            # A chosen id that exists elsewhere would answer "exists" to a fund that may not
            # see that worker: ids of fund registrations are the hub's (issue 25 finding 3).
            raise DomainError(ErrorCode.INVALID_INPUT, "the hub assigns worker ids: register "
                              "without an id", field="id")
        worker_id = check_worker_id(new.id) if new.id is not None else new_worker_id()
        if new.id is not None:
            check_worker_id_carries_no_number(
                worker_id, [n for _, n in new.memberships]
                + ([new.identity_number] if new.identity_number else []))
        nationality = new.nationality.upper()
        if len(nationality) != 2 or not (nationality.isascii() and nationality.isalpha()):
            raise DomainError(ErrorCode.INVALID_INPUT, "nationality is ISO 3166-1 alpha-2",
                              field="nationality")
        rows = [{**self._membership_row(principal, worker_id, f, n, i), "created_at_us": now}
                for i, (f, n) in enumerate(new.memberships)]
        identity: dict[str, object] = {}
        if new.identity_number:
            kind = new.identity_kind or "national_id"
            identity = {
                "identity_kind": kind,
                "identity_hmac": self.vault.lookup_hash(kind, new.identity_number),
                "identity_ciphertext": self.vault.seal(f"identity:{worker_id}",
                                                       new.identity_number),
            }
        worker = {"id": worker_id, "nationality": nationality, "created_at_us": now, **identity}
        return worker, rows

    async def add_membership(
        self, principal: Principal, worker_id: str, fund: str, number: str
    ) -> WorkerView:
        principal.require(principal.is_writer and principal.can_manage_members(fund),
                          f"add members to {fund}")
        row = self._membership_row(principal, worker_id, fund, number, None)
        await self.get(principal, worker_id, allow_new_fund=fund)
        try:
            await self._refuse_held_under_previous_key(None, None, [(fund, number)])
            await repo.insert_membership(self.db, {**row, "created_at_us": now_us()})
        except repo.DuplicateKeyError as exc:
            raise _conflict(exc.detail) from None
        return await self.get(principal, worker_id)

    async def _refuse_held_under_previous_key(
        self, identity_kind: str | None, identity_number: str | None,
        memberships: Sequence[tuple[str, str]]
    ) -> None:
        """During a rotation (ADR 0055): raise DuplicateKeyError, as the unique index would,
        when a row not yet re-hashed holds one of these numbers under the previous key."""
        previous = self.vault.previous
        if previous is None:
            return
        identity = (previous.lookup_hash(identity_kind or "national_id", identity_number)
                    if identity_number else None)
        clash = await repo.held_under_previous_key(
            self.db, identity, [(f, previous.lookup_hash(f, n)) for f, n in memberships])
        if clash is not None:
            raise repo.DuplicateKeyError(clash)

    def _membership_row(
        self, principal: Principal, worker_id: str, fund: str, number: str, index: int | None
    ) -> dict[str, object]:
        where = f"memberships[{index}]" if index is not None else "membership"
        try:
            get_fund(fund)
            self.check(fund, number)
        except DomainError as exc:
            raise DomainError(exc.code, exc.message, field=f"{where}.{exc.field or 'fund'}"
                              ) from None
        principal.require(principal.can_manage_members(fund), f"add members to {fund}")
        return {
            "worker_id": worker_id,
            "fund": fund,
            "member_number_hmac": self.vault.lookup_hash(fund, number),
            "member_number_ciphertext": self.vault.seal(f"member:{worker_id}:{fund}", number),
        }

    async def get(
        self, principal: Principal, worker_id: str, allow_new_fund: str | None = None
    ) -> WorkerView:
        check_worker_id(worker_id)
        worker, rows = await repo.worker_with_memberships(self.db, worker_id)
        funds = {r["fund"] for r in rows} | ({allow_new_fund} if allow_new_fund else set())
        if worker is None or not principal.can_read_worker(worker_id, funds):
            # Same answer for "absent" and "not yours": existence is not disclosed.
            raise DomainError(ErrorCode.UNKNOWN_WORKER, f"no worker {worker_id}",
                              field="worker_id")
        visible = principal.visible_funds(funds) if principal.kind is not PrincipalKind.WORKER \
            else funds
        views = [
            MembershipView(r["fund"], self._show(principal, worker_id, r["fund"],
                                                 f"member:{worker_id}:{r['fund']}",
                                                 r["member_number_ciphertext"]), r["created_at_us"])
            for r in rows if r["fund"] in visible
        ]
        number = None
        identity = worker
        if worker["identity_ciphertext"] is None:  # a claim under review reads the same
            identity = await repo.identity_claim(self.db, worker_id) or worker
        if identity["identity_ciphertext"] is not None:
            number = self._show(principal, worker_id, None, f"identity:{worker_id}",
                                identity["identity_ciphertext"])
        return WorkerView(worker["id"], worker["nationality"], identity["identity_kind"], number,
                          views, worker["created_at_us"])

    def _show(self, principal: Principal, worker_id: str, fund: str | None, context: str,
              sealed: bytes) -> str:
        clear = self.vault.open(context, sealed)
        return clear if principal.sees_clear_numbers(worker_id, fund) else mask(clear)

    async def find(self, principal: Principal, fund: str, number: str) -> WorkerView:
        get_fund(fund)
        principal.require(principal.can_read_fund(fund), f"look up members of {fund}")
        worker_id = await repo.worker_id_by_member(self.db, fund,
                                                   self.vault.lookup_hashes(fund, number))
        if worker_id is None:
            raise DomainError(ErrorCode.UNKNOWN_WORKER, f"no member {mask(number)} at {fund}")
        return await self.get(principal, worker_id)

    async def existing(self, worker_ids: set[str]) -> set[str]:
        """Which of these worker ids are registered."""
        return await repo.existing_workers(self.db, sorted(worker_ids))

    async def require_members(self, pairs: Sequence[tuple[str, str]]) -> set[int]:
        """Indexes of (worker, fund) pairs that are NOT memberships (cached once confirmed)."""
        unknown = sorted({p for p in pairs if p not in self._known_members})
        if unknown:
            self._known_members.update(await self._memberships.find(unknown))
        return {i for i, p in enumerate(pairs) if p not in self._known_members}


def _conflict(message: str) -> DomainError:
    if "identity_hmac" in message:
        return DomainError(ErrorCode.ID_CONFLICT, "a worker with this identity number exists",
                           field="identity_number")
    if "member_number_hmac" in message or "uq_memberships" in message:
        return DomainError(ErrorCode.MEMBERSHIP_EXISTS,
                           "this member number is already registered at the fund",
                           field="member_number")
    if "memberships" in message:
        return DomainError(ErrorCode.MEMBERSHIP_EXISTS, "the worker is already a member there",
                           field="fund")
    return DomainError(ErrorCode.ID_CONFLICT, "a worker with this id exists", field="id")
