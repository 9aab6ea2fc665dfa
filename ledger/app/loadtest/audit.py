"""The audit after every load test: was everything the ledger acknowledged kept exactly once?

Owns `audit`: it reads the ack logs the Locust processes wrote (`acks/*.ndjson`, one JSON line per
acknowledgement: `{"kind", "id", ...}`) and checks each against the ledger:

- an import answered 201 is stored once, and exactly its accepted rows are booked under it;
- a contribution batch answered 200 has its Idempotency-Key stored once;
- a flow whose acknowledgement was processed is `posted`, once;
- a window settled under load is `settled` and its reconciliation agrees;
- the same id acknowledged twice is a duplicate the client was told about twice;
- a voluntary payment acknowledged (once, or again to a retry or the other tap of a double tap)
  was answered as one payment, is stored once with the amounts its receipt stated, and each month
  it bought is booked as one contribution;
- each channel's day of acknowledged payments, written as the channel's day file from its own
  records, reconciles line by line with the hub's view of that day (the ledger's own
  reconciliation, `ledger/channels/reconcile.py`); `plant` alters one amount first, to show a
  discrepancy is caught and named;
- a past day's file a channel sent under load is stored as reconciled;
- every currency balances (posted debits = posted credits).

A problem names the id and what differs. Items the ledger holds that no client saw acknowledged
(an answer lost on the way) are not errors: nothing was promised for them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ledger.channels.dayfile import DayEntry, EventKind
from ledger.channels.reconcile import Outcome, reconcile
from ledger.db import audit_repo, channels_repo
from ledger.db.engine import Database
from ledger.db.repositories import posted_totals_by_currency
from ledger.domain.money import Money
from ledger.services.channels import payment_contribution_ids

# (channel, day) -> the hub's entries of that business day (`ChannelDayService.hub_entries`)
HubDay = Callable[[str, str], Awaitable[list[DayEntry]]]

PROBLEMS_LISTED = 20


@dataclass(slots=True)
class Check:
    name: str
    checked: int
    problems: list[str] = field(default_factory=list)
    pending: str | None = None  # why it could not be checked in this build

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "checked": self.checked,
                               "ok": None if self.pending else self.ok,
                               "problems": self.problems[:PROBLEMS_LISTED],
                               "problems_total": len(self.problems)}
        if self.pending:
            out["pending"] = self.pending
        return out


@dataclass(slots=True)
class Audit:
    checks: list[Check]
    acknowledged: dict[str, int]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "acknowledged": self.acknowledged,
                "checks": [c.to_dict() for c in self.checks]}


def read_acks(directory: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(directory.glob("*.ndjson")):
        with path.open() as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    # A process killed mid-line: the last line is cut. Anything else is a bug.
                    yield {"kind": "unreadable", "id": f"{path.name}:{number}"}


def _duplicates(kind: str, ids: list[str]) -> list[str]:
    return [f"{kind} {i} acknowledged {n} times" for i, n in Counter(ids).items() if n > 1]


async def audit(db: Database, acks_dir: Path, hub_day: HubDay | None = None,
                plant: bool = False) -> Audit:
    """`hub_day` reads the hub's view of a channel's day (without it, the run's days are not
    reconciled: a check says so); `plant` alters one acknowledged amount before reconciling."""
    acks: dict[str, list[dict[str, Any]]] = {}
    for line in read_acks(acks_dir):
        acks.setdefault(str(line.get("kind")), []).append(line)
    payments = acks.get("payment", [])
    checks = [await _imports(db, acks.get("import", [])),
              await _batches(db, acks.get("batch", [])),
              await _flows(db, acks.get("flow", [])),
              await _windows(db, acks.get("window", [])),
              await _payments(db, payments),
              await _days_of_the_run(payments, hub_day, plant),
              await _past_day_files(db, acks.get("day_file", [])),
              await _balanced(db)]
    unreadable = acks.get("unreadable", [])
    if unreadable:
        checks.append(Check("ack logs readable", len(unreadable),
                            [f"cut line {u['id']}" for u in unreadable]))
    return Audit(checks, {k: len(v) for k, v in sorted(acks.items())})


async def _imports(db: Database, lines: list[dict[str, Any]]) -> Check:
    ids = [str(x["id"]) for x in lines]
    check = Check("declaration imports: each acknowledged file stored once, its rows booked once",
                  len(ids), _duplicates("import", ids))
    stored = await audit_repo.imports_by_id(db, ids)
    for line in lines:
        found = stored.get(str(line["id"]))
        if found is None:
            check.problems.append(f"import {line['id']} acknowledged but not in the ledger")
        elif not found["declared"] == found["rows_accepted"] == int(line["rows"]):
            check.problems.append(
                f"import {line['id']}: acknowledged {line['rows']} rows, stored "
                f"{found['rows_accepted']}, booked {found['declared']}")
    return check


async def _batches(db: Database, lines: list[dict[str, Any]]) -> Check:
    keys = [str(x["id"]) for x in lines]
    check = Check("contribution batches: each acknowledged Idempotency-Key stored once",
                  len(keys), _duplicates("batch", keys))
    found = await audit_repo.idempotency_keys_found(db, keys)
    for key in sorted(set(keys)):
        if found.get(key, 0) != 1:
            check.problems.append(f"batch {key}: {found.get(key, 0)} stored answers")
    return check


async def _flows(db: Database, lines: list[dict[str, Any]]) -> Check:
    ids = [str(x["id"]) for x in lines]
    check = Check("portability flows: each acknowledged flow posted once", len(ids),
                  _duplicates("flow", ids))
    stored = await audit_repo.flows_by_id(db, ids)
    for flow_id in sorted(set(ids)):
        state = stored.get(flow_id, {}).get("state")
        if state != "posted":
            check.problems.append(f"flow {flow_id} acknowledged but {state or 'absent'}")
    return check


async def _windows(db: Database, lines: list[dict[str, Any]]) -> Check:
    ids = [str(x["id"]) for x in lines]
    check = Check("settlement windows closed under load: settled and reconciled", len(ids),
                  _duplicates("window", ids))
    stored = await audit_repo.windows_by_id(db, ids)
    for window_id in sorted(set(ids)):
        row = stored.get(window_id)
        report = json.loads(row["reconciliation"]) if row and row["reconciliation"] else {}
        if row is None or row["state"] != "settled" or not report.get("agrees"):
            check.problems.append(f"window {window_id}: {row and row['state']}, "
                                  f"reconciliation {report.get('agrees')}")
    return check


async def _balanced(db: Database) -> Check:
    totals = await posted_totals_by_currency(db)
    return Check("every currency balanced (posted debits = posted credits)", len(totals),
                 [f"{c}: debits {d} credits {cr}" for c, (d, cr) in sorted(totals.items())
                  if d != cr])


def _money(wire: dict[str, Any]) -> Money:
    return Money.from_wire(wire, "ack")


async def _payments(db: Database, lines: list[dict[str, Any]]) -> Check:
    by_id: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_id.setdefault(str(line["id"]), []).append(line)
    check = Check("voluntary payments: each acknowledged payment one payment, stored once, each "
                  "month booked once", len(by_id))
    stored = await audit_repo.payments_by_id(db, list(by_id))
    expected: dict[str, list[str]] = {}
    for ident, told in sorted(by_id.items()):
        answers = {(t["payment_id"], json.dumps([t["paid"], t["fee"], t["contribution"]]))
                   for t in told}
        if len(answers) > 1:
            check.problems.append(f"payment {ident} answered differently: {sorted(answers)}")
        row = stored.get(ident)
        if row is None:
            check.problems.append(f"payment {ident} acknowledged but not in the ledger")
            continue
        first = told[0]
        if (_money(first["paid"]).amount_minor, _money(first["fee"]).amount_minor,
                _money(first["contribution"]).amount_minor) != (
                row["paid_minor"], row["fee_minor"], row["contribution_minor"]):
            check.problems.append(f"payment {ident}: the receipt said paid {first['paid']}, "
                                  f"the ledger holds {row['paid_minor']}")
        expected[ident] = payment_contribution_ids(row)
    found = await audit_repo.contributions_found(
        db, [c for ids in expected.values() for c in ids])
    for ident, ids in expected.items():
        missing = [c for c in ids if c not in found]
        if missing:
            check.problems.append(f"payment {ident}: months not booked: {missing}")
    return check


def _entry(line: dict[str, Any]) -> DayEntry:
    """The channel's record of an acknowledged payment, as its day file would state it."""
    return DayEntry(str(line["channel_ref"]), EventKind.PAYMENT, str(line["worker_id"]),
                    str(line["fund"]), str(line["scheme"]), _money(line["paid"]),
                    _money(line["fee"]), _money(line["contribution"]))


