"""Identifier formats: caller-chosen transfer/contribution ids, hub-assigned worker ids.

Ids are printable ASCII so that they are safe in URLs, logs and signed payloads.
"""

from __future__ import annotations

import re
import secrets
from typing import NewType

from ledger.domain.errors import DomainError, ErrorCode

WorkerId = NewType("WorkerId", str)
ContributionId = NewType("ContributionId", str)

ID_MAX_LENGTH = 128
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$")
_WORKER_RE = re.compile(r"^wkr_[a-z0-9]{4,40}$")


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


def new_worker_id() -> WorkerId:
    return WorkerId("wkr_" + secrets.token_hex(8))
