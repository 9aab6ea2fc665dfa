"""The audit after every load test: was everything the ledger acknowledged kept exactly once?

Owns `audit`: it reads the ack logs the Locust processes wrote (`acks/*.ndjson`, one JSON line per
acknowledgement: `{"kind", "id", ...}`) and checks each against the ledger:

- an import answered 201 is stored once, and exactly its accepted rows are booked under it;
- a contribution batch answered 200 has its Idempotency-Key stored once;
- a flow whose acknowledgement was processed is `posted`, once;
- a window settled under load is `settled` and its reconciliation agrees;
- the same id acknowledged twice is a duplicate the client was told about twice;
- every currency balances (posted debits = posted credits);
- voluntary payments and the channel day file: pending (payment channels are not in this build).

A problem names the id and what differs. Items the ledger holds that no client saw acknowledged
(an answer lost on the way) are not errors: nothing was promised for them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.db import audit_repo
from ledger.db.engine import Database
from ledger.db.repositories import posted_totals_by_currency

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


async def audit(db: Database, acks_dir: Path) -> Audit:
    acks: dict[str, list[dict[str, Any]]] = {}
    for line in read_acks(acks_dir):
        acks.setdefault(str(line.get("kind")), []).append(line)
    checks = [await _imports(db, acks.get("import", [])),
              await _batches(db, acks.get("batch", [])),
              await _flows(db, acks.get("flow", [])),
              await _windows(db, acks.get("window", [])),
              await _balanced(db),
              Check("voluntary payments: each acknowledged payment exactly once", 0,
                    pending="POST /v1/channels/{channel}/payments is not in this build"),
              Check("channel day file reconciled", 0,
                    pending="channel day files are not in this build")]
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
