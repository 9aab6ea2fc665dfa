"""Settlement windows in the database: close, sign, confirm, post, reconcile.

Owns the life of a window (the transitions are `settlement/windows.py`'s):

1. `close`: under the window's row lock, take every posted flow of the currency that no window
   holds, net them multilaterally (`settlement/netting.py`), and sign one settlement statement
   per participating fund (`settlement.statement`, hub → fund): positions, gross and net volume,
   two-wayness, the payments that realise the positions, and the SHA-256 of the flow list;
2. `confirm`: each fund answers with a signed `settlement.confirmation` naming the statement's
   SHA-256 and the position it computed from its own records; a different view is refused
   (`reconciliation_failed`) and kept out;
3. `settle`: once every participating fund has confirmed, post the settlement unit (each fund's
   position account back by its net, against the hub's settlement account, which nets to zero),
   and write the reconciliation report: per fund, the hub's netting, the fund's confirmed
   position and the ledger's movement for the window must be one number;
4. `abort`: the window's flows wait for the next window.

Payment channels take part like funds (`channel:<code>`, ADR 0037): each reconciled day file
leaves one obligation per fund (the day's net), which the next window to close takes and nets
with the flows. A channel gets no statement to confirm: its reconciled day files are its view,
and the reconciliation report compares that view with the netting and the ledger, as a fund's.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

from ledger import metrics
from ledger.channels.legs import channel_position_account
from ledger.db import channels_repo
from ledger.db import windows_repo as repo
from ledger.db.engine import Database
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.group_commit import GroupCommitter
from ledger.services.posting import Job, Unit, now_us
from ledger.services.signing import HubSigner
from ledger.settlement.canonical import canonicalize
from ledger.settlement.legs import hub_settlement_account, position_account
from ledger.settlement.messages import MessageType, VerifiedMessage, sign_message
from ledger.settlement.netting import NettingResult, net_obligations, payments_via_hub
from ledger.settlement.windows import SettlementWindow, WindowId, WindowState, can_move

STATEMENT_TTL_S = 30 * 24 * 3600


class SettlementService:
    def __init__(self, db: Database, committer: GroupCommitter, signer: HubSigner,
                 funds: Sequence[str]) -> None:
        self.db = db
        self.committer = committer
        self.signer = signer
        self.funds = tuple(funds)  # the agreement's member funds, in netting order

    # -- reading ------------------------------------------------------------------------------
    async def open_window(self, principal: Principal, currency: str) -> dict[str, Any]:
        # The operator's act: the auditor reads everything and changes nothing.
        principal.require(principal.kind is PrincipalKind.HUB_OPERATOR, "open windows")
        window_id = await repo.open_window(self.db, Currency.parse(currency).value, now_us())
        return await self.get(principal, window_id)

    async def get(self, principal: Principal, window_id: str) -> dict[str, Any]:
        row = await self._row(window_id)
        view = _view(row)
        if row["state"] == WindowState.OPEN.value:
            waiting = await repo.unassigned(self.db, row["currency"])
            view["flows_waiting"] = len(waiting)
            view["channel_obligations_waiting"] = await channels_repo.unassigned_obligations(
                self.db, row["currency"])
        if not principal.sees_everything:  # a fund sees its own statement and confirmation
            principal.require(principal.kind is PrincipalKind.FUND, "read windows")
            view["statements"] = {k: v for k, v in view["statements"].items()
                                  if k == principal.scope}
        view["confirmations"] = sorted(c["fund"] for c in await repo.confirmations(
            self.db, window_id))
        return view

    async def find(self, principal: Principal, currency: str | None, limit: int
                   ) -> list[dict[str, Any]]:
        principal.require(principal.sees_everything or principal.kind is PrincipalKind.FUND,
                          "read windows")
        rows = await repo.windows(self.db, currency, limit)
        return [{k: v for k, v in _view(r).items() if k != "statements"} for r in rows]

    async def _row(self, window_id: str) -> dict[str, Any]:
        row = await repo.window(self.db, window_id)
        if row is None:
            raise DomainError(ErrorCode.UNKNOWN_WINDOW, f"no window {window_id}",
                              field="window_id")
        return row

    # -- 1. close -------------------------------------------------------------------------------
    async def close(self, principal: Principal, window_id: str) -> dict[str, Any]:
        principal.require(principal.kind is PrincipalKind.HUB_OPERATOR, "close windows")
        row = await self._row(window_id)
        _require_move(row, WindowState.CLOSED)
        currency = Currency(row["currency"])
        at = int(time.time())

        def decide(obligations: list[repo.Obligation]) -> dict[str, Any]:
            window = _model(row)
            window.add_transfers(o[0] for o in obligations)
            netting = self._net(obligations, currency)
            window.close(netting)
            statements = self._statements(window_id, obligations, netting, at)
            return {"state": window.state.value, "netting": json.dumps(netting.summary()),
                    "statement": json.dumps(statements), "updated_at_us": now_us()}

        values = await repo.close(self.db, window_id, currency.value, decide)
        if values.get("state") != WindowState.CLOSED.value:  # moved meanwhile
            _require_move({**row, "state": values.get("state")}, WindowState.CLOSED)
        await repo.open_window(self.db, currency.value, now_us())  # the next one
        metrics.SETTLEMENT_WINDOWS.labels(WindowState.CLOSED.value).inc()
        return await self.get(principal, window_id)

    def _net(self, obligations: list[repo.Obligation], currency: Currency) -> NettingResult:
        """The member funds in agreement order, then any other participant (a channel, a fund
        a channel collects for that is not a member) in code order."""
        others = sorted({p for o in obligations for p in o[1:3]} - set(self.funds))
        participants = (*self.funds, *others)
        index = {f: i for i, f in enumerate(participants)}
        return net_obligations([index[o[1]] for o in obligations],
                               [index[o[2]] for o in obligations],
                               [o[3] for o in obligations], participants, currency)

    def _statements(self, window_id: str, obligations: list[repo.Obligation],
                    netting: NettingResult, at: int) -> dict[str, str]:
        flows_digest = hashlib.sha256(canonicalize(
            [[o[0], o[1], o[2], str(o[3])] for o in obligations])).hexdigest()
        payments = [{"payer": p.payer, "payee": p.payee, "amount": p.amount.to_wire()}
                    for p in payments_via_hub(netting)]
        body = {"window_id": window_id, "netting": netting.summary(), "payments": payments,
                "flows_sha256": flows_digest}
        participants = [f for f, g_out, g_in in zip(
            netting.funds, netting.gross.sum(axis=1), netting.gross.sum(axis=0), strict=True)
            if (int(g_out) or int(g_in)) and not _is_channel(f)]
        key = self.signer.keyring.current(at)
        return {fund: sign_message(key, aud=fund, typ=MessageType.SETTLEMENT_STATEMENT,
                                   seq=at, body=body, iat=at, ttl_s=STATEMENT_TTL_S)
                for fund in participants}

    # -- 2. confirm -----------------------------------------------------------------------------
    async def confirm(self, principal: Principal, message: VerifiedMessage) -> dict[str, Any]:
        """A fund's signed confirmation (through the inbox); refused unless its view matches."""
        fund = principal.scope or ""
        body = message.body
        window_id = body.get("window_id")
        if not isinstance(window_id, str):
            raise DomainError(ErrorCode.INVALID_INPUT, "body.window_id is required",
                              field="body.window_id")
        row = await self._row(window_id)
        if row["state"] not in (WindowState.CLOSED.value, WindowState.SETTLING.value):
            raise DomainError(ErrorCode.ILLEGAL_WINDOW_TRANSITION,
                              f"window {window_id} is {row['state']}: nothing to confirm",
                              details={"from_state": row["state"], "to_state": "confirmed"})
        statement = json.loads(row["statement"] or "{}").get(fund)
        if statement is None:
            raise DomainError(ErrorCode.FORBIDDEN, f"{fund} has no part in window {window_id}")
        netting = json.loads(row["netting"])
        expected = {"statement_sha256": _sha256(statement),
                    "position_minor": netting["positions_minor"][fund]}
        seen = {k: body.get(k) for k in expected}
        if seen != expected:
            raise DomainError(ErrorCode.RECONCILIATION_FAILED,
                              f"{fund}'s view of window {window_id} differs from the hub's",
                              details={"hub": expected, "fund": seen})
        await repo.save_confirmation(self.db, {
            "window_id": window_id, "fund": fund, "token": message.token,
            "position_minor": int(expected["position_minor"]), "received_at_us": now_us()})
        return {"window_id": window_id, "fund": fund, "confirmed": True}

    # -- 3. settle ------------------------------------------------------------------------------
    async def settle(self, principal: Principal, window_id: str) -> dict[str, Any]:
        principal.require(principal.kind is PrincipalKind.HUB_OPERATOR, "settle windows")
        row = await self._row(window_id)
        if row["state"] == WindowState.SETTLED.value:
            return await self.get(principal, window_id)
        window = _model(row)
        statements = json.loads(row["statement"] or "{}")
        confirmed = {c["fund"]: c for c in await repo.confirmations(self.db, window_id)}
        missing = sorted(set(statements) - set(confirmed))
        if missing:
            raise DomainError(ErrorCode.ILLEGAL_WINDOW_TRANSITION,
                              f"window {window_id} waits for confirmations from "
                              f"{', '.join(missing)}", details={"missing": missing,
                              "from_state": row["state"], "to_state": "settling"})
        if window.state is WindowState.CLOSED:
            window.start_settling()
            await repo.move_window(self.db, window_id, WindowState.CLOSED.value,
                                   {"state": window.state.value, "updated_at_us": now_us()})
        netting = json.loads(row["netting"])
        currency = Currency(row["currency"])
        report = await self._reconcile(window_id, netting, confirmed, currency)
        legs = _settlement_legs(window_id, netting["positions_minor"], currency)
        if legs:  # idempotent: a retried settle finds the legs already posted
            result = (await self.committer.submit(Job([Unit(legs)])))[0]
            if result.error is not None:
                raise result.error
        window.settle()
        if await repo.move_window(self.db, window_id, WindowState.SETTLING.value, {
                "state": window.state.value, "reconciliation": json.dumps(report),
                "updated_at_us": now_us()}):
            metrics.SETTLEMENT_WINDOWS.labels(window.state.value).inc()
        return await self.get(principal, window_id)

    async def _reconcile(self, window_id: str, netting: dict[str, Any],
                         confirmed: dict[str, dict[str, Any]], currency: Currency
                         ) -> dict[str, Any]:
        """Per fund: the hub's netted position, the fund's confirmed one, and the ledger's
        (obligations posted to its position account for the window's flows) — all equal."""
        ledger_view: dict[str, int] = {}
        legs = (await repo.ledger_obligations(self.db, window_id)
                + await channels_repo.ledger_obligations(self.db, window_id))
        for payer, payee, amount in legs:
            ledger_view[payer] = ledger_view.get(payer, 0) - amount
            ledger_view[payee] = ledger_view.get(payee, 0) + amount
        channel_views = await channels_repo.window_channel_views(self.db, window_id)
        funds = []
        for fund, hub in netting["positions_minor"].items():
            fund_view = confirmed.get(fund)
            own = (channel_views.get(fund, 0) if _is_channel(fund)
                   else int(fund_view["position_minor"]) if fund_view else 0)
            views = {"hub": int(hub), "ledger": ledger_view.get(fund, 0), "fund": own}
            if len(set(views.values())) != 1:
                raise DomainError(ErrorCode.RECONCILIATION_FAILED,
                                  f"window {window_id}: {fund} positions differ: {views}",
                                  details={"fund": fund, **views})
            funds.append({"fund": fund, "position": Money(views["hub"], currency).to_wire(),
                          "confirmed": fund_view is not None or _is_channel(fund)})
        return {"window_id": window_id, "agrees": True, "funds": funds,
                "gross_volume_minor": netting["gross_volume_minor"],
                "net_volume_minor": netting["net_volume_minor"],
                "multilateral_saving_pct": netting["multilateral_saving_pct"],
                "two_wayness_pct": netting["two_wayness_pct"]}

    # -- 4. abort -------------------------------------------------------------------------------
    async def abort(self, principal: Principal, window_id: str, reason: str) -> dict[str, Any]:
        principal.require(principal.kind is PrincipalKind.HUB_OPERATOR, "abort windows")
        row = await self._row(window_id)
        window = _model(row)
        window.abort(reason)
        if not await repo.move_window(self.db, window_id, row["state"], {
                "state": window.state.value, "abort_reason": reason,
                "updated_at_us": now_us()}):
            raise DomainError(ErrorCode.ILLEGAL_WINDOW_TRANSITION,
                              f"window {window_id} moved meanwhile; read it again")
        metrics.SETTLEMENT_WINDOWS.labels(window.state.value).inc()
        await repo.release_flows(self.db, window_id)
        return await self.get(principal, window_id)


