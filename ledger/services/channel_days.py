"""A channel's business day: the hub's view of it, the channel's day file reconciled against it,
the net per fund that becomes an obligation for the next settlement window, and the balances of
the channel's accounts.

Once a day is over (plus `DAY_FILE_GRACE_S`), the channel sends its day file; nothing of a file
with a bad line is kept (`day_file_rejected`, every bad line listed). A good file is reconciled
line by line (`ledger/channels/reconcile.py`) and its report kept; re-sending the same bytes
returns that report. The first file of a day also books the day's obligations: per fund, the
net the hub's ledger holds for the day (what workers were credited and receipted, whatever the
file says), converted into the settlement currency at the reference rate with the agreement's
rounding, as one linked unit of position legs (channel → fund), with their rows. A window that
closes afterwards takes them (`ledger/services/settlement.py`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from datetime import date
from fractions import Fraction
from typing import Any

from ledger.channels.dayfile import DayEntry, EventKind, parse_day_file, render_day_file
from ledger.channels.legs import channel_position_account
from ledger.channels.reconcile import reconcile
from ledger.channels.registry import Channel
from ledger.db import channels_repo as repo
from ledger.db import portability_repo
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.principals import Principal
from ledger.limits import DAY_FILE_GRACE_S
from ledger.services.channels import ChannelService, payment_contribution_ids
from ledger.services.posting import Job, Unit
from ledger.settlement.legs import position_account
from ledger.settlement.rounding import round_ratio


class ChannelDayService:
    def __init__(self, channels: ChannelService) -> None:
        self.channels = channels
        self.db = channels.db

    async def hub_entries(self, channel: Channel, day: date) -> list[DayEntry]:
        """The day as the hub's ledger holds it: payments, reversals and refunds."""
        text = day.isoformat()
        out = []
        for row in await repo.payments_of_day(self.db, channel.code, text):
            wallet, home = Currency(row["wallet_currency"]), Currency(row["home_currency"])
            out.append(DayEntry(row["channel_ref"], EventKind.PAYMENT, row["worker_id"],
                                row["fund"], row["scheme"], Money(row["paid_minor"], wallet),
                                Money(row["fee_minor"], wallet),
                                Money(row["contribution_minor"], home)))
        for row in await repo.events_of_day(self.db, channel.code, text):
            wallet, home = Currency(row["wallet_currency"]), Currency(row["home_currency"])
            out.append(DayEntry(row["channel_ref"], EventKind(row["kind"]), row["worker_id"],
                                row["fund"], row["scheme"], Money(row["amount_minor"], wallet),
                                Money(row["fee_minor"], wallet),
                                Money(row["contribution_minor"], home)))
        return out

    async def hub_file(self, principal: Principal, code: str, day: str) -> str:
        """The hub's view of a day in the day file's own format."""
        channel = self.channels.channel(principal, code, write=False)
        return render_day_file(await self.hub_entries(channel, _day(day)))

    async def receive(self, principal: Principal, code: str, day: str, data: bytes
                      ) -> dict[str, Any]:
        channel = self.channels.channel(principal, code, write=True)
        when = _day(day)
        _, end_us = channel.day_bounds_us(when)
        if self.channels.clock() < end_us + DAY_FILE_GRACE_S * 1_000_000:
            raise DomainError(ErrorCode.DAY_NOT_OVER,
                              f"{code}'s day {when} is not over (its file is taken "
                              f"{DAY_FILE_GRACE_S} s after the day ends)", field="day")
        lines = parse_day_file(data)
        digest = hashlib.sha256(data).hexdigest()
        for earlier in await repo.day_files(self.db, code, when.isoformat()):
            if earlier["file_sha256"] == digest:
                return {**json.loads(earlier["report"]), "replayed": True}
        hub = await self.hub_entries(channel, when)
        await self._withdraw_undone(channel, when)
        result = reconcile(lines, hub)
        obligations = await self._obligations(channel, when, result.net_by_fund)
        report = {"channel": code, "day": when.isoformat(), "file_sha256": digest,
                  "lines": len(lines), **result.summary(), "obligations": obligations}
        await repo.insert_day_file(self.db, {
            "channel": code, "day": when.isoformat(), "file_sha256": digest,
            "lines": len(lines), "status": report["status"], "report": json.dumps(report),
            "received_at_us": self.channels.clock()})
        return {**report, "replayed": False}

    async def report(self, principal: Principal, code: str, day: str) -> dict[str, Any]:
        """The latest reconciliation of a day, and its obligations."""
        self.channels.channel(principal, code, write=False)
        when = _day(day)
        files = await repo.day_files(self.db, code, when.isoformat())
        if not files:
            raise DomainError(ErrorCode.NOT_FOUND, f"no day file of {code} for {when}",
                              field="day")
        report: dict[str, Any] = json.loads(files[0]["report"])
        report["obligations"] = [_obligation_view(o) for o in
                                 await repo.obligations_of_day(self.db, code, when.isoformat())]
        report["files_received"] = len(files)
        return report

    async def _withdraw_undone(self, channel: Channel, when: date) -> None:
        """Months of the day's reversed or refunded payments no longer count (normally done
        at once; this repairs a process that stopped in between)."""
        for row in await repo.events_of_day(self.db, channel.code, when.isoformat()):
            await repo.withdraw_periods(self.db, payment_contribution_ids(row))

    async def _obligations(self, channel: Channel, when: date, net: dict[str, Money]
                           ) -> list[dict[str, Any]]:
        existing = await repo.obligations_of_day(self.db, channel.code, when.isoformat())
        if existing:  # the day is closed: its obligations were fixed by its first file
            return [_obligation_view(o) for o in existing]
        settlement = self.channels.agreement.settlement
        assert settlement is not None  # an agreement with channels settles
        target = settlement.currency
        legs: list[PlannedTransfer] = []
        rows = []
        for fund, amount in sorted(net.items()):
            if amount.amount_minor == 0:
                continue
            ratio, rate_text = await self._to_settlement(amount.currency, target)
            converted = _convert(amount.amount_minor, ratio, settlement.fx.rounding)
            if converted == 0:
                continue
            obligation_id = f"chs/{channel.code}/{when.isoformat()}/{fund}"
            owes, owed = (channel_position_account(channel.code, target),
                          position_account(fund, target))
            debit, credit = (owes, owed) if converted > 0 else (owed, owes)
            legs.append(PlannedTransfer(obligation_id, debit, credit, abs(converted), target,
                                        code="channel.obligation"))
            rows.append(("channel_obligations", {
                "id": obligation_id, "channel": channel.code, "day": when.isoformat(),
                "fund": fund, "home_currency": amount.currency.value,
                "net_minor": amount.amount_minor, "settlement_currency": target.value,
                "settlement_minor": converted, "rate": rate_text, "window_id": None,
                "created_at_us": self.channels.clock()}))
        if legs:
            (result,) = await self.channels.committer.submit(
                Job([Unit(legs)], atomic=True, rows=tuple(rows)))
            if result.error is not None:
                raise result.error
        return [_obligation_view(o) for o in
                await repo.obligations_of_day(self.db, channel.code, when.isoformat())]

    async def _to_settlement(self, home: Currency, target: Currency) -> tuple[Fraction, str]:
        """Settlement minor units per home minor unit, exactly, from the reference rates (the
        hub keeps USD/VND, so the inverse of that is used when VND/USD is not set)."""
        scale = Fraction(10) ** (target.exponent - home.exponent)
        direct = await portability_repo.fx_rate(self.db, home.value, target.value)
        if direct is not None:
            return Fraction(direct["rate"]) * scale, str(direct["rate"])
        inverse = await portability_repo.fx_rate(self.db, target.value, home.value)
        if inverse is None:
            raise DomainError(ErrorCode.FX_RATE_MISSING,
                              f"no reference rate {target}/{home}: PUT /v1/fx-rates/{target}/"
                              f"{home}", details={"base": target.value, "quote": home.value})
        return scale / Fraction(inverse["rate"]), f"1/{inverse['rate']}"

    async def balances(self, principal: Principal, code: str) -> dict[str, Any]:
        """Each of the channel's accounts, its sub-accounts summed (ADR 0036)."""
        self.channels.channel(principal, code, write=False)
        families: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        meta: dict[str, tuple[str, str | None]] = {}
        for row in await repo.family_balances(self.db, code):
            family = _family(row["key"])
            meta[family] = (row["currency"], row["fund"])
            for name in ("debits_posted", "credits_posted", "debits_pending",
                         "credits_pending"):
                families[family][name] += int(row[name])
        out = []
        for family, sums in sorted(families.items()):
            currency, fund = meta[family]
            out.append({"account": family, "fund": fund, "currency": currency,
                        "debits_posted": str(sums["debits_posted"]),
                        "credits_posted": str(sums["credits_posted"]),
                        "balance": Money(sums["debits_posted"] - sums["credits_posted"],
                                         Currency(currency)).to_wire()})
        return {"channel": code, "accounts": out,
                "note": "balance = posted debits - posted credits, summed over sub-accounts"}


def _convert(amount_minor: int, ratio: Fraction, rounding: Rounding) -> int:
    """Round |amount| × ratio, keep the sign (a net refund converts like a net payment)."""
    value = abs(amount_minor) * ratio
    rounded = round_ratio(value.numerator, value.denominator, rounding)
    return rounded if amount_minor >= 0 else -rounded


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _family(key: str) -> str:
    head, _, tail = key.rpartition("/")
    return head if len(tail) == 3 and tail[0] == "s" and tail[1:].isdigit() else key


def _day(text: str) -> date:
    try:
        # Only YYYY-MM-DD, as the API document says: fromisoformat also takes 20250801.
        if not isinstance(text, str) or not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise DomainError(ErrorCode.INVALID_INPUT, f"day must be YYYY-MM-DD, got {text!r}",
                          field="day") from None


def _obligation_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "fund": row["fund"],
            "net": Money(row["net_minor"], Currency(row["home_currency"])).to_wire(),
            "settlement": Money(row["settlement_minor"],
                                Currency(row["settlement_currency"])).to_wire(),
            "rate": row["rate"], "window_id": row["window_id"]}
