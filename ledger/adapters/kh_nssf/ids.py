"""NSSF member numbers. NSSF publishes no member-number format (funds.md §1.1: UNVERIFIED), so
the hub accepts a permissive one: 1-32 letters and digits, in groups joined by single '-', '/'
or '.', upper-cased (e.g. `NSSF-000123`). Tighten it here once the real format is known.
"""

from __future__ import annotations

from ledger.adapters.idformat import permissive_member_number


def member_number(value: str) -> str:
    return permissive_member_number(value, "member_number", "NSSF member number")
