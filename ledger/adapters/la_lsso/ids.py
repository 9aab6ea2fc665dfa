"""LSSO member numbers. funds.md §1.6 gives no format for the Lao social-security card number,
so the hub accepts the documented permissive one (`idformat.permissive_member_number`): 1-32
letters and digits, in groups joined by single '-', '/' or '.', upper-cased (e.g.
`LSSO-0012345`). Tighten it here once the real format is known.
"""

from __future__ import annotations

from ledger.adapters.idformat import permissive_member_number


def member_number(value: str) -> str:
    return permissive_member_number(value, "member_number", "LSSO member number")
