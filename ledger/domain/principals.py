"""Who a request acts for, and what each kind of principal may see and do.

Every service takes the principal as its first argument. A fund sees only its own members and
accounts; a worker sees only themself; the hub operator sees everything; an auditor reads all
and writes nothing. An employer is bound to its fund (its scope) and its employer number
(`employer`): it posts contributions and declaration files only at that fund, only as that
employer, and only for the workers the fund registered as its employees (the employment
relation, `services/employments.py`); an employer client without a number may post nothing. A
payment channel's scope is its channel code (`channels/*.yaml`), and it acts only for that
channel. A helper
(attaché, officer, civil-society helper) sees a worker's statement only while that worker's
consent grant is in force (`ledger/services/consent.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.domain.errors import DomainError, ErrorCode


class PrincipalKind(StrEnum):
    HUB_OPERATOR = "hub_operator"
    AUDITOR = "auditor"
    FUND = "fund"
    EMPLOYER = "employer"
    CHANNEL = "channel"
    WORKER = "worker"
    # A labour attaché, a fund officer abroad or a civil-society helper: reads nothing of its
    # own; a worker's consent grant lets it read that worker's statement for a while.
    HELPER = "helper"
    MINISTRY = "ministry"


# Kinds whose scope names a fund. A worker's scope names a worker, a channel's its channel.
FUND_SCOPED = frozenset({PrincipalKind.FUND, PrincipalKind.EMPLOYER})


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    kind: PrincipalKind
    scope: str | None = None  # fund code for fund-scoped kinds, worker id for workers
    employer: str | None = None  # an employer's number at its fund (canonical: letters, digits)

    @property
    def sees_everything(self) -> bool:
        return self.kind in (PrincipalKind.HUB_OPERATOR, PrincipalKind.AUDITOR)

    def require(self, allowed: bool, what: str) -> None:
        if not allowed:
            raise DomainError(ErrorCode.FORBIDDEN, f"{self.kind.value} {self.name} may not {what}")

    def can_post_contribution(self, fund: str) -> bool:
        """Compulsory contributions and declaration files: the hub, the fund and its employers
        (an employer with its number; which workers it may post for is the employment
        relation's). A payment channel collects voluntary payments through its own route."""
        return self.kind is PrincipalKind.HUB_OPERATOR or (
            self.kind is PrincipalKind.FUND and self.scope == fund
        ) or (self.kind is PrincipalKind.EMPLOYER and self.scope == fund
              and self.employer is not None)

    def can_act_for_channel(self, channel: str) -> bool:
        """Take payments, reverse or refund them, send day files: the channel or the hub."""
        return self.kind is PrincipalKind.HUB_OPERATOR or (
            self.kind is PrincipalKind.CHANNEL and self.scope == channel
        )

    def can_read_channel(self, channel: str) -> bool:
        return self.sees_everything or (
            self.kind is PrincipalKind.CHANNEL and self.scope == channel
        )

    @property
    def may_send_messages(self) -> bool:
        """Signed messages travel from funds (and the operator relaying them), no one else."""
        return self.kind in (PrincipalKind.HUB_OPERATOR, PrincipalKind.FUND)

    def can_manage_members(self, fund: str) -> bool:
        return self.kind is PrincipalKind.HUB_OPERATOR or (
            self.kind is PrincipalKind.FUND and self.scope == fund
        )

    def can_read_fund(self, fund: str | None) -> bool:
        return self.sees_everything or (self.kind is PrincipalKind.FUND and self.scope == fund)

    def visible_funds(self, funds: set[str]) -> set[str]:
        """Which of a worker's funds this principal may read about."""
        if self.sees_everything:
            return funds
        if self.kind is PrincipalKind.FUND and self.scope in funds:
            return {self.scope}
        return set()

    def can_read_worker(self, worker_id: str, funds: set[str]) -> bool:
        if self.kind is PrincipalKind.WORKER:
            return self.scope == worker_id
        return bool(self.visible_funds(funds))

    def sees_clear_numbers(self, worker_id: str, fund: str | None) -> bool:
        if self.kind is PrincipalKind.HUB_OPERATOR:
            return True
        if self.kind is PrincipalKind.WORKER:
            return self.scope == worker_id
        return self.kind is PrincipalKind.FUND and fund is not None and self.scope == fund

    def can_read_stats(self, audience: str) -> bool:
        """A monitoring release: the public one is everyone's; `fund:<code>` is that fund's,
        `ministry:<country>` that ministry's; the hub and the auditor read them all."""
        if audience == "public" or self.sees_everything:
            return True
        kind, _, scope = audience.partition(":")
        return kind in (PrincipalKind.FUND.value, PrincipalKind.MINISTRY.value) and (
            self.kind.value == kind and self.scope == scope)

    def can_build_stats(self, audience: str) -> bool:
        """Spending privacy budget is the hub's; a fund or ministry may build its own."""
        return self.kind is PrincipalKind.HUB_OPERATOR or (
            audience != "public" and self.can_read_stats(audience)
            and self.kind is not PrincipalKind.AUDITOR)

    @property
    def is_writer(self) -> bool:
        return self.kind is not PrincipalKind.AUDITOR
