"""Reading a declaration file a chunk at a time, in the import's worker thread.

`ChunkReader.next_chunk` pulls the next rows off the fund codec's stream, checks them against
the fund's rules (`adapters/declarations.py`), hashes each member number for lookup, finds rows
repeated across chunks (`SeenMonths`) and encodes the chunk's staging records: tuples for
SQLite, or (PostgreSQL) COPY text written straight from the checked columns, with the
short-term shares summed for pooling. Plain CPU work with no database: `services/imports.py`
stages and books what it hands over.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ledger.adapters.base import FundAdapter
from ledger.adapters.declarations import CheckedChunk, DeclarationChecker
from ledger.adapters.formats import DeclaredRow, RowError, Totals
from ledger.domain.funds import FUNDS, Payer
from ledger.domain.pii import PiiVault

CHUNK_ROWS = 20_000  # rows checked and staged at a time: bounds memory, amortises numpy calls


@dataclass(slots=True)
class StagedChunk:
    """One chunk, checked and ready to stage: the records for the staging tables, the errors,
    and (line, first line) for each row whose member and month came earlier in the file."""

    rows: list[tuple[Any, ...]]
    items: list[tuple[Any, ...]]  # empty when the items come as `copy_text`
    errors: list[RowError]
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    first_line: int = 0  # the chunk's first staged line
    # PostgreSQL: the rows, the long-term items and the short-term items already in COPY text
    # format, built in the worker thread, so that the event loop only sends bytes while the
    # thread reads on; and per short-term scheme the chunk's shares (employee, employer,
    # government, voluntary), pooled per file.
    copy_text: tuple[bytes, bytes, bytes] | None = None
    pooled: dict[str, list[int]] = field(default_factory=dict)
    workers: bytes | None = None  # (line, worker) looked up ahead, as COPY text (PostgreSQL)
    # During an identity key rotation (ADR 0055): each staged line's member hash under the
    # previous key, tried for the lines the current hash does not find.
    previous_hashes: dict[int, str] | None = None


class SeenMonths:
    """Every (member number, month) of the rows staged so far, with its first line: finds a row
    declared again in a later chunk. Kept as one sorted numpy array per chunk (40 bytes a row,
    no Python object per row, nothing copied as the file grows). The member number is its
    lookup HMAC: the same number, the same worker."""

    def __init__(self) -> None:
        self.chunks: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = []

    def add(self, keys: list[bytes], lines: list[int]) -> list[tuple[int, int]]:
        """Record a chunk's rows (lines ascending); (line, first line) of each repeat."""
        if not keys:
            return []
        key = np.array(keys, dtype="S36")
        line = np.array(lines, dtype=np.int32)
        order = np.argsort(key, kind="stable")  # equal keys stay in line order
        key, line = key[order], line[order]
        starts = np.ones(len(key), dtype=np.bool_)
        starts[1:] = key[1:] != key[:-1]
        first = line[np.maximum.accumulate(np.where(starts, np.arange(len(key)), 0))]
        seen = np.zeros(len(key), dtype=np.bool_)
        for earlier_keys, earlier_lines in self.chunks:  # each key is kept in one chunk only
            at = np.minimum(np.searchsorted(earlier_keys, key), len(earlier_keys) - 1)
            found = earlier_keys[at] == key
            first = np.where(found, earlier_lines[at], first)
            seen |= found
        new = starts & ~seen
        if new.any():
            self.chunks.append((key[new], line[new]))
        repeat = first != line
        return sorted(zip(line[repeat].tolist(), first[repeat].tolist(), strict=True))


