"""Vietnamese social-insurance identifiers (funds.md §1.3).

- The social-insurance code (mã số BHXH): 10 digits, issued once for life.
- The personal identification number on the citizen ID card (CCCD): 12 digits; VSS uses it in
  place of the SI code from 1 Aug 2025 (Official Letter 1804/BHXH-QLT).
Neither has a published check digit, so only the length and the digits are checked.
"""

from __future__ import annotations

from ledger.adapters.idformat import digits


def si_code(value: str) -> str:
    return digits(value, "si_code", "Vietnamese social-insurance code", 10)


def cccd(value: str) -> str:
    return digits(value, "cccd", "Vietnamese personal identification (CCCD) number", 12)
