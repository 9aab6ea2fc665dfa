"""The tamper-evident journal (issue 16 item 2, ADR 0050): sealing, proofs and the audit.

- `seal_once` appends the transfers committed since the last seal to the Merkle log, in seq
  order up to the store's horizon (`journal_repo`), and signs the new tree head with the hub's
  key. It runs off the posting path: a background task of each server (`run_sealer`, every
  CLMTV_JOURNAL_SEAL_INTERVAL_S), `clmtv audit seal`, or the demo. Sealers in several processes
  take turns (an advisory lock on PostgreSQL, the write lock on SQLite).
- `inclusion` and `consistency` build the proof documents funds fetch and check offline
  (`ledger.settlement.journal.check_document`, `clmtv audit check`).
- `audit` recomputes every leaf from the transfers as they are now and compares: the tree heads'
  signatures, the stored leaves against every signed root, every transfer against its leaf. It
  names the first transfer edited, deleted, inserted or moved, whatever triggers were disabled.

One service per log (`journal_repo.Log`, ADR 0059): the transfers', and the period state
changes'. The period log's audit also compares `insurance_periods` as it is now with the changes
recorded for each period: a period whose state, kind, contribution or creation differs from what
its changes say was edited; one without any change was inserted; changes without their period
mean it was deleted.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.db import journal_repo as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.services.signing import HubSigner
from ledger.settlement import merkle
from ledger.settlement.journal import (
    PERIODS,
    ProofInvalid,
    TreeHead,
    period_document,
    period_leaf_hash,
    transfer_document,
    transfer_leaf_hash,
    verify_tree_head,
)
from ledger.settlement.keys import TrustRegistry
from ledger.settlement.messages import MessageRejected

log = logging.getLogger("clmtv.journal")
SEAL_BATCH_MAX = 50_000  # leaves per seal: a backlog is sealed in several steps


def _now_us() -> int:
    return time.time_ns() // 1_000


def _edge(blob: bytes) -> list[bytes]:
    return [blob[i:i + merkle.HASH_BYTES] for i in range(0, len(blob), merkle.HASH_BYTES)]


@dataclass(frozen=True, slots=True)
class Finding:
    """One way the database differs from what was sealed."""

    # edited | deleted | inserted | reordered | log_altered | tree_head_invalid | rewritten
    kind: str
    position: int  # the leaf (or the place in the log) where it shows
    transfer_id: str | None
    detail: str

    def line(self) -> str:
        return f"leaf {self.position}: {self.kind}: {self.detail}"


@dataclass(slots=True)
class AuditReport:
    tree_size: int = 0
    last_seq: int = 0
    tree_heads: int = 0
    transfers_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.position) if self.findings else None

    def to_dict(self) -> dict[str, Any]:
        first = self.first
        return {"ok": self.ok, "tree_size": self.tree_size, "last_seq": self.last_seq,
                "tree_heads": self.tree_heads, "transfers_checked": self.transfers_checked,
                "first": None if first is None else {
                    "kind": first.kind, "leaf": first.position,
                    "transfer_id": first.transfer_id, "detail": first.detail},
                "findings": [f.line() for f in sorted(self.findings,
                                                      key=lambda f: f.position)[:50]],
                "findings_total": len(self.findings)}


def _leaf_hash(log: repo.Log, fields: tuple[Any, ...]) -> bytes:
    return period_leaf_hash(fields) if log.name == PERIODS else transfer_leaf_hash(fields)


class JournalService:
    def __init__(self, db: Database, signer: HubSigner | None,
                 log: repo.Log = repo.TRANSFERS) -> None:
        """`signer` may be None for a verifier that holds only the hub's public keys."""
        self.db = db
        self.signer = signer
        self.log = log
        self.seals_made = 0
        self.backlog = False  # the last seal stopped at SEAL_BATCH_MAX: more is waiting
        self.horizon_wait_s = repo.HORIZON_WAIT_S

    # -- sealing ---------------------------------------------------------------------------------

    async def seal_once(self, batch_max: int = SEAL_BATCH_MAX) -> repo.SealRow | None:
        """Seal what was committed since the last seal; the new seal, or None when there was
        nothing to seal (or another process is sealing)."""
        if self.signer is None:
            raise RuntimeError("sealing needs the hub's signing key")
        signer = self.signer
        horizon = (await repo.pg_horizon(self.db, self.horizon_wait_s, self.log)
                   if self.db.is_postgres else None)
        if self.db.is_postgres and horizon is None:
            return None
        async with repo.sealing(self.db, self.log) as tx:
            if tx is None:
                return None
            last = await tx.last_seal()
            upto = horizon if horizon is not None else await tx.max_seq()
            after = last.last_seq if last else 0
            rows = await tx.transfers_between(after, upto, batch_max)
            if not rows:
                return None
            tree = merkle.CompactTree(last.tree_size, _edge(last.edge)) if last else \
                merkle.CompactTree()
            leaves = []
            for row in rows:
                leaf = _leaf_hash(self.log, row)
                leaves.append(repo.LeafRow(tree.size, row[0], row[1], leaf))
                tree.append(leaf)
            self.backlog = len(rows) == batch_max
            last_seq = rows[-1][0] if self.backlog else upto
            root, now = tree.root(), _now_us()
            token = signer.sign_tree_head(tree.size, root, last_seq, now, self.log.name)
            seal = repo.SealRow(tree.size, root, last_seq, b"".join(tree.edge), token, now,
                                repo.encode_leaves(leaves))
            await tx.append(seal)
        self.seals_made += 1
        return seal

    async def seal_all(self) -> list[repo.SealRow]:
        """Seal until the backlog is gone (one seal takes at most SEAL_BATCH_MAX leaves)."""
        made = []
        while (seal := await self.seal_once()) is not None:
            made.append(seal)
            if not self.backlog:
                break
        return made

    async def run_sealer(self, interval_s: float) -> None:
        """Seal every `interval_s` seconds until cancelled; a failure (the database restarting)
        is logged and tried again at the next tick, never raised."""
        while True:
            try:
                await self.seal_all()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the sealer outlives any one failure
                log.warning("journal sealing failed, retrying in %.1f s: %s", interval_s, exc)
            await asyncio.sleep(interval_s)

    # -- reading and proving ---------------------------------------------------------------------

    def _head(self, seal: repo.SealRow) -> dict[str, Any]:
        return {"tree_size": seal.tree_size, "root_hash": seal.root_hash.hex(),
                "last_seq": seal.last_seq, "sealed_at_us": str(seal.sealed_at_us),
                "token": seal.token}

    async def tree_heads(self, after_size: int, limit: int) -> list[dict[str, Any]]:
        return [self._head(s) for s in await repo.seals(self.db, after_size, limit,
                                                         log=self.log)]

    async def latest(self) -> dict[str, Any]:
        seal = await repo.latest_seal(self.db, self.log)
        if seal is None:
            raise DomainError(ErrorCode.NOT_SEALED_YET, "no tree head has been sealed yet")
        return self._head(seal)

    async def _seal(self, tree_size: int | None, name: str) -> repo.SealRow:
        seal = (await repo.latest_seal(self.db, self.log) if tree_size is None
                else await repo.seal_of_size(self.db, tree_size, self.log))
        if seal is None:
            if tree_size is None:
                raise DomainError(ErrorCode.NOT_SEALED_YET, "no tree head has been sealed yet")
            raise DomainError(ErrorCode.INVALID_INPUT, f"no tree head of size {tree_size}",
                              field=name)
        return seal

    async def inclusion(self, transfer_id: str, tree_size: int | None) -> dict[str, Any]:
        """That transfer (or period change) `transfer_id`, as stored now, is a leaf of a signed
        tree. One not sealed yet is sealed now (with the latest tree head asked for)."""
        noun = self.log.noun
        leaf = await repo.leaf_of_transfer(self.db, transfer_id, self.log)
        if leaf is None and tree_size is None and self.signer is not None:
            await self.seal_all()
            leaf = await repo.leaf_of_transfer(self.db, transfer_id, self.log)
        if leaf is None:
            if self.log.name == PERIODS and await repo.seq_of_transfer(
                    self.db, transfer_id, self.log) is None:
                raise DomainError(ErrorCode.NOT_FOUND, f"no period change {transfer_id}")
            raise DomainError(ErrorCode.NOT_SEALED_YET,
                              f"{noun} {transfer_id} is not in a sealed tree head yet")
        seal = await self._seal(tree_size, "tree_size")
        if leaf.position >= seal.tree_size:
            raise DomainError(ErrorCode.NOT_SEALED_YET, f"{noun} {transfer_id} is leaf "
                              f"{leaf.position}, beyond the tree of size {seal.tree_size}",
                              field="tree_size")
        fields = await repo.transfer_at(self.db, leaf.transfer_seq, self.log)
        if fields is None:
            raise DomainError(ErrorCode.UNKNOWN_TRANSFER, f"{noun} {transfer_id} is sealed "
                              "but no longer stored: run `clmtv audit verify`")
        hashes = await repo.leaf_hashes(self.db, seal.tree_size, self.log)
        path = [h.hex() for h in merkle.inclusion_proof(hashes, leaf.position)]
        if self.log.name == PERIODS:
            return {"kind": "inclusion", "log": PERIODS, "tree_head": seal.token,
                    "tree_size": seal.tree_size, "leaf_index": leaf.position,
                    "period_change": period_document(fields),
                    "audit_path": path}
        return {"kind": "inclusion", "tree_head": seal.token, "tree_size": seal.tree_size,
                "leaf_index": leaf.position, "transfer": transfer_document(fields),
                "audit_path": path}

    async def consistency(self, first: int | None, second: int | None) -> dict[str, Any]:
        """That the tree of size `first` (default: the oldest head) is a prefix of the tree of
        size `second` (default: the newest)."""
        if first is None:
            oldest = await repo.seals(self.db, 0, 1, log=self.log)
            if not oldest:
                raise DomainError(ErrorCode.NOT_SEALED_YET, "no tree head has been sealed yet")
            first = oldest[0].tree_size
        if second is None:
            second = (await self._seal(None, "second")).tree_size
        if first > second:
            raise DomainError(ErrorCode.INVALID_INPUT, "first must not be larger than second",
                              field="first")
        old = await self._seal(first, "first")
        new = await self._seal(second, "second")
        hashes = await repo.leaf_hashes(self.db, second, self.log)
        return {"kind": "consistency", "log": self.log.name, "first": old.token,
                "second": new.token,
                "proof": [h.hex() for h in merkle.consistency_proof(hashes, first)]}

    # -- the audit -------------------------------------------------------------------------------

    async def audit(self, registry: TrustRegistry | None = None, now: int | None = None,
                    kept: Sequence[str] = ()) -> AuditReport:
        """Recompute the log from the database; every difference from what was sealed. `kept`:
        tree heads a fund kept (JWS): the transfers must still hash to each one's root, which
        catches the one party the stored seals cannot: the hub rewriting its log and signing
        it again."""
        if registry is None:
            if self.signer is None:
                raise RuntimeError("the audit needs the hub's public keys")
            registry = self.signer.trust()
        now = int(time.time()) if now is None else now
        report = AuditReport()
        seals = await repo.every_seal(self.db, self.log)
        report.tree_heads = len(seals)
        heads = self._signed_heads(seals, registry, now, report, self.log.name)
        kept_heads = self._kept_heads(kept, registry, now, report, self.log.name)
        leaves = [leaf async for leaf in repo.iter_leaves(self.db, self.log)]
        self._leaves_against_roots(leaves, heads, report)
        if seals:
            report.tree_size, report.last_seq = seals[-1].tree_size, seals[-1].last_seq
        upto = max([report.last_seq, *(h.last_seq for h in kept_heads)])
        # Read whole before any look-up: on SQLite every transaction holds the one write lock.
        stored = [fields async for fields in repo.iter_transfers(self.db, upto, self.log)]
        if seals:
            await self._transfers_against_leaves(
                leaves[:report.tree_size], [f for f in stored if f[0] <= report.last_seq],
                report)
        for head in kept_heads:
            self._against_kept(head, stored, report)
        if self.log.name == PERIODS:
            await self._periods_against_changes(leaves[:report.tree_size], report)
        return report

    async def _periods_against_changes(self, leaves: list[repo.LeafRow],
                                       report: AuditReport) -> None:
        """Each period as stored must be what its recorded changes say: created as the first
        (kind, contribution, time), in the state of the last. Every change is read, sealed or
        not (those not sealed yet are checked here, and in the log once sealed)."""
        # The table's findings come after every leaf: the log is checked first, and a change
        # missing from it (or edited in it) would otherwise be named by a later symptom.
        changes: dict[tuple[str, str, str, int], list[repo.PeriodFields]] = {}
        async for fields in repo.iter_transfers(self.db, 2**62, self.log):
            changes.setdefault((fields[2], fields[3], fields[4], fields[5]), []).append(
                fields)
        beyond = len(leaves)
        for period in await repo.every_period(self.db):
            key = period[:4]
            recorded = changes.pop(key, None)
            name = repo.period_change_id(*key, period[5])
            if not recorded:
                report.findings.append(Finding(
                    "inserted", beyond, name, f"period {name.rsplit('/', 1)[0]} is stored with "
                    "no change recorded for it: it was inserted behind the ledger's back"))
                continue
            first, last = recorded[0], recorded[-1]
            if (period[4], period[5], period[6], period[7]) != (last[6], last[7], last[8],
                                                                first[9]):
                report.findings.append(Finding(
                    "edited", beyond, last[1],
                    f"period {name.rsplit('/', 1)[0]} is stored as {period[5]} ({period[4]}, "
                    f"{period[6]}), not as its last recorded change {last[1]} (seq {last[0]}) "
                    "says: it was edited"))
        for recorded in changes.values():
            last = recorded[-1]
            report.findings.append(Finding(
                "deleted", beyond, last[1],
                f"period {last[1].rsplit('/', 1)[0]}, changed last at seq {last[0]}, is no "
                "longer stored: it was deleted"))

    @staticmethod
    def _kept_heads(kept: Sequence[str], registry: TrustRegistry, now: int,
                    report: AuditReport, log: str) -> list[TreeHead]:
        heads = []
        for number, token in enumerate(kept):
            try:
                heads.append(verify_tree_head(token, registry, now, log))
            except (MessageRejected, ProofInvalid) as exc:
                report.findings.append(Finding("tree_head_invalid", 0, None,
                                               f"kept tree head {number + 1} does not verify: "
                                               f"{exc}"))
        return heads

    def _against_kept(self, head: TreeHead, stored: list[tuple[Any, ...]],
                      report: AuditReport) -> None:
        tree = merkle.CompactTree()
        for fields in stored:
            if fields[0] <= head.last_seq:
                tree.append(_leaf_hash(self.log, fields))
        if (tree.size, tree.root()) != (head.tree_size, head.root):
            report.findings.append(Finding(
                "rewritten", 0, None,
                f"the kept tree head of size {head.tree_size} (root {head.root.hex()[:16]}…) no "
                f"longer matches the {self.log.name} up to seq {head.last_seq} ({tree.size} of "
                "them): "
                "history before it was rewritten, whatever the log now says"))

    @staticmethod
    def _signed_heads(seals: list[repo.SealRow], registry: TrustRegistry, now: int,
                      report: AuditReport, log: str) -> dict[int, bytes]:
        heads: dict[int, bytes] = {}
        for seal in seals:
            try:
                head: TreeHead = verify_tree_head(seal.token, registry, now, log)
            except (MessageRejected, ProofInvalid) as exc:
                report.findings.append(Finding("tree_head_invalid", seal.tree_size - 1, None,
                                               f"the tree head of size {seal.tree_size} does "
                                               f"not verify: {exc}"))
                continue
            if (head.tree_size, head.root, head.last_seq) != (seal.tree_size, seal.root_hash,
                                                              seal.last_seq):
                report.findings.append(Finding("tree_head_invalid", seal.tree_size - 1, None,
                                               f"the stored seal of size {seal.tree_size} "
                                               "differs from the tree head the hub signed"))
            heads[head.tree_size] = head.root
        return heads

    @staticmethod
    def _leaves_against_roots(leaves: list[repo.LeafRow], heads: dict[int, bytes],
                              report: AuditReport) -> None:
        tree = merkle.CompactTree()
        previous_seq = None
        verified = 0
        for leaf in leaves:
            if leaf.position != tree.size or (previous_seq is not None
                                              and leaf.transfer_seq <= previous_seq):
                report.findings.append(Finding("log_altered", tree.size, leaf.transfer_id,
                                               "the stored leaves are not in order"))
                return
            previous_seq = leaf.transfer_seq
            tree.append(leaf.leaf_hash)
            root = heads.get(tree.size)
            if root is None:
                continue
            if root != tree.root():
                report.findings.append(Finding(
                    "log_altered", verified, None,
                    f"the stored leaves {verified}..{tree.size - 1} do not reproduce the signed "
                    f"root of the tree of size {tree.size}: the log itself was altered"))
                return
            verified = tree.size

    async def _transfers_against_leaves(self, leaves: list[repo.LeafRow],
                                        stored: list[tuple[Any, ...]],
                                        report: AuditReport) -> None:
        noun = self.log.noun
        by_seq = {leaf.transfer_seq: leaf for leaf in leaves}
        by_id = {leaf.transfer_id: leaf for leaf in leaves}
        seqs = [leaf.transfer_seq for leaf in leaves]
        seen: set[int] = set()
        for fields in stored:
            report.transfers_checked += 1
            seq, ident = fields[0], fields[1]
            leaf = by_seq.get(seq)
            if leaf is None:
                moved = by_id.get(ident)
                if moved is not None:
                    report.findings.append(Finding(
                        "reordered", moved.position, ident,
                        f"{noun} {ident}, sealed as leaf {moved.position} at seq "
                        f"{moved.transfer_seq}, is now at seq {seq}"))
                else:
                    report.findings.append(Finding(
                        "inserted", bisect.bisect_left(seqs, seq), ident,
                        f"{noun} {ident} at seq {seq} is in no leaf, yet the tree heads "
                        f"cover every seq up to {report.last_seq}"))
                continue
            seen.add(seq)
            if _leaf_hash(self.log, fields) == leaf.leaf_hash:
                continue
            report.findings.append(await self._mismatch(leaf, fields, by_id))
        for leaf in leaves:
            if leaf.transfer_seq not in seen:
                elsewhere = await self._seq_of(leaf.transfer_id)
                report.findings.append(Finding(
                    "deleted" if elsewhere is None else "reordered", leaf.position,
                    leaf.transfer_id,
                    f"{noun} {leaf.transfer_id} (seq {leaf.transfer_seq}) is missing"
                    if elsewhere is None else
                    f"{noun} {leaf.transfer_id} left seq {leaf.transfer_seq} for {elsewhere}"))

    async def _mismatch(self, leaf: repo.LeafRow, fields: tuple[Any, ...],
                        by_id: dict[str, repo.LeafRow]) -> Finding:
        noun = self.log.noun
        ident = fields[1]
        if ident == leaf.transfer_id:
            return Finding("edited", leaf.position, ident,
                           f"{noun} {ident} (seq {leaf.transfer_seq}) was edited: its fields "
                           "no longer hash to its leaf")
        other = by_id.get(ident)
        if other is not None:
            return Finding("reordered", leaf.position, ident,
                           f"seq {leaf.transfer_seq} holds {noun} {ident}, sealed as leaf "
                           f"{other.position}; leaf {leaf.position} is {leaf.transfer_id}")
        if await self._seq_of(leaf.transfer_id) is not None:
            return Finding("inserted", leaf.position, ident,
                           f"{noun} {ident} was inserted at seq {leaf.transfer_seq}, before "
                           f"{leaf.transfer_id} (leaf {leaf.position})")
        return Finding("edited", leaf.position, leaf.transfer_id,
                       f"{noun} {leaf.transfer_id} (seq {leaf.transfer_seq}) was edited: it "
                       f"is now named {ident}")

    async def _seq_of(self, transfer_id: str) -> int | None:
        return await repo.seq_of_transfer(self.db, transfer_id, self.log)
