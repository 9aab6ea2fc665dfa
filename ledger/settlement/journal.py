"""The tamper-evident journal's pure part: what a leaf is, what a tree head says, and the offline
check of a proof document (ADR 0050, `clmtv audit check`).

A leaf is one transfer as stored, in a fixed text form that any language can rebuild: the JSON
array `["clmtv-transfer-1", seq, id, debit account, credit account, amount, currency, flags,
pending id, reversal of, code, contribution id, created at µs]`, every number as a decimal
string (amounts may pass 2^53), absent values as null, no spaces, ASCII only. Its leaf hash is
RFC 6962's SHA-256(0x00 || leaf). The seq is in the leaf, so a transfer moved to another place of
the journal no longer matches its leaf.

A tree head is a hub-signed message (`journal.tree_head`, the envelope of `messages.py`) whose
body says the tree's size, its root (hex), the last transfer seq it covers (every transfer up to
it is a leaf: none may appear below it later) and when it was sealed. Funds keep them: a later
tree head must be consistent with every one they hold.

The period state changes have a log of their own (ADR 0059), with the same hashes and proofs:
a leaf is `["clmtv-period-1", seq, worker, fund, scheme, month (YYYYMM), kind, state,
contribution id, at µs]`, and its tree heads are `journal.period_tree_head` messages, so that
neither log's leaf or head can pass for the other's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.settlement import merkle
from ledger.settlement.keys import SigningKey, TrustRegistry
from ledger.settlement.messages import MessageType, sign_message, verify_message

LEAF_VERSION = "clmtv-transfer-1"
PERIOD_LEAF_VERSION = "clmtv-period-1"
TRANSFERS, PERIODS = "transfers", "periods"  # the two logs
TREE_HEAD_TYPES = {TRANSFERS: MessageType.JOURNAL_TREE_HEAD,
                   PERIODS: MessageType.JOURNAL_PERIOD_TREE_HEAD}
TREE_HEAD_AUDIENCE = "clmtv-journal"  # whoever keeps tree heads: funds, auditors
# A tree head stays verifiable for as long as anyone may have to prove the books: as receipts.
TREE_HEAD_TTL_S = 10 * 366 * 24 * 3600

# The stored transfer, in leaf order (the columns of `transfers` after seq).
TransferFields = tuple[int, str, int, int, int, str, int, str | None, str | None, str,
                       str | None, int]


class ProofInvalid(Exception):  # noqa: N818 - reads as the verdict, like MessageRejected
    """A proof document or tree head that does not verify; the message says what failed."""


def leaf_data(row: TransferFields) -> bytes:
    """The leaf of one transfer: (seq, id, debit, credit, amount, currency, flags, pending id,
    reversal of, code, contribution id, created at µs)."""
    values: list[str | None] = [LEAF_VERSION]
    values.extend(None if value is None else str(value) for value in row)
    return _LEAF_ENCODER.encode(values).encode("ascii")


# Built once: `json.dumps` with options builds a new encoder on every call (every transfer).
_LEAF_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def transfer_leaf_hash(row: TransferFields) -> bytes:
    return merkle.leaf_hash(leaf_data(row))


# (seq, change id, worker, fund, scheme, month YYYYMM, kind, state, contribution id, at µs)
PeriodFields = tuple[int, str, str, str, str, int, str, str, str, int]
PERIOD_NAMES = ("seq", "id", "worker_id", "fund", "scheme", "month", "kind", "state",
                "contribution_id", "at_us")


def period_leaf_data(row: PeriodFields) -> bytes:
    """The leaf of one period state change; the change's id is derived, so it is not in it."""
    values = [PERIOD_LEAF_VERSION, str(row[0]), *(str(v) for v in row[2:])]
    return json.dumps(values, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def period_leaf_hash(row: PeriodFields) -> bytes:
    return merkle.leaf_hash(period_leaf_data(row))


def period_document(fields: PeriodFields) -> dict[str, Any]:
    """A period change as an inclusion proof names it (numbers as decimal strings)."""
    return {n: (v if isinstance(v, str) else str(v))
            for n, v in zip(PERIOD_NAMES, fields, strict=True)}


def _period_fields(change: Mapping[str, Any]) -> PeriodFields:
    try:
        month = int(change["month"])
        worker, fund, scheme, state = (str(change[n]) for n in ("worker_id", "fund", "scheme",
                                                                 "state"))
        ident = f"{worker}/{fund}/{scheme}/{month // 100:04d}-{month % 100:02d}/{state}"
        return (int(change["seq"]), ident, worker, fund, scheme, month, str(change["kind"]),
                state, str(change["contribution_id"]), int(change["at_us"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise ProofInvalid(f"the period change is malformed: {exc}") from None


@dataclass(frozen=True, slots=True)
class TreeHead:
    tree_size: int
    root: bytes
    last_seq: int
    sealed_at_us: int
    token: str

    def body(self) -> dict[str, Any]:
        return tree_head_body(self.tree_size, self.root, self.last_seq, self.sealed_at_us)


def tree_head_body(tree_size: int, root: bytes, last_seq: int, sealed_at_us: int
                   ) -> dict[str, Any]:
    # Integers within 2^53 (the message profile): sizes and seqs are; µs since 1970 are too.
    return {"tree_size": tree_size, "root_hash": root.hex(), "last_seq": last_seq,
            "sealed_at_us": sealed_at_us}


def sign_tree_head(key: SigningKey, tree_size: int, root: bytes, last_seq: int,
                   sealed_at_us: int, log: str = TRANSFERS) -> str:
    issued = sealed_at_us // 1_000_000
    prefix = "tree-head" if log == TRANSFERS else f"{log}-tree-head"
    return sign_message(key, aud=TREE_HEAD_AUDIENCE, typ=TREE_HEAD_TYPES[log],
                        seq=tree_size, body=tree_head_body(tree_size, root, last_seq,
                                                           sealed_at_us),
                        iat=issued, ttl_s=TREE_HEAD_TTL_S, jti=f"{prefix}:{tree_size}")


def verify_tree_head(token: str, registry: TrustRegistry, now: int, log: str = TRANSFERS
                     ) -> TreeHead:
    """The tree head of `log` a hub-signed token states; MessageRejected when the signature,
    key or claims fail, ProofInvalid when it is not a tree head of that log."""
    message = verify_message(token, registry, TREE_HEAD_AUDIENCE, now)
    if message.typ != TREE_HEAD_TYPES[log]:
        raise ProofInvalid(f"a {message.typ}, not a tree head of the journal's {log}")
    body = message.body
    try:
        head = TreeHead(int(body["tree_size"]), bytes.fromhex(str(body["root_hash"])),
                        int(body["last_seq"]), int(body["sealed_at_us"]), token)
    except (KeyError, ValueError, TypeError) as exc:
        raise ProofInvalid(f"the tree head's body is malformed: {exc}") from None
    if head.tree_size != message.seq or len(head.root) != merkle.HASH_BYTES:
        raise ProofInvalid("the tree head's size or root is malformed")
    return head


def _hashes(values: object, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise ProofInvalid(f"{what} is not a list of hex hashes")
    try:
        out = [bytes.fromhex(str(v)) for v in values]
    except ValueError:
        raise ProofInvalid(f"{what} holds a value that is not hex") from None
    if any(len(h) != merkle.HASH_BYTES for h in out):
        raise ProofInvalid(f"{what} holds a hash that is not {merkle.HASH_BYTES} bytes")
    return out


def _transfer_fields(leaf: Mapping[str, Any]) -> TransferFields:
    try:
        return (int(leaf["seq"]), str(leaf["id"]), int(leaf["debit_account_id"]),
                int(leaf["credit_account_id"]), int(leaf["amount_minor"]),
                str(leaf["currency"]), int(leaf["flags"]), _optional(leaf["pending_id"]),
                _optional(leaf["reversal_of"]), str(leaf["code"]),
                _optional(leaf["contribution_id"]), int(leaf["created_at_us"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise ProofInvalid(f"the transfer is malformed: {exc}") from None


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def transfer_document(fields: TransferFields) -> dict[str, Any]:
    """A transfer as an inclusion proof names it (numbers as decimal strings)."""
    names = ("seq", "id", "debit_account_id", "credit_account_id", "amount_minor", "currency",
             "flags", "pending_id", "reversal_of", "code", "contribution_id", "created_at_us")
    return {n: (v if v is None or isinstance(v, str) else str(v))
            for n, v in zip(names, fields, strict=True)}


@dataclass(frozen=True, slots=True)
class ProofVerdict:
    kind: str  # inclusion | consistency
    lines: list[str]


def check_document(document: Mapping[str, Any], registry: TrustRegistry, now: int
                   ) -> ProofVerdict:
    """Verify an inclusion or consistency proof document offline (ProofInvalid or
    MessageRejected when it fails): signatures of the tree heads, then the hashes."""
    kind, log = document.get("kind"), document.get("log", TRANSFERS)
    if log not in TREE_HEAD_TYPES:
        raise ProofInvalid(f"log {log!r} is neither 'transfers' nor 'periods'")
    if kind == "inclusion":
        return _check_inclusion(document, registry, now, str(log))
    if kind == "consistency":
        return _check_consistency(document, registry, now, str(log))
    raise ProofInvalid(f"kind {kind!r} is neither 'inclusion' nor 'consistency'")


@dataclass(frozen=True, slots=True)
class _LeafKind:
    """What an inclusion proof of one log proves: the document's key, its noun in messages,
    the log's name in them, and how a leaf is read and hashed."""

    key: str
    noun: str
    tree: str
    fields: Callable[[Mapping[str, Any]], Sequence[Any]]
    leaf_hash: Callable[[Any], bytes]


_LEAVES = {
    TRANSFERS: _LeafKind("transfer", "transfer", "the journal's tree", _transfer_fields,
                         transfer_leaf_hash),
    PERIODS: _LeafKind("period_change", "period change", "the period log's tree",
                       _period_fields, period_leaf_hash),
}


def _check_inclusion(document: Mapping[str, Any], registry: TrustRegistry, now: int,
                     log: str) -> ProofVerdict:
    leaf = _LEAVES[log]
    head = verify_tree_head(str(document.get("tree_head", "")), registry, now, log)
    named = document.get(leaf.key)
    if not isinstance(named, Mapping):
        raise ProofInvalid(f"the document names no {leaf.noun}")
    fields = leaf.fields(named)
    index = document.get("leaf_index")
    if type(index) is not int:
        raise ProofInvalid("leaf_index is not an integer")
    path = _hashes(document.get("audit_path"), "audit_path")
    if fields[0] > head.last_seq:
        raise ProofInvalid(f"{leaf.noun} seq {fields[0]} is beyond the tree head's last seq "
                           f"{head.last_seq}")
    if not merkle.verify_inclusion(leaf.leaf_hash(fields), index, head.tree_size, path,
                                   head.root):
        raise ProofInvalid(f"{leaf.noun} {fields[1]} is NOT leaf {index} of the tree of size "
                           f"{head.tree_size}: the hashes do not lead to its root")
    return ProofVerdict("inclusion", [
        f"valid: {leaf.noun} {fields[1]} (seq {fields[0]}) is leaf {index} of {leaf.tree} "
        f"of size {head.tree_size}",
        f"tree head signed by the hub: root {head.root.hex()}, sealed at {head.sealed_at_us} µs",
    ])


def _check_consistency(document: Mapping[str, Any], registry: TrustRegistry, now: int,
                       log: str = TRANSFERS) -> ProofVerdict:
    first = verify_tree_head(str(document.get("first", "")), registry, now, log)
    second = verify_tree_head(str(document.get("second", "")), registry, now, log)
    proof = _hashes(document.get("proof"), "proof")
    if first.last_seq > second.last_seq:
        raise ProofInvalid("the first tree head covers more transfers than the second")
    if not merkle.verify_consistency(first.tree_size, second.tree_size, first.root,
                                     second.root, proof):
        raise ProofInvalid(f"the tree of size {first.tree_size} is NOT a prefix of the tree of "
                           f"size {second.tree_size}: history was rewritten")
    return ProofVerdict("consistency", [
        f"valid: the journal's {log} tree of size {second.tree_size} extends the tree of size "
        f"{first.tree_size} (nothing before was changed, removed or reordered)",
        f"roots {first.root.hex()} -> {second.root.hex()}, both signed by the hub",
    ])


def consistency_path(leaves: Sequence[bytes], first: int, second: int) -> list[bytes]:
    """RFC 6962 PROOF(first, D[second]) over the first `second` leaf hashes."""
    return merkle.consistency_proof(leaves[:second], first)
