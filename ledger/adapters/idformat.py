"""Shared pieces of ID validation: digit strings with separators, and the permissive member
number used where a fund publishes no format (Cambodia NSSF, Myanmar SSB).

Validators return the canonical form (digits only, or upper case) and raise `INVALID_ID` with a
message saying what was expected; the `field` is the ID kind.
"""

from __future__ import annotations

import re

from ledger.domain.errors import DomainError, ErrorCode

_SEPARATORS = re.compile(r"[\s-]")
# Letters and digits in groups joined by single '-', '/' or '.', 1-32 characters in all.
_PERMISSIVE = re.compile(r"^[A-Z0-9]+(?:[-/.][A-Z0-9]+)*$")
PERMISSIVE_LENGTH_MAX = 32


def invalid(kind: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_ID, message, field=kind)


def digits(value: object, kind: str, label: str, length: int) -> str:
    """`value` as exactly `length` ASCII digits; spaces and hyphens are ignored."""
    if not isinstance(value, str):
        raise invalid(kind, f"{label} must be a string, got {type(value).__name__}")
    body = _SEPARATORS.sub("", value)
    if not body.isascii() or not body.isdigit():
        raise invalid(kind, f"{label} must contain only digits (and spaces or hyphens)")
    if len(body) != length:
        raise invalid(kind, f"{label} must have {length} digits, got {len(body)}")
    return body


def permissive_member_number(value: object, kind: str, label: str) -> str:
    """Upper-cased, trimmed; letters and digits joined by single '-', '/' or '.'."""
    if not isinstance(value, str):
        raise invalid(kind, f"{label} must be a string, got {type(value).__name__}")
    text = value.strip().upper()
    if not text or len(text) > PERMISSIVE_LENGTH_MAX:
        raise invalid(kind, f"{label} must have 1-{PERMISSIVE_LENGTH_MAX} characters")
    if not text.isascii() or not _PERMISSIVE.match(text):
        raise invalid(
            kind,
            f"{label} may contain only letters and digits, joined by single '-', '/' or '.' "
            f"(got {value!r})",
        )
    return text
