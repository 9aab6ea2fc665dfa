"""Thai identity and SSO account numbers.

The 13-digit national ID (citizens and "pink-card" migrants alike) ends in a check digit:
with digits d0..d11, check = (11 - (sum of d_i × (13 - i)) mod 11) mod 10 (funds.md §1.4, after
jukbot/thai-citizen-id-validator and formvalidation `thId`). It is often printed
`1-1017-00234-56-8`; spaces and hyphens are ignored. Employer SSO accounts are 10 digits, branches
6 (000000 = head office); neither has a published check digit.
"""

from __future__ import annotations

from ledger.adapters.idformat import digits, invalid


def national_id_check_digit(first12: str) -> int:
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return (11 - total % 11) % 10


def national_id(value: str) -> str:
    body = digits(value, "national_id", "Thai national ID", 13)
    expected = national_id_check_digit(body[:12])
    if int(body[12]) != expected:
        raise invalid(
            "national_id",
            f"Thai national ID check digit should be {expected}, got {body[12]}",
        )
    return body


def employer_account(value: str) -> str:
    return digits(value, "employer_account", "SSO employer account", 10)


def branch(value: str) -> str:
    return digits(value, "branch", "SSO branch number", 6)
