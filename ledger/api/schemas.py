"""Request and response models of HTTP API v1, each with an example valid against the demo data.

Money is `{"amount_minor": "<digits>", "currency": "THB"}`: the amount is a string of integer
minor units (satang, yen, dong, riel...). Months are `YYYY-MM`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

# Booleans and integers of a body are strict: the document says boolean and integer, so "1",
# 0 or 1.0 are refused rather than coerced (Schemathesis found `"pending": 0` accepted).
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from ledger.demo_data import (
    DEMO_WORKER,
    DEMO_WORKER_JP_NUMBER,
    DEMO_WORKER_TH_ID,
    EXAMPLE_MONTH,
)
from ledger.domain.accounts import AccountCode
from ledger.domain.contributions import ShareReason
from ledger.domain.funds import Payer
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency
from ledger.domain.periods import PeriodKind
from ledger.limits import (
    BATCH_SIZE_MAX,
    ID_MAX,
    MEMBERSHIPS_PER_WORKER_MAX,
    TRANSFERS_PER_REQUEST_MAX,
)

AMOUNT_MINOR_PATTERN = re.compile(r"[0-9]{1,19}")
AMOUNT_MINOR_ERROR = "amount_minor"  # the validation error's type: answered as invalid_amount


def _amount_minor(value: object) -> str:
    """A string of 1-19 digits, told in words: the schema's pattern is for machines, and a
    person who sent "525.00" needs to hear that amounts are whole minor units. No sign: every
    amount of the API is positive (or zero, where the next check allows it)."""
    if isinstance(value, str) and AMOUNT_MINOR_PATTERN.fullmatch(value):
        return value
    if isinstance(value, str):
        shown = repr(value)
    else:
        shown = "a JSON number" if isinstance(value, int | float) else "no string"
    raise PydanticCustomError(
        AMOUNT_MINOR_ERROR,
        "must be a whole number of minor units: a string of 1 to 19 digits, with no sign, "
        "decimal point or exponent (\"52500\" is 525.00 THB), got {shown}", {"shown": shown})


AmountMinor = Annotated[
    str,
    PlainValidator(_amount_minor),
    WithJsonSchema({
        "type": "string", "pattern": f"^{AMOUNT_MINOR_PATTERN.pattern}$",
        "description": "Integer minor units as a string of digits (no sign, no decimals, "
                       "no exponent)",
        "examples": ["2000000"],
    }),
]


class MoneyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount_minor": "52500", "currency": "THB"}]},
    )
    amount_minor: AmountMinor
    currency: Currency


class ShareIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"payer": "employee", "amount": {"amount_minor": "52500", "currency": "THB"}}]},
    )
    payer: Payer
    amount: MoneyIn
    reason: ShareReason | None = Field(
        None,
        description="Only when this share differs from what the fund's rules give for the wage "
        "base: why (arrears, surcharge, back_pay, court_order). The share is then booked as "
        "sent; the reason and the rules' amount are kept with the contribution and shown on "
        "the statement. Without it, a share that differs is refused (share_not_per_rules). "
        "Funds and the hub only.",
    )


def _thb(amount: str) -> dict[str, Any]:
    return {"amount_minor": amount, "currency": "THB"}


CONTRIBUTION_EXAMPLE: dict[str, Any] = {
    "worker_id": DEMO_WORKER,
    "fund": "TH-SSO",
    "scheme": "s33-old-age",
    "month": EXAMPLE_MONTH,
    "kind": "compulsory",
    "wage_base": _thb("1750000"),
    "shares": [
        {"payer": "employee", "amount": _thb("52500")},
        {"payer": "employer", "amount": _thb("52500")},
        # The state's 2.75 % in whole baht (481), old age taking the rounding (ADR 0035).
        {"payer": "government", "amount": _thb("17475")},
    ],
}


class ContributionIn(BaseModel):
    """One worker, fund, scheme and month; the shares each payer paid."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [CONTRIBUTION_EXAMPLE]}
    )
    id: str | None = Field(
        None,
        description="Caller-chosen id; defaults to ctb:<worker>:<fund>:<scheme>:<month>, so "
        "posting the same month twice is a no-op. Name another id for a second employer.",
    )
    worker_id: str
    fund: str
    scheme: str
    month: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$")
    kind: PeriodKind = PeriodKind.COMPULSORY
    wage_base: MoneyIn
    shares: list[ShareIn] = Field(min_length=1, max_length=len(Payer),
                                  description="One share per payer")
    worker_facts: dict[Annotated[str, Field(max_length=32)],
                       Annotated[str, Field(max_length=32)]] = Field(
        default_factory=dict, max_length=8,
        description="What the fund's rules need to know of the worker besides the wage, as a "
        "declaration file's columns say it (e.g. VN-VSS `zone`, `regime`; MM-SSB "
        "`registered_at_60_or_over`)", examples=[{}])


class ContributionBatchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"contributions": [
            CONTRIBUTION_EXAMPLE,
            {**CONTRIBUTION_EXAMPLE, "scheme": "s33-sickness", "shares": [
                {"payer": "employee", "amount": _thb("26250")},
                {"payer": "employer", "amount": _thb("26250")},
                {"payer": "government", "amount": _thb("26250")}]},
        ], "partial": False}]},
    )
    # The service refuses a longer batch with its own code (batch_too_large): said here.
    contributions: list[ContributionIn] = Field(json_schema_extra={"maxItems": BATCH_SIZE_MAX})
    partial: StrictBool = Field(
        False,
        description="false (default): one invalid item and nothing is posted. true: every "
        "valid item is posted on its own and the response says which failed.",
    )


class MembershipIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"fund": "JP-JPS", "member_number": "2345-678901"}]},
    )
    fund: str
    member_number: str = Field(min_length=1, max_length=40)


class MemberSearchIn(BaseModel):
    """A member number to look up: in the body, so that it never appears in a URL."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"member_number": DEMO_WORKER_TH_ID}]},
    )
    member_number: str = Field(min_length=1, max_length=40)


class IdentityIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "passport", "number": "MB1234567"}]},
    )
    kind: str = Field("national_id", max_length=32, examples=["passport"])
    number: str = Field(min_length=1, max_length=64)


class WorkerIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "nationality": "MM",
            "identity": {"kind": "passport", "number": "MB1234567"},
            "memberships": [{"fund": "TH-SSO", "member_number": "0012345678903"}],
        }]},
    )
    id: str | None = Field(None, description="Optional id (wkr_...); the hub assigns one")
    nationality: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    identity: IdentityIn | None = None
    memberships: list[MembershipIn] = Field(default_factory=list,
                                            max_length=MEMBERSHIPS_PER_WORKER_MAX)


class AccountIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "key": "clearing/TH-SSO/KH-NSSF/THB", "code": "clearing", "currency": "THB",
            "flags": [], "fund": "TH-SSO"}]},
    )
    key: str = Field(min_length=1, max_length=128)
    code: AccountCode
    currency: Currency
    flags: list[str] = Field(
        default_factory=list, max_length=len([f for f in AccountFlags if f]),  # each once
        description="any of debits_must_not_exceed_credits, credits_must_not_exceed_debits",
    )
    fund: str | None = None


class TransferIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "id": "demo-move-3", "debit_account_id": 1, "credit_account_id": 2,
            "amount": {"amount_minor": "10000", "currency": "THB"}, "pending": False,
            "code": "transfer"}]},
    )
    id: str = Field(description="Caller-chosen id: the same id and fields again is a no-op")
    debit_account_id: StrictInt = Field(ge=1, le=ID_MAX)
    credit_account_id: StrictInt = Field(ge=1, le=ID_MAX)
    amount: MoneyIn
    pending: StrictBool = Field(False, description="Reserve now; post or void later")
    code: str = Field("transfer", max_length=32)


class TransferBatchIn(BaseModel):
    """A linked batch: every transfer applies, or none does."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"transfers": [
            {"id": "demo-move-1", "debit_account_id": 1, "credit_account_id": 2,
             "amount": _thb("10000"), "pending": True, "code": "transfer"},
            {"id": "demo-move-2", "debit_account_id": 1, "credit_account_id": 2,
             "amount": _thb("2500"), "pending": True, "code": "transfer"}]}]},
    )
    # The service refuses a longer batch with its own code (batch_too_large): said here.
    transfers: list[TransferIn] = Field(
        json_schema_extra={"maxItems": TRANSFERS_PER_REQUEST_MAX})


class ResolveIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"id": "demo-move-1-post"}]}
    )
    id: str = Field(description="Id of the new transfer that posts or voids the pending one")
    amount_minor: AmountMinor | None = Field(
        None, description="Post only part of the pending amount (default: all of it)"
    )


class ReversalIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"id": "demo-reversal-1"}]}
    )
    id: str = Field(description="Id of the reversing transfer")


class Problem(BaseModel):
    """RFC 9457 problem details (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    index: int | None = None
    errors: list[dict[str, Any]] | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text}
    for status, text in (
        (400, "Malformed request (bad JSON, missing Idempotency-Key)"),
        (401, "Missing or unknown bearer token"),
        (403, "The principal may not do this"),
        (404, "Not found (or not visible to this principal)"),
        (409, "Conflict: an id or key already used differently, or a request still in flight"),
        (422, "Understood but refused: invalid values or a ledger rule"),
    )
}

EXAMPLE_MEMBER_NUMBER = DEMO_WORKER_JP_NUMBER