class ChunkReader:
    """Pulls the next chunk of rows off the codec's stream, checks it against the fund's rules
    and builds its staging records. Plain CPU work, run in a worker thread (one at a time)."""

    def __init__(self, adapter: FundAdapter, checker: DeclarationChecker,
                 parsed: Iterator[object], vault: PiiVault, copy_text: bool = False) -> None:
        self.adapter = adapter
        self.copy_text = copy_text
        self.checker = checker
        self.parsed = parsed
        self.vault = vault
        self.fund = FUNDS[adapter.FUND_CODE]
        self.totals = Totals()
        self.rows_total = 0  # every record after the header, unreadable ones too
        self.rows_parsed = 0
        self.employer_per_row = False
        self.seen = SeenMonths()

    def next_chunk(self) -> StagedChunk | None:
        chunk: list[DeclaredRow] = []
        parse_errors: list[RowError] = []
        for item in self.parsed:
            if isinstance(item, RowError):
                self.rows_total += 1
                parse_errors.append(item)
            elif isinstance(item, DeclaredRow):
                self.rows_total += 1
                self.rows_parsed += 1
                self.totals.add(item)
                self.employer_per_row = self.employer_per_row or item.employer_minor is not None
                chunk.append(item)
                if len(chunk) >= CHUNK_ROWS:
                    break
        if not chunk and not parse_errors:
            return None
        checked = self.checker.check(chunk)
        rows = self._rows(checked)
        duplicates = self.seen.add(
            [bytes.fromhex(r[1]) + r[2].to_bytes(4, "big", signed=True) for r in rows],
            [r[0] for r in rows])
        items: list[tuple[Any, ...]] = []
        copy_text = None
        pooled: dict[str, list[int]] = {}
        if self.copy_text:
            # Straight to COPY text, no tuple per item; the short-term shares summed here.
            long_term: list[str] = []
            short_term: list[str] = []
            for scheme, is_long_term, columns in self._owed(checked):
                (long_term if is_long_term else short_term).append(
                    _items_text(scheme, is_long_term, columns))
                if not is_long_term:
                    pooled[scheme] = [sum(c) for c in columns[2:]]
            copy_text = (_rows_text(rows), "".join(long_term).encode(),
                         "".join(short_term).encode())
        else:
            for scheme, is_long_term, (lines, bases, *shares) in self._owed(checked):
                for line, base, e, r, g, v in zip(lines, bases, *shares, strict=True):
                    items.append((line, scheme, int(is_long_term), base,
                                  _shares_json(e, r, g, v) if is_long_term else "", e, r, g, v))
        previous = self.vault.previous
        previous_hashes = None if previous is None else {
            row.line: previous.lookup_hash(self.adapter.FUND_CODE, member)
            for row, member in zip(checked.rows, checked.members, strict=True)}
        return StagedChunk(rows, items, parse_errors + checked.errors, duplicates,
                           rows[0][0] if rows else 0, copy_text, pooled,
                           previous_hashes=previous_hashes)

    def _rows(self, checked: CheckedChunk) -> list[tuple[int, str, int, str]]:
        code = self.adapter.FUND_CODE
        lookup = self.vault.lookup_hash
        return [(row.line, lookup(code, member), row.month.to_int(), str(row.month))
                for row, member in zip(checked.rows, checked.members, strict=True)]

    def _owed(self, checked: CheckedChunk) -> Iterator[tuple[str, bool, list[list[int]]]]:
        """Per scheme of the chunk: whether it is long-term, and the columns of what its rows
        owe (line, base, then the shares in `Payer` order), rows that owe nothing left out
        (the scheme not in force that month, or nothing due, e.g. VN abroad): no
        contribution, no period for them."""
        lines = np.array([r.line for r in checked.rows], dtype=np.int64)
        zero = np.zeros(len(lines), dtype=np.int64)
        for scheme in checked.schemes:
            by_payer = checked.shares[scheme]
            shares = [by_payer.get(p, zero) for p in Payer]
            owes = checked.in_force[scheme] & (sum(shares) != 0)
            if owes.any():
                yield scheme, self.fund.scheme(scheme).long_term, [
                    column[owes].tolist() for column in (lines, checked.bases[scheme], *shares)]


# What COPY text must escape in a text field.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _rows_text(rows: list[tuple[int, str, int, str]]) -> bytes:
    """Staged rows as COPY text: numbers, hex and YYYY-MM, nothing to escape."""
    return "".join([f"{line}\t{member}\t{month}\t{text}\n"
                    for line, member, month, text in rows]).encode()


def _items_text(scheme: str, long_term: bool, columns: list[list[int]]) -> str:
    """One scheme's staged items in PostgreSQL's COPY text format (the columns of
    `ITEM_COLUMNS`, tab-separated, a line each, never NULL): the scheme escaped once; shares
    JSON (digits and names) and numbers need nothing."""
    head = f"\t{scheme.translate(_COPY_ESCAPES)}\t{int(long_term)}\t"
    lines, bases, employee, employer, government, voluntary = columns
    if long_term:
        return "".join([
            f"{line}{head}{base}\t{_shares_json(e, r, g, v)}\t{e}\t{r}\t{g}\t{v}\n"
            for line, base, e, r, g, v in zip(lines, bases, employee, employer, government,
                                               voluntary, strict=True)])
    return "".join([f"{line}{head}{base}\t\t{e}\t{r}\t{g}\t{v}\n"
                    for line, base, e, r, g, v in zip(lines, bases, employee, employer,
                                                       government, voluntary, strict=True)])


def _shares_json(employee: int, employer: int, government: int, voluntary: int) -> str:
    """The contribution's shares exactly as the posting engine stores them (sorted keys, amount
    strings, zero shares left out), so a month posted by API and by file compare equal."""
    parts = [f'"{name}":"{amount}"' for name, amount in (
        ("employee", employee), ("employer", employer), ("government", government),
        ("voluntary", voluntary)) if amount]
    return "{" + ",".join(parts) + "}"
