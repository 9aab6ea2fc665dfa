"""Shared pieces of ID validation: digit strings with separators, and the permissive member
number used where a fund publishes no format (Cambodia NSSF, Myanmar SSB).

Validators return the canonical form (digits only, or upper case) and raise `INVALID_ID` with a
message saying what was expected; the `field` is the ID kind.
"""

from __future__ import annotations

import re
import string

from ledger.domain.errors import DomainError, ErrorCode

_SEPARATORS = re.compile(r"[\s-]")
# Letters and digits in groups joined by single '-', '/' or '.', 1-32 characters in all.
_PERMISSIVE = re.compile(r"^[A-Z0-9]+(?:[-/.][A-Z0-9]+)*$")
_PERMISSIVE_CHARACTERS = string.ascii_uppercase + string.digits + "-/."
DIGITS = string.digits
PERMISSIVE_LENGTH_MAX = 32


def first_bad_position(text: str, allowed: str) -> str:
    """Where `text` first breaks its format, without quoting it: an identity number never appears
    in an error, a log or an import report, even a malformed one (it is still someone's)."""
    for position, character in enumerate(text, start=1):
        if character not in allowed:
            return f"character {position} of {len(text)} is not allowed"
    return f"it has {len(text)} characters"


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
            f"({first_bad_position(text, _PERMISSIVE_CHARACTERS)})",
        )
    return text
