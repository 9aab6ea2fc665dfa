"""The portability lifecycle: a worker's value moves from a host fund to the home fund.

Owns each flow's states and who may move it (docs/adr/0015-portability-legs.md):

    requested ──approve (host fund)──▶ pending ──acknowledge (home fund)──▶ posted
        └──refuse (host fund)──▶ refused       └──reject (home fund)──▶ voided
    receivable ──approve (refund granted)──▶ pending ...   (the tax refund of a lump sum)

Approval computes the amounts (`flow_amounts.py`: balances, or the fund's lump-sum rule, at the
reference rates with the agreement's rounding) and posts the legs (`settlement/legs.py`) as one
linked *pending* unit; acknowledgement posts them, rejection voids them. A Japanese lump sum
opens its tax-refund flow at once, as `receivable`, so the second cash flow is on record from the
first day and is listed until it is paid. Posting marks the months: `transferred` (they follow
the value home) or `withdrawn` (paid out: never totalised again).

Every step is safe to retry: leg ids derive from the flow id (the engine answers "exists"), and
the state moves by compare-and-set after the ledger has accepted the unit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger.adapters.refunds import Claim
from ledger.db import channels_repo
from ledger.db import portability_repo as repo
from ledger.db.engine import Database
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, FundCode, SchemeCode, get_fund
from ledger.domain.ids import check_id, check_worker_id
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month, PeriodState, month_text
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.flow_amounts import FlowAmounts
from ledger.services.group_commit import GroupCommitter
from ledger.services.pending_posting import Resolution, resolve_all
from ledger.services.posting import Job, Unit, UnitResult, now_us
from ledger.settlement.agreement import Agreement, AgreementKind, TransferRule
from ledger.settlement.legs import (
    Destination,
    Flow,
    payout_leg,
    plan_legs,
    resolution,
)
from ledger.settlement.totalisation import PeriodRecord, Totalisation, totalise


class FlowState(StrEnum):
    REQUESTED = "requested"
    RECEIVABLE = "receivable"  # owed by someone else later (the tax refund): not forgotten
    PENDING = "pending"  # legs reserved in the ledger, awaiting the home fund
    POSTED = "posted"
    VOIDED = "voided"
    REFUSED = "refused"


class Reason(StrEnum):
    RETURN_HOME = "return_home"
    STATUS_CHANGE = "status_change"  # a change of immigration status ended coverage
    CLAIM = "claim"


OPEN_STATES = frozenset({FlowState.REQUESTED, FlowState.RECEIVABLE, FlowState.PENDING})


@dataclass(frozen=True, slots=True)
class FlowRequest:
    worker_id: str
    host_fund: str
    scheme: str
    reason: Reason
    flow: Flow = Flow.TRANSFER
    flow_id: str | None = None
    claim: Claim | None = None  # the facts a lump-sum rule reads


def _claim_json(claim: Claim | None) -> dict[str, Any] | None:
    if claim is None:
        return None
    return {"claim_month": str(claim.claim_month), "age_years": claim.age_years,
            "left_country_month": str(claim.left_country_month)
            if claim.left_country_month else None,
            "entitled_month": str(claim.entitled_month) if claim.entitled_month else None}


class PortabilityService:
    """`fast_acknowledgements=False` sends every acknowledgement through the posting engine:
    the general path the fast one (`pending_posting`, ADR 0024) must equal, which
    tests/differential/test_acknowledgements.py runs beside it on the same batches."""

    def __init__(self, db: Database, committer: GroupCommitter, agreement: Agreement, *,
                 fast_acknowledgements: bool = True) -> None:
        self.db = db
        self.committer = committer
        self.agreement = agreement
        self.amounts = FlowAmounts(db, agreement)
        self.fast_acknowledgements = fast_acknowledgements

    # -- reference rates (the amounts module owns them) -----------------------------------------
    async def set_rate(self, principal: Principal, base: str, quote: str, rate: str,
                       source: str) -> dict[str, Any]:
        return await self.amounts.set_rate(principal, base, quote, rate, source)

    async def rates(self) -> list[dict[str, Any]]:
        return await self.amounts.rates()

    # -- request ----------------------------------------------------------------------------------
    async def request(self, principal: Principal, req: FlowRequest) -> dict[str, Any]:
        worker = check_worker_id(req.worker_id)
        host = get_fund(req.host_fund, field="host_fund")
        host.scheme(req.scheme)
        home = await self.home_fund(worker)
        principal.require(
            principal.kind is PrincipalKind.HUB_OPERATOR
            or (principal.kind is PrincipalKind.WORKER and principal.scope == worker)
            or (principal.kind is PrincipalKind.FUND and principal.scope in (host.code, home)),
            f"request a transfer for {worker}")
        if home == host.code:
            raise DomainError(ErrorCode.NOT_PORTABLE,
                              f"{host.code} is the worker's home fund: nothing crosses a border",
                              field="host_fund")
        destination = self._route(host.code, req.scheme, home, req.flow)
        if req.flow is not Flow.TRANSFER and req.claim is None:
            raise DomainError(ErrorCode.INVALID_INPUT, "a lump sum needs the claim's facts",
                              field="claim")
        await self._no_open_flow(worker, host.code, req.scheme)
        # An id sent, even an empty one, is an id chosen: checked, never replaced.
        flow_id = check_id(req.flow_id if req.flow_id is not None
                           else f"pt-{worker}-{host.code}-{req.scheme}-{req.flow}",
                           "id")
        now = now_us()
        row = {
            "id": flow_id, "worker_id": worker, "flow": req.flow.value,
            "reason": req.reason.value, "host_fund": host.code, "scheme": req.scheme,
            "home_fund": home, "destination": destination.value,
            "state": FlowState.REQUESTED.value, "agreement": self.agreement.name,
            "source_currency": host.currency.value,
            "settlement_currency": self._settlement_currency().value,
            "target_currency": get_fund(home).currency.value, "months": "[]",
            "detail": json.dumps({"claim": _claim_json(req.claim)}),
            "created_at_us": now, "updated_at_us": now,
        }
        if req.flow is Flow.LUMP_SUM:
            # The fund's rule now, so that a late claim (Japan: 24 months after leaving; Thailand:
            # 24 months after the right arose) or a pension due is refused at once, not at approval.
            await self.amounts.refund(row)
        if not await repo.insert_flow(self.db, row):
            raise DomainError(ErrorCode.ID_CONFLICT, f"flow {flow_id} exists", field="id")
        return await self.get(principal, flow_id)

    def _settlement_currency(self) -> Currency:
        assert self.agreement.settlement is not None
        return self.agreement.settlement.currency

    def _route(self, host: str, scheme: str, home: str, flow: Flow) -> Destination:
        """Where the value ends up under the agreement, or NOT_PORTABLE with the reason."""
        agreement = self.agreement
        if agreement.kind is AgreementKind.BASELINE:
            raise DomainError(ErrorCode.NOT_PORTABLE,
                              f"{agreement.name}: no agreement, nothing moves between funds; the "
                              "worker is left with each fund's own exit route",
                              details={"agreement": agreement.name})
        for fund in (host, home):
            if not agreement.is_member(fund):
                raise DomainError(ErrorCode.NOT_PORTABLE,
                                  f"{fund} is not a member of {agreement.name}")
        portable = agreement.portable_scheme(host, scheme)
        if portable is None:
            raise DomainError(ErrorCode.NOT_PORTABLE,
                              f"{host} {scheme} is not portable under {agreement.name}",
                              field="scheme")
        if flow is not Flow.TRANSFER:
            # The fund's own lump sum, routed through the home fund: no agent, no lost refund.
            return Destination.WORKER
        # A transfer request is the worker choosing a route that moves the value (ADR 0047):
        # home when the agreement offers it and the home fund has a scheme to receive it.
        if portable.offers(TransferRule.TRANSFER_TO_HOME_FUND):
            rule = TransferRule.TRANSFER_TO_HOME_FUND
            if not has_pension(home):
                rule = portable.fallback_rule or rule
        elif portable.offers(TransferRule.PAY_WORKER):
            rule = TransferRule.PAY_WORKER
        else:
            rule = TransferRule.KEEP_AND_TOTALISE
        if rule is TransferRule.TRANSFER_TO_HOME_FUND:
            return Destination.MEMBER
        if rule is TransferRule.PAY_WORKER:
            return Destination.WORKER
        raise DomainError(ErrorCode.NOT_PORTABLE,
                          f"{agreement.name} keeps {host} {scheme} where it is and totalises its "
                          "months: a pro-rata pension is paid later", field="scheme")

    async def home_fund(self, worker: str) -> str:
        """The member fund of the worker's country (where a transfer goes)."""
        country = await repo.nationality(self.db, worker)
        if country is None:
            raise DomainError(ErrorCode.UNKNOWN_WORKER, f"no worker {worker}", field="worker_id")
        for fund in FUNDS.values():
            if fund.country == country:
                return fund.code
        raise DomainError(ErrorCode.NOT_PORTABLE, f"no member fund in the worker's country "
                          f"{country}", field="worker_id")

    async def _no_open_flow(self, worker: str, host: str, scheme: str) -> None:
        for row in await repo.flows(self.db, worker_id=worker):
            if (row["host_fund"], row["scheme"]) == (host, scheme) and row["state"] in OPEN_STATES:
                raise DomainError(ErrorCode.FLOW_OPEN,
                                  f"flow {row['id']} for {host} {scheme} is {row['state']}",
                                  details={"flow_id": row["id"]})

    # -- host fund: approve or refuse ---------------------------------------------------------
    async def approve(self, principal: Principal, flow_id: str) -> dict[str, Any]:
        row = await self._row(principal, flow_id)
        _may(principal, row["host_fund"], "approve it (the host fund does)")
        state = FlowState(row["state"])
        _expect(row, state, (FlowState.REQUESTED, FlowState.RECEIVABLE), FlowState.PENDING)
        plan, months, basis = await self.amounts.plan(row)
        legs = plan_legs(plan)
        result = (await self.committer.submit(Job([Unit(legs)])))[0]
        _raise_failed(result)
        detail = {**json.loads(row["detail"]), "legs": [leg.id for leg in legs], "basis": basis}
        values = {"state": FlowState.PENDING.value, "source_minor": plan.travelling.amount_minor,
                  "settlement_minor": plan.settlement.amount_minor,
                  "target_minor": plan.target.amount_minor, "months": json.dumps(months),
                  "detail": json.dumps(detail), "updated_at_us": now_us()}
        if not await repo.move_flow(self.db, flow_id, state.value, values):
            return await self._moved_meanwhile(principal, flow_id, FlowState.PENDING)
        if row["flow"] == Flow.LUMP_SUM.value and basis.get("refund_minor", "0") != "0":
            await self._open_tax_refund(row, int(basis["withheld_minor"]),
                                        int(basis["refund_minor"]),
                                        int(basis["tax_refund_claim_window_months"]))
        return await self.get(principal, flow_id)

    async def refuse(self, principal: Principal, flow_id: str, reason: str) -> dict[str, Any]:
        row = await self._row(principal, flow_id)
        _may(principal, row["host_fund"], "refuse it (the host fund does)")
        _expect(row, FlowState(row["state"]), (FlowState.REQUESTED,), FlowState.REFUSED)
        await self._finish(row, FlowState.REQUESTED, FlowState.REFUSED, reason)
        return await self.get(principal, flow_id)

    # -- home fund: acknowledge or reject -----------------------------------------------------
    async def acknowledge(self, principal: Principal, flow_id: str) -> dict[str, Any]:
        outcome = (await self.acknowledge_many([(principal, flow_id)]))[0]
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    async def acknowledge_many(self, items: Sequence[tuple[Principal, str]]
                               ) -> list[dict[str, Any] | DomainError]:
        """Acknowledge many flows at once (the inbox's batch path): one read, one posting job
        (a unit per flow: its legs posted, the worker paid), one period update per kind, one
        state update. Each flow succeeds or fails on its own; a retry of a posted one is its
        current view."""
        rows = await repo.flows_by_ids(self.db, [flow_id for _, flow_id in items])
        out: list[dict[str, Any] | DomainError] = []
        todo: list[tuple[int, dict[str, Any]]] = []
        for index, (principal, flow_id) in enumerate(items):
            try:
                row = rows.get(flow_id)
                if row is None or not _can_read(principal, row):
                    raise DomainError(ErrorCode.UNKNOWN_FLOW,
                                      f"no portability transfer {flow_id}", field="flow_id")
                _may(principal, row["home_fund"], "acknowledge it (the home fund does)")
                if row["state"] == FlowState.POSTED.value:
                    out.append(render(row))  # a retried acknowledgement: its current view
                    continue
                _expect(row, FlowState(row["state"]), (FlowState.PENDING,), FlowState.POSTED)
                todo.append((index, row))
                out.append({})  # filled in once the ledger has answered
            except DomainError as exc:
                out.append(exc)
        errors = await self._post_acknowledged([row for _, row in todo])
        done = []
        for (index, row), error in zip(todo, errors, strict=True):
            if error is not None:
                out[index] = error
                continue
            done.append(row)
            out[index] = render({**row, "state": FlowState.POSTED.value})
        await repo.mark_posted(self.db, [_period_change(r) for r in done],
                               [r["id"] for r in done], now_us())
        return out

    async def _post_acknowledged(self, rows: list[dict[str, Any]]) -> list[DomainError | None]:
        """Each flow's legs posted and its worker paid: in the ordinary case all at once
        (`pending_posting`), else through the engine, which gives each flow its own result."""
        if not rows:
            return []
        if self.fast_acknowledgements and await resolve_all(
                self.committer.engine, [_resolution(row) for row in rows]):
            return [None] * len(rows)
        results = await self.committer.submit(Job([Unit(_posting(r)) for r in rows],
                                                  atomic=False))
        return [result.error for result in results]

    async def reject(self, principal: Principal, flow_id: str, reason: str) -> dict[str, Any]:
        row = await self._row(principal, flow_id)
        _may(principal, row["home_fund"], "reject it (the home fund does)")
        if row["state"] == FlowState.VOIDED.value:
            return await self.get(principal, flow_id)
        _expect(row, FlowState(row["state"]), (FlowState.PENDING,), FlowState.VOIDED)
        await self._resolve(row, post=False)
        await self._finish(row, FlowState.PENDING, FlowState.VOIDED, reason)
        return await self.get(principal, flow_id)

    async def _resolve(self, row: dict[str, Any], post: bool,
                       extra: Sequence[PlannedTransfer] = ()) -> None:
        legs = json.loads(row["detail"])["legs"]
        unit = Unit([*resolution(legs, post), *extra])
        result = (await self.committer.submit(Job([unit])))[0]
        _raise_failed(result)

    async def _finish(self, row: dict[str, Any], expected: FlowState, to: FlowState,
                      reason: str) -> None:
        if not reason.strip():
            raise DomainError(ErrorCode.INVALID_INPUT, "say why", field="reason")
        detail = {**json.loads(row["detail"]), "reason": reason}
        await repo.move_flow(self.db, row["id"], expected.value, {
            "state": to.value, "detail": json.dumps(detail), "updated_at_us": now_us()})

    async def _moved_meanwhile(self, principal: Principal, flow_id: str,
                               wanted: FlowState) -> dict[str, Any]:
        """Another caller moved the flow first; fine if it got where we were going."""
        current = await self.get(principal, flow_id)
        if current["state"] != wanted.value:
            raise _illegal(current, wanted)
        return current

    async def _open_tax_refund(self, row: dict[str, Any], withheld: int, refund: int,
                               window_months: int) -> None:
        now = now_us()
        paid = Month.parse(json.loads(row["detail"])["claim"]["claim_month"])
        await repo.insert_flow(self.db, {
            **{k: row[k] for k in ("worker_id", "reason", "host_fund", "scheme", "home_fund",
                                   "destination", "agreement", "source_currency",
                                   "settlement_currency", "target_currency")},
            "id": f"{row['id']}-tax-refund", "flow": Flow.TAX_REFUND.value,
            "state": FlowState.RECEIVABLE.value, "months": "[]", "linked_id": row["id"],
            "source_minor": refund,
            "detail": json.dumps({"withheld_minor": str(withheld), "refund_minor": str(refund),
                                  "owed_by": f"{row['host_fund']} tax authority, through a tax "
                                  "agent appointed before leaving",
                                  "claim_by": str(paid.plus(window_months))}),
            "created_at_us": now, "updated_at_us": now,
        })

    # -- reading ------------------------------------------------------------------------------
    async def _row(self, principal: Principal, flow_id: str) -> dict[str, Any]:
        row = await repo.flow(self.db, flow_id)
        if row is None or not _can_read(principal, row):
            raise DomainError(ErrorCode.UNKNOWN_FLOW, f"no portability transfer {flow_id}",
                              field="flow_id")
        return row

    async def get(self, principal: Principal, flow_id: str) -> dict[str, Any]:
        return render(await self._row(principal, flow_id))

    async def find(self, principal: Principal, worker_id: str | None = None,
                   state: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        fund = None
        if principal.kind is PrincipalKind.WORKER:
            worker_id = principal.scope
        elif not principal.sees_everything:
            principal.require(principal.kind is PrincipalKind.FUND, "list transfers")
            fund = principal.scope
        rows = await repo.flows(self.db, worker_id=worker_id, state=state, fund=fund,
                                limit=limit)
        return [render(r) for r in rows]

    async def window_position(self, principal: Principal, window_id: str) -> int:
        """A fund's net in a window from the flows it took part in and the payment channels'
        daily collections for it (ADR 0037): received minus paid."""
        principal.require(principal.kind is PrincipalKind.FUND, "compute a fund's position")
        fund = principal.scope or ""
        flows = sum(amount if home == fund else -amount
                    for _, home, amount in await repo.window_amounts(self.db, fund, window_id))
        channels = sum(amount if payee == fund else -amount if payer == fund else 0
                       for _, payer, payee, amount
                       in await channels_repo.window_obligations(self.db, window_id))
        return flows + channels

    async def receivables(self, principal: Principal, worker_id: str) -> list[dict[str, Any]]:
        """Money still owed to the worker by someone else (the Japanese tax refund)."""
        if principal.kind is PrincipalKind.WORKER:  # find() reads a worker's own flows
            principal.require(principal.scope == worker_id, "read another worker's receivables")
        return await self.find(principal, worker_id, FlowState.RECEIVABLE.value)

    async def totalisation(self, principal: Principal, worker_id: str, as_of: Month,
                           age_years: int | None) -> Totalisation:
        """The worker's periods at every fund, counted under the agreement."""
        worker = check_worker_id(worker_id)
        principal.require(principal.sees_everything or (
            principal.kind is PrincipalKind.WORKER and principal.scope == worker),
            "see a worker's totalisation")
        transferred_to = {}
        for flow in await repo.flows(self.db, worker_id=worker, state=FlowState.POSTED.value):
            for month in json.loads(flow["months"]):
                transferred_to[(flow["host_fund"], flow["scheme"], month)] = flow["home_fund"]
        records = []
        for fund in FUNDS.values():
            _, states = await repo.history_rows(self.db, worker, fund.code)
            for (scheme, month), state in sorted(states.items()):
                if not fund.scheme(scheme).long_term:
                    continue
                period_state = PeriodState(state)
                to = (FundCode(transferred_to[(fund.code, scheme, month)])
                      if period_state is PeriodState.TRANSFERRED else None)
                records.append(PeriodRecord(fund.code, SchemeCode(scheme), Month.from_int(month),
                                            period_state, to))
        return totalise(records, self.agreement.totalisation_policy(), as_of=as_of,
                        age_years=age_years)


# -- helpers --------------------------------------------------------------------------------------


def render(row: dict[str, Any]) -> dict[str, Any]:
    """A flow as the API shows it (amounts as wire money strings)."""
    detail = json.loads(row["detail"])

    def money(amount: int | None, currency: str) -> dict[str, str] | None:
        return None if amount is None else Money(amount, Currency(currency)).to_wire()

    return {
        "id": row["id"], "worker_id": row["worker_id"], "flow": row["flow"],
        "reason": row["reason"], "host_fund": row["host_fund"], "scheme": row["scheme"],
        "home_fund": row["home_fund"], "destination": row["destination"],
        "state": row["state"], "agreement": row["agreement"],
        "source": money(row["source_minor"], row["source_currency"]),
        "settlement": money(row["settlement_minor"], row["settlement_currency"]),
        "target": money(row["target_minor"], row["target_currency"]),
        "months": [month_text(m) for m in json.loads(row["months"])],
        "linked_id": row["linked_id"], "window_id": row["window_id"],
        "legs": detail.get("legs", []), "basis": detail.get("basis", {}),
        "reason_given": detail.get("reason"),
        # A receivable says who owes it and the last month it can be claimed in.
        "owed_by": detail.get("owed_by"), "claim_by": detail.get("claim_by"),
    }


def has_pension(fund: str) -> bool:
    """The fund runs a long-term scheme that can receive a transferred balance."""
    return any(s.long_term and s.operating for s in get_fund(fund).schemes.values())


def _can_read(principal: Principal, row: dict[str, Any]) -> bool:
    if principal.sees_everything:
        return True
    if principal.kind is PrincipalKind.WORKER:
        return bool(principal.scope == row["worker_id"])
    return principal.kind is PrincipalKind.FUND and bool(
        principal.scope in (row["host_fund"], row["home_fund"]))


def _may(principal: Principal, fund: str, what: str) -> None:
    principal.require(principal.kind is PrincipalKind.HUB_OPERATOR or (
        principal.kind is PrincipalKind.FUND and principal.scope == fund), what)


def _illegal(row: dict[str, Any], to: FlowState) -> DomainError:
    return DomainError(ErrorCode.ILLEGAL_FLOW_TRANSITION,
                       f"flow {row['id']} is {row['state']}: it cannot become {to}",
                       details={"from_state": row["state"], "to_state": to.value})


def _expect(row: dict[str, Any], state: FlowState, allowed: Sequence[FlowState],
            to: FlowState) -> None:
    if state not in allowed:
        raise _illegal(row, to)


def _posting(row: dict[str, Any]) -> list[PlannedTransfer]:
    """The acknowledgement's unit: every pending leg posted, then the worker paid if due."""
    unit = _resolution(row)
    return [*resolution(unit.legs, True), *unit.then]


def _resolution(row: dict[str, Any]) -> Resolution:
    """The same unit for the fast path: the legs to post, then the payout if due."""
    then = []
    if row["destination"] == Destination.WORKER.value:
        then = [payout_leg(row["id"], row["worker_id"], row["home_fund"],
                           Money(row["target_minor"], Currency(row["target_currency"])))]
    return Resolution(json.loads(row["detail"])["legs"], True, then)


def _period_change(row: dict[str, Any]) -> tuple[str, str, str, list[int], str]:
    """(worker, fund, scheme, months, new state): transferred home, or paid out (withdrawn)."""
    months = [] if row["flow"] == Flow.TAX_REFUND.value else json.loads(row["months"])
    state = (PeriodState.TRANSFERRED if row["destination"] == Destination.MEMBER.value
             else PeriodState.WITHDRAWN)
    return row["worker_id"], row["host_fund"], row["scheme"], months, state.value


def _raise_failed(result: UnitResult) -> None:
    if result.error is not None:
        raise result.error
