"""SSB member (card) numbers. No SSB card-number format was found (funds.md §1.2: UNVERIFIED), so
the hub accepts a permissive one: 1-32 letters and digits, in groups joined by single '-', '/'
or '.', upper-cased (e.g. `SSB-0001234`). The NRC (`12/OuKaMa(N)123456`) is not validated: its
format is general knowledge only.
"""

from __future__ import annotations

from ledger.adapters.idformat import permissive_member_number


def member_number(value: str) -> str:
    return permissive_member_number(value, "member_number", "SSB member number")
