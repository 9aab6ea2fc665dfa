"""Identifier formats: caller-chosen transfer/contribution ids, hub-assigned worker ids.

Ids are printable ASCII so that they are safe in URLs, logs and signed payloads.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import NewType

from ledger.domain.errors import DomainError, ErrorCode

WorkerId = NewType("WorkerId", str)
ContributionId = NewType("ContributionId", str)

ID_MAX_LENGTH = 128
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$"  # also the API document's (api/contract.py)
WORKER_ID_PATTERN = r"^wkr_[a-z0-9]{4,40}$"
_ID_RE = re.compile(ID_PATTERN)
_WORKER_RE = re.compile(WORKER_ID_PATTERN)


def check_id(value: object, field: str = "id") -> str:
    """A caller-chosen id: 1-128 chars of [A-Za-z0-9._:/@-], starting with a letter or digit."""
    if not isinstance(value, str) or not value or len(value) > ID_MAX_LENGTH:
        raise DomainError(
            ErrorCode.INVALID_ID,
            f"{field} must be a string of 1-{ID_MAX_LENGTH} chars",
            field=field,
        )
    if not _ID_RE.match(value):
        raise DomainError(
            ErrorCode.INVALID_ID,
            f"{field} may contain only letters, digits and . _ : / @ - (got {value!r})",
            field=field,
        )
    return value


def check_worker_id(value: object, field: str = "worker_id") -> WorkerId:
    if not isinstance(value, str) or not _WORKER_RE.match(value):
        raise DomainError(
            ErrorCode.INVALID_ID,
            f"{field} must look like wkr_<4-40 lowercase letters or digits>, got {value!r}",
            field=field,
        )
    return WorkerId(value)


# Shorter numbers would refuse ids by coincidence; identity and member numbers are longer.
_NUMBER_IN_ID_MIN = 6


def check_worker_id_carries_no_number(worker_id: str, numbers: Iterable[str],
                                      field: str = "id") -> None:
    """Worker ids appear in URLs, so in access logs: a caller-chosen id must not carry the
    worker's own identity or member number (compared as lowercase letters and digits)."""
    plain = _alnum(worker_id)
    for number in numbers:
        if len(_alnum(number)) >= _NUMBER_IN_ID_MIN and _alnum(number) in plain:
            raise DomainError(
                ErrorCode.INVALID_ID,
                f"{field} contains the worker's identity or member number; worker ids appear in "
                "URLs and logs: choose another id, or let the hub assign one",
                field=field,
            )


def _alnum(value: str) -> str:
    return "".join(c for c in value.lower() if c.isalnum())


def new_worker_id() -> WorkerId:
    return WorkerId("wkr_" + secrets.token_hex(8))
