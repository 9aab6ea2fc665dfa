"""What the database must hold after a crash run, read straight from its tables:

1. every acknowledged operation is present exactly once, with the accounts and amount sent;
   a refused one not at all; one whose answer never came at most once; none applied twice;
2. nothing under the run's ids that no client sent;
3. every account's balances equal the replay of the journal (the sum of its transfers);
4. every currency sums to zero (posted debits = posted credits over all accounts);
5. the balance flags held (debits within credits, or credits within debits, where an account
   says so).

The control run (new ids and keys on every retry) must fail check 1: `tests/e2e/
test_crash_retry.py` asserts that it does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from ledger.db.engine import Database
from tools.crashtest.workload import Op

PROBLEMS_KEPT = 20


@dataclass(slots=True)
class Check:
    name: str
    checked: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "checked": self.checked, "ok": self.ok,
                "problems": self.problems[:PROBLEMS_KEPT], "problems_total": len(self.problems)}


@dataclass(slots=True)
class Verdict:
    checks: list[Check]
    counts: dict[str, int]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name_start: str) -> Check:
        return next(c for c in self.checks if c.name.startswith(name_start))

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts, "checks": [c.to_dict() for c in self.checks]}


async def check_run(db: Database, ops: list[Op], prefix: str) -> Verdict:
    transfers, contributions = await _stored(db, prefix)
    counts = Counter(op.outcome for op in ops)
    checks = [_exactly_once(ops, transfers, contributions),
              _nothing_unsent(ops, transfers, contributions),
              *await _replay_and_flags(db)]
    return Verdict(checks, {"operations": len(ops), **counts,
                            "applied": sum(1 for op in ops if _applied(op, transfers,
                                                                        contributions))})


async def _stored(db: Database, prefix: str
                  ) -> tuple[dict[str, tuple[int, int, int]], set[str]]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT id, debit_account_id, credit_account_id, amount_minor FROM transfers "
            "WHERE id LIKE :p"), {"p": f"{prefix}-t%"})).all()
        found = (await conn.execute(text("SELECT id FROM contributions WHERE id LIKE :p"),
                                    {"p": f"{prefix}-c%"})).all()
    return ({r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}, {r[0] for r in found})


def _applied(op: Op, transfers: dict[str, tuple[int, int, int]], contributions: set[str]
             ) -> int:
    stored = transfers if op.kind == "transfer" else contributions
    return sum(1 for ident in set(op.attempts) if ident in stored)


def _exactly_once(ops: list[Op], transfers: dict[str, tuple[int, int, int]],
                  contributions: set[str]) -> Check:
    check = Check("each operation applied once if acknowledged, never if refused, at most once "
                  "if its answer was lost", len(ops))
    for op in ops:
        applied = _applied(op, transfers, contributions)
        if applied > 1:
            check.problems.append(f"{op.name} ({op.kind}, {op.outcome}) applied {applied} "
                                  "times")
        elif op.outcome == "acknowledged" and applied == 0:
            check.problems.append(f"{op.name} ({op.kind}) acknowledged but not in the ledger")
        elif op.outcome == "refused" and applied:
            check.problems.append(f"{op.name} ({op.kind}) refused ({op.detail[:60]}) but "
                                  "applied")
        if op.kind == "transfer" and op.outcome == "acknowledged":
            for ident in set(op.attempts) & transfers.keys():
                if transfers[ident] != (op.debit_account_id, op.credit_account_id,
                                        op.amount_minor):
                    check.problems.append(f"{ident}: stored {transfers[ident]}, sent "
                                          f"{(op.debit_account_id, op.credit_account_id)} "
                                          f"{op.amount_minor}")
    return check


def _nothing_unsent(ops: list[Op], transfers: dict[str, tuple[int, int, int]],
                    contributions: set[str]) -> Check:
    sent = {ident for op in ops for ident in op.attempts}
    stored = transfers.keys() | contributions
    return Check("nothing under the run's ids that no client sent", len(stored),
                 [f"{ident} stored, never sent" for ident in sorted(stored - sent)])


_REPLAY = """
SELECT a.id, a.currency, a.flags, a.debits_pending, a.debits_posted, a.credits_pending,
       a.credits_posted, coalesce(d.total, 0), coalesce(c.total, 0)
FROM accounts a
LEFT JOIN (SELECT debit_account_id AS id, sum(amount_minor) AS total FROM transfers
           WHERE flags = 0 GROUP BY debit_account_id) d ON d.id = a.id
LEFT JOIN (SELECT credit_account_id AS id, sum(amount_minor) AS total FROM transfers
           WHERE flags = 0 GROUP BY credit_account_id) c ON c.id = a.id
"""


async def _replay_and_flags(db: Database) -> list[Check]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(_REPLAY))).all()
        others = int((await conn.execute(text(
            "SELECT count(*) FROM transfers WHERE flags <> 0"))).scalar_one())
    replay = Check("every balance equals the replay of the journal", len(rows))
    if others:
        replay.problems.append(f"{others} pending or resolving transfers: this replay knows "
                               "plain posted transfers only")
    totals: dict[str, list[int]] = {}
    flags = Check("balance flags held", sum(1 for r in rows if int(r[2]) & 3))
    for (ident, currency, flag, d_pending, d_posted, c_pending, c_posted, d_replay,
         c_replay) in rows:
        if (int(d_posted), int(c_posted), int(d_pending), int(c_pending)) != (
                int(d_replay), int(c_replay), 0, 0):
            replay.problems.append(f"account {ident}: debits {d_posted} credits {c_posted} "
                                   f"(pending {d_pending}/{c_pending}); the journal says "
                                   f"{d_replay} and {c_replay}")
        sums = totals.setdefault(str(currency), [0, 0])
        sums[0] += int(d_posted)
        sums[1] += int(c_posted)
        if int(flag) & 1 and int(d_pending) + int(d_posted) > int(c_posted):
            flags.problems.append(f"account {ident}: debits {d_posted} exceed credits "
                                  f"{c_posted}")
        if int(flag) & 2 and int(c_pending) + int(c_posted) > int(d_posted):
            flags.problems.append(f"account {ident}: credits {c_posted} exceed debits "
                                  f"{d_posted}")
    zero = Check("every currency sums to zero", len(totals),
                 [f"{c}: debits {d} credits {cr}" for c, (d, cr) in sorted(totals.items())
                  if d != cr])
    return [replay, zero, flags]