async def _days_of_the_run(lines: list[dict[str, Any]], hub_day: HubDay | None,
                           plant: bool) -> Check:
    days: dict[tuple[str, str], dict[str, DayEntry]] = {}
    for line in lines:
        days.setdefault((str(line["channel"]), str(line["day"])), {})[
            str(line["channel_ref"])] = _entry(line)
    name = ("channel day files of the run: the channels' records reconcile line by line with "
            "the hub's")
    if hub_day is None:
        return Check(name, 0, pending="no access to the hub's view of the channels' days")
    check = Check(name, len(days))
    planted = plant
    for (channel, day), entries in sorted(days.items()):
        lines_of_day = [replace(e, line=n) for n, e in enumerate(entries.values(), start=2)]
        if planted and lines_of_day:  # one satang (or yen, or sen) more on the first line
            first = lines_of_day[0]
            lines_of_day[0] = replace(first, amount=Money(first.amount.amount_minor + 1,
                                                          first.amount.currency))
            planted = False
        result = reconcile(lines_of_day, await hub_day(channel, day))
        for item in result.discrepancies:
            if item["outcome"] == Outcome.HUB_ONLY.value:
                continue  # booked, its answer never reached the channel: nothing was promised
            fields = "; ".join(f"{k} hub {v['hub']} channel {v['channel']}"
                               for k, v in item.get("fields", {}).items())
            check.problems.append(f"{channel} {day}: {item['outcome']} {item['channel_ref']} "
                                  f"(line {item.get('line')})" + (f": {fields}" if fields
                                                                   else ""))
    return check


async def _past_day_files(db: Database, lines: list[dict[str, Any]]) -> Check:
    check = Check("past days' files sent under load: stored as reconciled", len(lines),
                  _duplicates("day file", [str(x["id"]) for x in lines]))
    for line in lines:
        files = await channels_repo.day_files(db, str(line["channel"]), str(line["day"]))
        mine = [f for f in files if f["file_sha256"] == line["file_sha256"]]
        if not mine or mine[0]["status"] != "reconciled":
            check.problems.append(f"day file {line['id']}: "
                                  f"{mine[0]['status'] if mine else 'not stored'}")
    return check
