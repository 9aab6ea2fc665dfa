"""Domain errors: one exception type carrying a stable code, a message and where it happened.

`api/errors.py` maps each code to an HTTP status in one table; services and adapters raise these and
nothing else for expected failures. Codes are part of the public contract: never rename one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # input
    INVALID_INPUT = "invalid_input"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_RATE = "invalid_rate"
    INVALID_MONTH = "invalid_month"
    INVALID_ID = "invalid_id"
    UNKNOWN_CURRENCY = "unknown_currency"
    CURRENCY_MISMATCH = "currency_mismatch"
    BATCH_TOO_LARGE = "batch_too_large"
    BATCH_EMPTY = "batch_empty"
    # registry
    UNKNOWN_FUND = "unknown_fund"
    UNKNOWN_SCHEME = "unknown_scheme"
    SCHEME_NOT_IN_FORCE = "scheme_not_in_force"
    UNKNOWN_WORKER = "unknown_worker"
    WORKER_NOT_MEMBER = "worker_not_member"
    MEMBERSHIP_EXISTS = "membership_exists"
    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_TRANSFER = "unknown_transfer"
    # ledger rules
    SAME_ACCOUNT = "same_account"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"
    PENDING_NOT_FOUND = "pending_not_found"
    PENDING_ALREADY_RESOLVED = "pending_already_resolved"
    PENDING_AMOUNT_EXCEEDED = "pending_amount_exceeded"
    NOT_PENDING = "not_pending"
    ALREADY_REVERSED = "already_reversed"
    LINKED_EVENT_FAILED = "linked_event_failed"
    ID_CONFLICT = "id_conflict"
    PERIOD_WITHDRAWN = "period_withdrawn"
    DUPLICATE_PAYER = "duplicate_payer"
    OVERFLOW = "overflow"
    # fund rules (adapters)
    INVALID_PARAMETERS = "invalid_parameters"  # a fund's parameters.yaml is malformed
    PARAMETER_NOT_IN_FORCE = "parameter_not_in_force"  # no dated value covers the month
    NOT_ELIGIBLE = "not_eligible"  # a refund/withdrawal rule's conditions are not met
    IMPORT_REJECTED = "import_rejected"  # details.report lists every rejected row; nothing booked
    LINE_TOO_LONG = "line_too_long"  # a file's line is longer than its format allows
    SHARE_NOT_PER_RULES = "share_not_per_rules"  # a share differs from the fund's rules, unsaid
    # settlement
    MESSAGE_REJECTED = "message_rejected"  # details.reason holds the precise RejectReason
    INVALID_AGREEMENT = "invalid_agreement"  # field names the offending key of the agreement file
    WINDOW_NOT_OPEN = "window_not_open"  # a transfer offered to a window that no longer takes any
    ILLEGAL_WINDOW_TRANSITION = "illegal_window_transition"  # details: from_state, to_state
    UNKNOWN_FLOW = "unknown_flow"  # no portability transfer with this id (visible to the caller)
    ILLEGAL_FLOW_TRANSITION = "illegal_flow_transition"  # details: from_state, to_state
    NOT_PORTABLE = "not_portable"  # the agreement does not move this scheme (or there is none)
    FLOW_OPEN = "flow_open"  # another flow for this worker, fund and scheme is under way
    NOTHING_TO_TRANSFER = "nothing_to_transfer"  # the portable balance is zero
    FX_RATE_MISSING = "fx_rate_missing"  # no reference rate for a currency pair
    UNKNOWN_WINDOW = "unknown_window"
    RECONCILIATION_FAILED = "reconciliation_failed"  # a fund's view differs from the hub's
    # payment channels
    UNKNOWN_CHANNEL = "unknown_channel"
    INVALID_CHANNEL = "invalid_channel"  # a channels/*.yaml file is malformed; field names the key
    SCHEME_NOT_COLLECTED = "scheme_not_collected"  # the channel may not collect for this scheme
    CURRENCY_NOT_HELD = "currency_not_held"  # the channel's wallets hold no such currency
    UNKNOWN_QUOTE = "unknown_quote"
    QUOTE_EXPIRED = "quote_expired"
    UNKNOWN_PAYMENT = "unknown_payment"
    NOT_SEALED_YET = "not_sealed_yet"  # the transfer or tree size is not in a signed tree head yet
    DAY_NOT_OVER = "day_not_over"  # a day file for a day that has not ended (plus a grace)
    DAY_FILE_REJECTED = "day_file_rejected"  # details.errors lists every bad line; nothing kept
    # monitoring statistics
    BUDGET_EXHAUSTED = "budget_exhausted"  # a release would pass a month's privacy budget
    UNKNOWN_RELEASE = "unknown_release"
    # requests
    MALFORMED_JSON = "malformed_json"
    BODY_TOO_LARGE = "body_too_large"
    RATE_LIMITED = "rate_limited"  # details.retry_after_s: also the Retry-After header
    IDEMPOTENCY_KEY_MISSING = "idempotency_key_missing"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_IN_FLIGHT = "idempotency_key_in_flight"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"


class DomainError(Exception):
    """An expected failure. `field`: dotted path into the input; `index`: row or item number."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        index: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.index = index
        self.details = details or {}

    def at(self, index: int, prefix: str | None = None) -> DomainError:
        """The same error located at item `index` (and under `prefix`) of a batch."""
        field = self.field
        if prefix:
            field = f"{prefix}.{field}" if field else prefix
        return DomainError(
            self.code, self.message, field=field, index=index, details=self.details
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.index is not None:
            out["index"] = self.index
        if self.details:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"DomainError({self.code.value!r}, {self.message!r}, field={self.field!r})"


def keyed_problems(code: ErrorCode, source: str, problems: list[dict[str, str]]) -> DomainError:
    """One error for a file with problems [{"field", "message"}, ...]: the first names its key,
    `details.errors` lists them all (agreement files, scenario files, expert cases)."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return DomainError(
        code,
        f"{source}: {first['field']}: {first['message']}{more}",
        field=first["field"],
        details={"errors": problems},
    )
