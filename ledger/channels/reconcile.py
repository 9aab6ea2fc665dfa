"""Reconciling a channel's day file with the hub's ledger, line by line.

Each event (channel reference and kind) ends in exactly one outcome:

- `matched`: on both sides with the same worker, fund, scheme and amounts;
- `channel_only`: in the channel's file, not in the hub's ledger (a worker may have been
  charged for cover the hub never booked: the channel must act);
- `hub_only`: in the hub's ledger, not in the file (acknowledged and receipted to the worker:
  the channel owes it all the same);
- `amount_differs`: on both sides, an amount (paid, fee or contribution) differs;
- `details_differ`: on both sides, the worker, fund or scheme differs.

Every discrepancy is listed with the file's line and the differing fields (hub and channel
values). The net per fund is the hub's (the ledger is what workers were credited and
receipted): contributions of the day's payments less those of its reversals and refunds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ledger.channels.dayfile import DayEntry, EventKind
from ledger.domain.money import Currency, Money


class Outcome(StrEnum):
    MATCHED = "matched"
    CHANNEL_ONLY = "channel_only"
    HUB_ONLY = "hub_only"
    AMOUNT_DIFFERS = "amount_differs"
    DETAILS_DIFFER = "details_differ"


_AMOUNTS = ("amount", "fee", "contribution")
_DETAILS = ("worker_id", "fund", "scheme")


@dataclass(slots=True)
class Reconciliation:
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    discrepancies: list[dict[str, Any]] = field(default_factory=list)
    net_by_fund: dict[str, Money] = field(default_factory=dict)

    @property
    def agrees(self) -> bool:
        return not self.discrepancies

    def summary(self) -> dict[str, Any]:
        return {"status": "reconciled" if self.agrees else "discrepancies",
                "counts": {o.value: n for o, n in self.counts.items()},
                "discrepancies": self.discrepancies,
                "net_by_fund": {f: m.to_wire() for f, m in sorted(self.net_by_fund.items())}}


def reconcile(lines: list[DayEntry], hub: list[DayEntry]) -> Reconciliation:
    result = Reconciliation()
    ours = {e.key: e for e in hub}
    theirs = {e.key: e for e in lines}
    for entry in lines:
        found = ours.get(entry.key)
        if found is None:
            _note(result, Outcome.CHANNEL_ONLY, entry, None)
            continue
        amounts = _differences(found, entry, _AMOUNTS)
        details = _differences(found, entry, _DETAILS)
        if details:
            _note(result, Outcome.DETAILS_DIFFER, entry, {**details, **amounts})
        elif amounts:
            _note(result, Outcome.AMOUNT_DIFFERS, entry, amounts)
        else:
            result.counts[Outcome.MATCHED] += 1
    for entry in hub:
        if entry.key not in theirs:
            _note(result, Outcome.HUB_ONLY, entry, None)
    result.net_by_fund = net_by_fund(hub)
    return result


def net_by_fund(entries: list[DayEntry]) -> dict[str, Money]:
    """Contributions of payments less those taken back, per fund (its currency)."""
    net: dict[str, int] = defaultdict(int)
    currency: dict[str, Currency] = {}
    for entry in entries:
        sign = 1 if entry.kind is EventKind.PAYMENT else -1
        net[entry.fund] += sign * entry.contribution.amount_minor
        currency[entry.fund] = entry.contribution.currency
    return {fund: Money(amount, currency[fund]) for fund, amount in net.items()}


def _differences(hub: DayEntry, channel: DayEntry, names: tuple[str, ...]
                 ) -> dict[str, dict[str, Any]]:
    out = {}
    for name in names:
        ours, theirs = getattr(hub, name), getattr(channel, name)
        if ours != theirs:
            out[name] = {"hub": _wire(ours), "channel": _wire(theirs)}
    return out


def _wire(value: object) -> object:
    return value.to_wire() if isinstance(value, Money) else value


def _note(result: Reconciliation, outcome: Outcome, entry: DayEntry,
          fields: dict[str, dict[str, Any]] | None) -> None:
    result.counts[outcome] += 1
    item: dict[str, Any] = {"outcome": outcome.value, "channel_ref": entry.channel_ref,
                            "kind": entry.kind.value}
    if entry.line is not None:
        item["line"] = entry.line
    if outcome is Outcome.HUB_ONLY:
        item["hub"] = dict(zip(("worker_id", "fund", "scheme", "amount", "fee", "contribution"),
                               (entry.worker_id, entry.fund, entry.scheme,
                                entry.amount.to_wire(), entry.fee.to_wire(),
                                entry.contribution.to_wire()), strict=True))
    if fields:
        item["fields"] = fields
    result.discrepancies.append(item)