def _settlement_legs(window_id: str, positions: dict[str, str], currency: Currency
                     ) -> list[PlannedTransfer]:
    """Each fund's position account back by its net, against the hub's settlement account."""
    hub = hub_settlement_account(currency)
    legs = []
    for fund, text in sorted(positions.items()):
        amount = int(text)
        if amount == 0:
            continue
        position = (channel_position_account(fund.removeprefix("channel:"), currency)
                    if _is_channel(fund) else position_account(fund, currency))
        debit, credit = (position, hub) if amount > 0 else (hub, position)
        legs.append(PlannedTransfer(f"settle/{window_id}/{fund}", debit, credit, abs(amount),
                                    currency, code="settlement"))
    return legs


def _is_channel(participant: str) -> bool:
    return participant.startswith("channel:")


def _require_move(row: dict[str, Any], to: WindowState) -> None:
    if not can_move(WindowState(row["state"]), to):
        raise DomainError(ErrorCode.ILLEGAL_WINDOW_TRANSITION,
                          f"window {row['id']} is {row['state']}: it cannot become {to}",
                          details={"from_state": row["state"], "to_state": to.value})


def _model(row: dict[str, Any]) -> SettlementWindow:
    """The pure window at its stored state (its transfer ids are not needed to move it)."""
    return SettlementWindow(WindowId(row["id"]), Currency(row["currency"]),
                            WindowState(row["state"]))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "currency": row["currency"], "state": row["state"],
            "netting": json.loads(row["netting"]) if row["netting"] else None,
            "statements": json.loads(row["statement"]) if row["statement"] else {},
            "reconciliation": json.loads(row["reconciliation"]) if row["reconciliation"]
            else None, "abort_reason": row["abort_reason"],
            "opened_at_us": row["opened_at_us"], "updated_at_us": row["updated_at_us"]}
