"""What a worker can still claim, from whom, by when and how: the statement page's one source.

Every amount comes from the fund's own rule (`get_adapter(fund).withdrawal`, the rule the ledger
pays by) applied to the worker's history as the ledger holds it, for a claim made in the current
month; every deadline from the rule's own window (Japan: `lswp_claim_window_months`) or the
agreement's exit routes (Thailand: `claim_window_years`). A rule that refuses says why, and the
page shows that reason instead of an amount. When the rules change, the page changes with them.

The ledger does not know when a worker left a country or their age. It assumes the worker left
a host country in the month after their last contribution there (the page says so), and shows
age-bound benefits as opening at the rule's age.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ledger.adapters.jp_jps.params import LSWP_CLAIM_WINDOW
from ledger.adapters.refunds import Claim, History, MonthRecord, RefundResult
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso.params import CLAIM_AGE
from ledger.adapters.th_sso.params import CLAIM_WINDOW as TH_CLAIM_WINDOW
from ledger.db import consent_repo
from ledger.db import portability_repo as flows_repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer, get_fund
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month, PeriodState
from ledger.domain.principals import Principal
from ledger.limits import DEADLINE_WARNING_DAYS, PAYMENTS_SHOWN
from ledger.services.exit_options import exit_options
from ledger.services.portability import PortabilityService
from ledger.settlement.agreement import Agreement


@dataclass(frozen=True, slots=True)
class ClaimOption:
    """One thing the worker may claim. `route` names it for the page (translated there)."""

    route: str  # jp_lswp | jp_tax_refund | th_old_age | vn_one_time
    fund: str
    scheme: str
    payer: str  # who pays: a fund code, or "JP-TAX" (Japan's tax office)
    amount: Money | None  # what is paid (the net, for a lump sum with tax withheld)
    deadline: date | None  # the last day to claim, when the rules fix one
    opens_at_age: int | None = None  # claimable from this age
    # When no date is known yet: claimable within `window_months` of an event still to come,
    # "age" (the rule's age, `opens_at_age`), "leaving" (the country) or "payment" (of the
    # lump sum the refund follows).
    window_months: int | None = None
    window_from: str | None = None
    refused: tuple[str, ...] = ()  # the rule's reasons when it would not pay now
    basis: dict[str, str] = field(default_factory=dict)

    def days_left(self, today: date) -> int | None:
        return None if self.deadline is None else (self.deadline - today).days

    def warn(self, today: date) -> bool:
        """The deadline is within DEADLINE_WARNING_DAYS (or passed while still unpaid)."""
        left = self.days_left(today)
        return left is not None and left <= DEADLINE_WARNING_DAYS and not self.refused


@dataclass(frozen=True, slots=True)
class CoverageEnd:
    fund: str
    last_month: Month


@dataclass(frozen=True, slots=True)
class WorkerClaims:
    today: date
    options: tuple[ClaimOption, ...]
    coverage_ended: tuple[CoverageEnd, ...]
    flows: tuple[dict[str, Any], ...]  # transfers and refunds already made, oldest first
    payments: tuple[dict[str, Any], ...]  # voluntary payments through channels, newest first


def _today() -> date:
    return datetime.now(tz=UTC).date()


def last_day(month: Month) -> date:
    return date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])


class ClaimablesService:
    def __init__(self, db: Database, agreement: Agreement,
                 portability: PortabilityService | None = None,
                 today: Callable[[], date] = _today) -> None:
        self.db = db
        self.agreement = agreement
        self.portability = portability
        self.today = today

    async def exit_routes(self, principal: Principal, worker_id: str) -> dict[str, Any] | None:
        """The agreement's exit routes for the worker, side by side (`exit_options.py`): what
        each pays, who pays and by when, for the worker to choose. None for a reader who may
        not see them (a fund, a grantee: they see the claims above, not the choice)."""
        if self.portability is None:
            return None
        try:
            return await exit_options(self.portability, principal, worker_id,
                                      Month.of(self.today()), None)
        except DomainError:
            return None

    async def for_worker(self, worker_id: str, funds: list[str]) -> WorkerClaims:
        """Claims at `funds` (those the reader may see; the caller checked access)."""
        today = self.today()
        current = Month.of(today)
        options: list[ClaimOption] = []
        ended: list[CoverageEnd] = []
        for fund in sorted(funds):
            history = await self._history(worker_id, fund)
            active = [r for r in history.records if r.state is PeriodState.ACTIVE]
            if not active:
                continue
            last = max(r.month for r in active)
            still_insured = last.months_until(current) <= 1  # paid last month or this one
            if not still_insured:
                ended.append(CoverageEnd(fund, last))
            options.extend(self._options(fund, history, last, current, still_insured))
        flows = tuple(_flow(r) for r in await flows_repo.flows(self.db, worker_id=worker_id)
                      if r["host_fund"] in funds or r["home_fund"] in funds)
        payments = tuple(_payment(r) for r in await consent_repo.payments_of_worker(
            self.db, worker_id, PAYMENTS_SHOWN) if r["fund"] in funds)
        return WorkerClaims(today, tuple(options), tuple(ended), flows, payments)

    async def _history(self, worker_id: str, fund: str) -> History:
        rows, states = await flows_repo.history_rows(self.db, worker_id, fund)
        currency = get_fund(fund).currency
        return History(fund, currency, tuple(
            MonthRecord(Month.from_int(r["month"]), r["scheme"], r["wage_base_minor"],
                        {Payer(p): int(a) for p, a in json.loads(r["shares"]).items()},
                        state=PeriodState(states.get((r["scheme"], r["month"]), "active")))
            for r in rows))

    def _options(self, fund: str, history: History, last: Month, current: Month,
                 still_insured: bool) -> list[ClaimOption]:
        if fund == "JP-JPS":
            return self._japan(history, last, current, still_insured)
        if fund == "TH-SSO":
            return [self._thailand(history, current)]
        if fund == "VN-VSS":
            return [self._vietnam(history, current)]
        return []  # the other funds pay pensions only: their months count toward one

    def _japan(self, history: History, last: Month, current: Month, still_insured: bool
               ) -> list[ClaimOption]:
        """The lump-sum withdrawal (EPI, NP) within the window after leaving, and the tax
        withheld from it, reclaimed from the tax office through a representative. A worker
        still insured in Japan sees the amount if they left now, and the window to come."""
        adapter = get_adapter("JP-JPS")
        left = last.plus(1)
        window = adapter.parameters.at(LSWP_CLAIM_WINDOW, max(current, left))
        deadline = None if still_insured else last_day(left.plus(window))
        to_come = window if still_insured else None
        leaving = "leaving" if still_insured else None
        claim = Claim(claim_month=max(current, left), left_country_month=left)
        try:
            results = adapter.withdrawal(history, claim)
        except DomainError as refused:
            return [ClaimOption("jp_lswp", "JP-JPS", "epi", "JP-JPS", None, deadline,
                                window_months=to_come, window_from=leaving,
                                refused=_reasons(refused))]
        out = []
        for result in results:
            out.append(ClaimOption("jp_lswp", "JP-JPS", result.scheme, "JP-JPS",
                                   result.paid_now, deadline,
                                   window_months=to_come, window_from=leaving,
                                   basis=dict(result.basis)))
            refund = _receivable(result)
            if refund is not None:  # the tax withheld less the tax really due (the JP rule)
                refund_window = result.basis.get("tax_refund_claim_window_months")
                out.append(ClaimOption("jp_tax_refund", "JP-JPS", result.scheme, "JP-TAX",
                                       refund, None,
                                       window_months=int(refund_window) if refund_window else None,
                                       window_from="payment" if refund_window else None,
                                       basis=dict(result.basis)))
        return out

    def _thailand(self, history: History, current: Month) -> ClaimOption:
        """Old age: a lump sum or a pension from the rule's age; the agreement's window."""
        adapter = get_adapter("TH-SSO")
        age = adapter.parameters.at(CLAIM_AGE, current)
        window = _thai_claim_window_months(current)
        claim = Claim(claim_month=current, age_years=age, insured_status_ended=True)
        try:
            result = adapter.withdrawal(history, claim)[0]
        except DomainError as refused:
            return ClaimOption("th_old_age", "TH-SSO", "s33-old-age", "TH-SSO", None, None,
                               opens_at_age=age, window_months=window, window_from="age",
                               refused=_reasons(refused))
        return ClaimOption("th_old_age", "TH-SSO", result.scheme, "TH-SSO", result.paid_now,
                           None, opens_at_age=age, window_months=window, window_from="age",
                           basis={"kind": result.kind.value, **result.basis})

    def _vietnam(self, history: History, current: Month) -> ClaimOption:
        adapter = get_adapter("VN-VSS")
        allowed = self.agreement.exit_routes.vn_one_time.allowed_on_emigration.value
        claim = Claim(claim_month=current, reason="emigrating", left_country_month=current)
        try:
            if not allowed:
                raise DomainError(ErrorCode.NOT_ELIGIBLE, "not open on emigration",
                                  details={"reasons": ["not open on emigration"]})
            result = adapter.withdrawal(history, claim)[0]
        except DomainError as refused:
            return ClaimOption("vn_one_time", "VN-VSS", "retirement-survivorship", "VN-VSS",
                               None, None, refused=_reasons(refused))
        return ClaimOption("vn_one_time", "VN-VSS", result.scheme, "VN-VSS", result.paid_now,
                           None, basis=dict(result.basis))


def _thai_claim_window_months(month: Month) -> int:
    """The Thai old-age claim window: the fund's dated rule (issue 17 item 5, ADR 0045,
    the rules the page promises), from the month the right arises."""
    return get_adapter("TH-SSO").parameters.at(TH_CLAIM_WINDOW, month)


def _receivable(result: RefundResult) -> Money | None:
    withheld = [p.amount for p in result.payments if p.receivable]
    if not withheld:
        return None
    total = Money.zero(result.gross.currency)
    for amount in withheld:
        total = total + amount
    return total if total.amount_minor else None


def _reasons(refused: DomainError) -> tuple[str, ...]:
    reasons = (refused.details or {}).get("reasons")
    return tuple(str(r) for r in reasons) if isinstance(reasons, list) else (refused.message,)


def _money(minor: int | None, currency: str) -> Money | None:
    return None if minor is None else Money(int(minor), Currency(currency))


def _flow(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "flow": row["flow"], "state": row["state"],
            "host_fund": row["host_fund"], "home_fund": row["home_fund"],
            "scheme": row["scheme"], "destination": row["destination"],
            "source": _money(row["source_minor"], row["source_currency"]),
            "target": _money(row["target_minor"], row["target_currency"]),
            "months": len(json.loads(row["months"] or "[]")),
            "at": datetime.fromtimestamp(row["updated_at_us"] / 1e6, tz=UTC).date()}


def _payment(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "channel": row["channel"], "fund": row["fund"],
            "scheme": row["scheme"],
            "paid": Money(int(row["paid_minor"]), Currency(row["wallet_currency"])),
            "contribution": Money(int(row["contribution_minor"]), Currency(row["home_currency"])),
            "months": json.loads(row["months"]), "receipt": row["receipt"],
            "at": datetime.fromtimestamp(row["paid_at_us"] / 1e6, tz=UTC).date()}
