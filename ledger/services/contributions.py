"""Recording contributions: authorise, validate, price, check membership, post through group
commit.

Authority first: the fund (or the hub), and for an employer its own employees only (issue 25
finding 4). Then each item against the registry and against the fund's rules, as a declaration
file's row is (issue 22 item 3, `adapters/rules_check.py`): a share that differs says why, and
that is kept with the contribution. A single contribution and a batch are both one job. A batch
is atomic by default (one bad item and nothing is posted); with `partial=True` each
contribution stands on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ledger.adapters.rules_check import check_against_rules
from ledger.domain.contributions import (
    Contribution,
    ContributionInput,
    ShareReason,
    plan_transfers,
    validate_contribution,
)
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.principals import Principal, PrincipalKind
from ledger.limits import BATCH_SIZE_MAX
from ledger.services.employments import EmploymentService
from ledger.services.group_commit import GroupCommitter
from ledger.services.posting import IdempotencyClaim, Job, Renderer, Unit, UnitResult
from ledger.services.workers import WorkerService


class BatchRejectedError(DomainError):
    """Some items are invalid; `errors` lists every one (index, field, reason). Nothing posted."""

    def __init__(self, errors: list[DomainError]) -> None:
        super().__init__(
            ErrorCode.INVALID_INPUT,
            f"{len(errors)} item(s) rejected; nothing was posted",
            details={"errors": [e.to_dict() for e in errors]},
        )
        self.errors = errors


class ContributionService:
    def __init__(self, committer: GroupCommitter, workers: WorkerService,
                 employments: EmploymentService | None = None) -> None:
        self.committer = committer
        self.workers = workers
        self.employments = employments or EmploymentService(workers.db, workers)

    async def validate(
        self, principal: Principal, inputs: Sequence[ContributionInput]
    ) -> list[Contribution]:
        """Validate every item; raise BatchRejectedError listing every bad one."""
        if not inputs:
            raise DomainError(ErrorCode.BATCH_EMPTY, "no contributions given",
                              field="contributions")
        if len(inputs) > BATCH_SIZE_MAX:
            raise DomainError(
                ErrorCode.BATCH_TOO_LARGE,
                f"{len(inputs)} contributions; at most {BATCH_SIZE_MAX} per request",
                field="contributions",
            )
        for index, raw in enumerate(inputs):
            # Authority first, for the whole request: a caller who may not post to a fund gets
            # 403, never a validation report about contributions that were not theirs to send.
            if not principal.can_post_contribution(str(raw.fund)):
                raise DomainError(
                    ErrorCode.FORBIDDEN, f"{principal.kind.value} {principal.name} may not post "
                    f"contributions to {raw.fund}", field="fund",
                    index=None if len(inputs) == 1 else index)
        await self._employer_authority(principal, inputs)
        valid: list[Contribution] = []
        errors: list[DomainError] = []
        for index, raw in enumerate(inputs):
            try:
                valid.append(_priced(validate_contribution(raw), raw))
            except DomainError as exc:
                errors.append(exc.at(index))
        if not errors:
            errors = await self._membership_errors(valid)
            seen: set[str] = set()
            for i, c in enumerate(valid):
                if c.id in seen:
                    errors.append(DomainError(ErrorCode.INVALID_INPUT,
                                              f"contribution id {c.id} appears twice",
                                              field="id", index=i))
                seen.add(c.id)
        if errors:
            if len(inputs) == 1:
                only = errors[0]
                raise DomainError(only.code, only.message, field=only.field, details=only.details)
            raise BatchRejectedError(errors)
        return valid

    async def _employer_authority(self, principal: Principal,
                                  inputs: Sequence[ContributionInput]) -> None:
        """An employer posts for its own employees, at the rules' amounts: 403 for a worker it
        does not employ (the same answer whether or not that worker exists) and for a share
        that says it differs from the rules (the fund records those)."""
        if principal.kind is not PrincipalKind.EMPLOYER:
            return
        several = len(inputs) > 1
        for index, raw in enumerate(inputs):
            if raw.reasons:
                raise DomainError(
                    ErrorCode.FORBIDDEN, f"employer {principal.name} may not declare a share "
                    "apart from the rules; the fund records arrears, surcharges, back pay and "
                    "court orders", field="shares", index=index if several else None)
        fund = str(inputs[0].fund)  # every item's fund is the principal's (checked above)
        foreign = await self.employments.require_employed(
            principal, fund, [str(raw.worker_id) for raw in inputs])
        for index, raw in enumerate(inputs):
            if str(raw.worker_id) in foreign:
                raise DomainError(
                    ErrorCode.FORBIDDEN, f"employer {principal.employer} at {fund} does not "
                    f"employ worker {raw.worker_id}; the fund registers its employees",
                    field="worker_id", index=index if several else None)
    async def _membership_errors(self, valid: list[Contribution]) -> list[DomainError]:
        """One error per contribution whose worker is not a member of its fund: a worker who
        does not exist at all is told apart (register them first) from one who exists but has
        no membership there (add the membership)."""
        missing = sorted(await self.workers.require_members(
            [(c.worker_id, c.fund) for c in valid]))
        if not missing:
            return []
        known = await self.workers.existing({valid[i].worker_id for i in missing})
        errors = []
        for i in missing:
            c = valid[i]
            if c.worker_id in known:
                errors.append(DomainError(
                    ErrorCode.WORKER_NOT_MEMBER,
                    f"worker {c.worker_id} has no membership at {c.fund}: add it first "
                    f"(POST /v1/workers/{c.worker_id}/memberships)", field="worker_id", index=i))
            else:
                errors.append(DomainError(
                    ErrorCode.UNKNOWN_WORKER,
                    f"no worker {c.worker_id}: register the worker (POST /v1/workers) with a "
                    f"membership at {c.fund} first", field="worker_id", index=i))
        return errors

    async def post(
        self,
        contributions: Sequence[Contribution],
        *,
        claim: IdempotencyClaim | None = None,
        render: Renderer | None = None,
        partial: bool = False,
    ) -> list[UnitResult]:
        job = Job(
            [Unit(plan_transfers(c), c) for c in contributions],
            claim=claim,
            render=render,
            atomic=not partial,
        )
        return await self.committer.submit(job)


def _priced(contribution: Contribution, raw: ContributionInput) -> Contribution:
    """The contribution with its overrides, once its shares hold against the fund's rules.
    Called after `validate_contribution`: every payer is known and appears once."""
    fields = {Payer(str(payer)): f"shares[{index}]"
              for index, (payer, _) in enumerate(raw.shares)}
    reasons: dict[Payer, ShareReason] = {}
    for payer_text, reason_text in raw.reasons.items():
        payer = Payer(payer_text)
        try:
            reasons[payer] = ShareReason(reason_text)
        except ValueError:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "a share's reason is one of "
                f"{', '.join(r.value for r in ShareReason)}, got {reason_text!r}",
                field=f"{fields.get(payer, 'shares')}.reason") from None
    overrides = check_against_rules(contribution, reasons, raw.facts,
                                    {p: f"{f}.amount" for p, f in fields.items()})
    return dataclasses.replace(contribution, overrides=overrides) if overrides else contribution
