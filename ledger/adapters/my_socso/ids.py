"""SOCSO identifies a foreign worker by passport number or its own member number; funds.md gives
no format for either (§1.6), so the hub accepts a permissive one: 1-32 letters and digits, in
groups joined by single '-', '/' or '.', upper-cased. Tighten it here once a format is known.
"""

from __future__ import annotations

from ledger.adapters.idformat import permissive_member_number


def member_number(value: str) -> str:
    return permissive_member_number(value, "member_number", "SOCSO member number")
