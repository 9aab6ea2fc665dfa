"""Japanese pension identifiers (funds.md §1.5).

- Basic Pension Number (基礎年金番号): 10 digits, a 4-digit code and a 6-digit serial, usually
  written `1234-567890`; both that and `1234567890` are accepted. No check digit is published.
  The canonical form is the 10 digits.
- My Number (個人番号): 12 digits, the last a check digit over the 11-digit body: with P_n the n-th
  digit from the right and Q_n = n + 1 for n = 1..6, n - 5 for n = 7..11,
  r = sum(P_n × Q_n) mod 11 and the check digit is 0 if r <= 1, else 11 - r.
"""

from __future__ import annotations

import re

from ledger.adapters.idformat import DIGITS, digits, first_bad_position, invalid

_BASIC_PENSION = re.compile(r"^(\d{4})-?(\d{6})$")


def basic_pension_number(value: str) -> str:
    if not isinstance(value, str) or not _BASIC_PENSION.match(value.strip()):
        raise invalid(
            "basic_pension_number",
            "Basic Pension Number must be 4 + 6 digits, as 1234-567890 or 1234567890 "
            f"({first_bad_position(str(value).strip(), DIGITS + '-')})",
        )
    return value.strip().replace("-", "")


def format_basic_pension_number(canonical: str) -> str:
    return f"{canonical[:4]}-{canonical[4:]}"


def my_number_check_digit(body11: str) -> int:
    total = 0
    for n, ch in enumerate(reversed(body11), start=1):
        total += int(ch) * (n + 1 if n <= 6 else n - 5)
    r = total % 11
    return 0 if r <= 1 else 11 - r


def my_number(value: str) -> str:
    body = digits(value, "my_number", "My Number", 12)
    expected = my_number_check_digit(body[:11])
    if int(body[11]) != expected:
        raise invalid("my_number", f"My Number check digit should be {expected}, got {body[11]}")
    return body
