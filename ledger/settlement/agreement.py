"""Agreements: the YAML rule-set of a portability mechanism, its model, and its loader.

Owns what an agreement (or the no-agreement baseline) says: member funds, portable long-term
schemes with their transfer rule and portable payer shares, the home-fund voluntary schemes no
product operates that it opens (`voluntary_schemes`), the certificate-of-coverage rule,
totalisation settings (Art 57 short periods, unit conversion after *Pagotto*), eligibility
thresholds, the settlement currency, FX rate source and rounding, the cycle and deadlines, the
terms payment channels work under (fee cap, FX rounding of a payment, quote lifetime), and the
exit routes a worker has outside the mechanism (with agent fees), each parameter with its source.

`load_agreement` is the only function here that does I/O. A bad file is refused with a
`DomainError(INVALID_AGREEMENT)` whose `field` names the offending key
(`portable_schemes[2].scheme`) and whose `details.errors` lists every problem found.
Files live in `agreements/` at the repository root; see `agreements/clmtv-2019-pilot.yaml`.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ledger.adapters.voluntary import OpenedScheme
from ledger.domain.errors import DomainError, ErrorCode, keyed_problems
from ledger.domain.funds import FUNDS, FundCode, Payer, SchemeCode
from ledger.domain.money import Currency, Rounding
from ledger.domain.periods import Month
from ledger.settlement.totalisation import (
    EligibilityRule,
    Threshold,
    TotalisationPolicy,
    policy_of,
)

AGREEMENTS_DIR = Path(__file__).resolve().parents[2] / "agreements"
AGREEMENT_FILE_BYTES_MAX = 1024 * 1024  # an agreement is a page of YAML; more is a mistake


class AgreementKind(StrEnum):
    AGREEMENT = "agreement"  # a portability mechanism between member funds
    BASELINE = "baseline"  # today's world: nothing portable, only the funds' own exit routes


class TransferRule(StrEnum):
    """What happens to a portable scheme's balance when the worker leaves the host fund."""

    TRANSFER_TO_HOME_FUND = "transfer_to_home_fund"  # value and periods move to the home fund
    PAY_WORKER = "pay_worker"  # value paid to the worker's account (pacs.008), periods withdrawn
    KEEP_AND_TOTALISE = "keep_and_totalise"  # stays; periods totalise; pays pro rata later


class CoveredMonthAction(StrEnum):
    """What the host fund does with a contribution for a month a certificate covers."""

    REJECT = "reject"
    FLAG = "flag"


class Cycle(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class PeriodUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


# -- field types --------------------------------------------------------------------------------


def _known_fund(value: str) -> FundCode:
    if value not in FUNDS:
        # A fund declared by its adapter folder (LA-LSSO, MY-SOCSO) joins the registry when the
        # adapters load; load them before calling it unknown.
        from ledger.adapters.registry import adapters

        adapters()
    if value not in FUNDS:
        raise ValueError(f"unknown fund {value!r}; known: {', '.join(FUNDS)}")
    return FundCode(value)


def _no_float(value: object) -> object:
    # YAML reads 0.15 as a binary float; a rate must be the exact decimal the source printed.
    if isinstance(value, float):
        raise ValueError(f"write the rate as a quoted decimal string ('{value}'), not a float")
    return value


def _unit_interval(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"a rate is between 0 and 1, got {value}")
    return value


def _month(value: object) -> Month:
    try:
        return Month.parse(value)
    except DomainError as exc:
        raise ValueError(exc.message) from None


def _positive_fraction(value: object) -> Fraction:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError("write a conversion factor as a string such as '3/13' or '1'")
    try:
        parsed = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a fraction: {value!r}") from None
    if parsed <= 0:
        raise ValueError(f"a conversion factor is positive, got {value!r}")
    return parsed


KnownFund = Annotated[str, AfterValidator(_known_fund)]
Rate = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_unit_interval)]
MonthField = Annotated[Month, PlainValidator(_month)]
PositiveFraction = Annotated[Fraction, PlainValidator(_positive_fraction)]
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]
Text = Annotated[str, Field(min_length=1)]
T = TypeVar("T")


class _Model(BaseModel):
    # Unknown keys are refused: a typo must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Param(_Model, Generic[T]):
    """A parameter with its provenance: `verified: false` marks an assumption (funds.md ⚠)."""

    value: T
    source: Text
    verified: StrictBool


# -- sections -----------------------------------------------------------------------------------


class PortableScheme(_Model):
    fund: KnownFund
    scheme: SchemeCode
    transfer_rule: TransferRule
    # Used when the worker's home fund has no operating long-term scheme to receive the value
    # (Myanmar's old-age branch is not operating): the value cannot go "home".
    fallback_rule: TransferRule | None = None
    # Other exit routes the worker may choose instead of `transfer_rule` (ADR 0044): the pilot
    # offers Thai old age both ways, moved home or kept and paid pro rata at pension age.
    options: tuple[TransferRule, ...] = ()
    portable_payers: tuple[Payer, ...] = Field(min_length=1)
    source: Text

    @field_validator("scheme")
    @classmethod
    def _scheme_of_fund(cls, value: str, info: ValidationInfo) -> SchemeCode:
        fund = FUNDS.get(info.data.get("fund", ""))
        if fund is None:  # the fund key has its own error already
            return SchemeCode(value)
        scheme = fund.schemes.get(value)
        if scheme is None:
            known = ", ".join(fund.schemes)
            raise ValueError(f"fund {fund.code} has no scheme {value!r}; known: {known}")
        if not scheme.long_term:
            raise ValueError(f"{fund.code} {value} is short-term; only long-term branches move")
        if not scheme.operating:
            raise ValueError(f"{fund.code} {value} is not operating")
        return SchemeCode(value)

    @field_validator("portable_payers")
    @classmethod
    def _unique_payers(cls, value: tuple[Payer, ...]) -> tuple[Payer, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a payer is listed twice")
        return value

    @property
    def offered_rules(self) -> tuple[TransferRule, ...]:
        """Every route the worker may take, the default (`transfer_rule`) first."""
        return (self.transfer_rule, *self.options)

    def offers(self, rule: TransferRule) -> bool:
        return rule in self.offered_rules

    @model_validator(mode="after")
    def _options_differ(self) -> Self:
        if len(set(self.offered_rules)) != len(self.offered_rules):
            raise _keyed("options", "a route is offered twice (transfer_rule is offered already)")
        return self

    @model_validator(mode="after")
    def _fallback_only_for_transfers(self) -> Self:
        if self.fallback_rule is not None and (
            not self.offers(TransferRule.TRANSFER_TO_HOME_FUND)
            or self.fallback_rule is TransferRule.TRANSFER_TO_HOME_FUND
        ):
            raise _keyed(
                "fallback_rule",
                "a fallback applies only to transfer_to_home_fund and must be another rule",
            )
        return self


class VoluntaryOption(_Model):
    """A home-fund voluntary scheme no product operates (`Scheme.agreement_option`, e.g. Myanmar
    SSB for workers abroad) that the agreement opens from its effective month."""

    fund: KnownFund
    scheme: SchemeCode
    source: Text
    verified: StrictBool

    @field_validator("scheme")
    @classmethod
    def _an_option_of_the_fund(cls, value: str, info: ValidationInfo) -> SchemeCode:
        fund = FUNDS.get(info.data.get("fund", ""))
        if fund is None:  # the fund key has its own error already
            return SchemeCode(value)
        scheme = fund.schemes.get(value)
        if scheme is None:
            known = ", ".join(fund.schemes)
            raise ValueError(f"fund {fund.code} has no scheme {value!r}; known: {known}")
        if not scheme.agreement_option:
            raise ValueError(f"{fund.code} {value} is not an agreement option "
                             "(it operates already, or no agreement can open it)")
        return SchemeCode(value)


class CoverageRule(_Model):
    """Single applicable legislation (Art 11-12): a posted worker stays insured at home."""

    posting_months_max: StrictInt = Field(ge=1, le=120)
    host_contribution_when_covered: CoveredMonthAction
    source: Text


class TotalisationSettings(_Model):
    common_unit: Literal["month"]
    # Art 57: a fund need not pay for fewer own months than this that give no right on their own.
    short_period_months_min: StrictInt = Field(ge=0, le=120)
    # Months per unit, exact (Pagotto: convert native units before aggregating).
    unit_months: dict[PeriodUnit, PositiveFraction]
    pro_rata_rounding: Rounding
    source: Text

    @field_validator("unit_months")
    @classmethod
    def _month_is_one(cls, value: dict[PeriodUnit, Fraction]) -> dict[PeriodUnit, Fraction]:
        if value.get(PeriodUnit.MONTH) != 1:
            raise ValueError("unit_months must map month to '1'")
        return value

    def to_months(self, quantity: int, unit: PeriodUnit) -> Fraction:
        """`quantity` periods of `unit` in months, exactly (e.g. 26 weeks -> 6 months)."""
        factor = self.unit_months.get(unit)
        if factor is None:
            raise DomainError(
                ErrorCode.INVALID_INPUT, f"the agreement has no conversion for {unit}", field="unit"
            )
        return quantity * factor


class FxSettings(_Model):
    rate_source: Text
    rounding: Rounding
    source: Text


class SettlementSettings(_Model):
    currency: Currency
    fx: FxSettings
    cycle: Cycle
    ack_deadline_days: StrictInt = Field(ge=1, le=90)
    source: Text

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> Currency:
        try:
            return Currency.parse(value)
        except DomainError as exc:
            raise ValueError(exc.message) from None


class ChannelFx(_Model):
    """How a channel payment is converted: the rate source and the rounding of the worker's
    principal in the wallet currency (and of the FX difference left in the home currency)."""

    rate_source: Text
    rounding: Rounding
    source: Text


class ChannelTerms(_Model):
    """What a payment channel may charge and how its quotes work (docs/channels.md)."""

    fee_rate_max: Param[Rate]  # a channel's fee never exceeds this share of the principal
    fee_rounding: Rounding
    fx: ChannelFx
    quote_ttl_s: StrictInt = Field(ge=10, le=86_400)
    source: Text


class ThresholdSpec(_Model):
    months_min: StrictInt = Field(ge=1, le=600)
    age_min: StrictInt | None = Field(default=None, ge=15, le=80)
    effective_from: MonthField | None = None
    source: Text

    def threshold(self) -> Threshold:
        return Threshold(self.months_min, self.age_min, self.effective_from)


class ThaiOldAgeExit(_Model):
    """Thai s33 old age without an agreement: claimable only at 55, in person or by proxy.

    The claim window is the fund's dated rule (`old_age_claim_window_months`), enforced by the
    adapter; a `claim_window_years` key is refused as unknown (ADR 0042)."""

    claim_age_min: Param[StrictInt]
    in_person_only: Param[StrictBool]
    lump_sum_on_departure: Param[StrictBool]
    agent_fee_rate: Param[Rate]


class JapanLswpExit(_Model):
    """Japan's lump-sum withdrawal payment: two cash flows, the second (tax refund) often lost.

    The months cap is not here: it is the fund's own dated rule (`lswp_max_months` in
    ledger/adapters/jp_jps/parameters.yaml: 36, 60 from April 2021, 96 from April 2026), which
    the adapter applies by the last insured month. A `months_cap` key is refused as unknown, so
    a second, undated copy cannot creep back in. The same holds for the claim windows (24 months
    after leaving for the lump sum, 60 after payment for the tax refund): the adapter's dated
    parameters enforce them, and `claim_window_years` is refused (ADR 0042)."""

    via_agent: Param[StrictBool]
    agent_fee_rate: Param[Rate]
    tax_withholding_rate: Param[Rate]
    tax_refund_claimed: Param[StrictBool]


class VietnamWithdrawalExit(_Model):
    allowed_on_emigration: Param[StrictBool]


class ExitRoutes(_Model):
    th_old_age: ThaiOldAgeExit
    jp_lswp: JapanLswpExit
    vn_one_time: VietnamWithdrawalExit


# -- the agreement ------------------------------------------------------------------------------

_NAME = r"^[a-z0-9][a-z0-9-]{1,62}$"
_AGREEMENT_ONLY = ("coverage", "totalisation", "settlement")


class Agreement(_Model):
    name: Annotated[str, Field(pattern=_NAME)]
    title: Text
    kind: AgreementKind
    status: Literal["hypothetical", "draft", "in_force"]
    effective: date
    sources: tuple[Text, ...] = Field(min_length=1)
    member_funds: tuple[KnownFund, ...]
    portable_schemes: tuple[PortableScheme, ...]
    voluntary_schemes: tuple[VoluntaryOption, ...] = ()  # off unless listed
    coverage: CoverageRule | None = None
    totalisation: TotalisationSettings | None = None
    settlement: SettlementSettings | None = None
    channels: ChannelTerms | None = None  # absent: no payment channel works under it
    eligibility: dict[KnownFund, tuple[ThresholdSpec, ...]]
    exit_routes: ExitRoutes

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self._check_kind()
        self._check_members()
        self._check_eligibility()
        return self

    def _check_kind(self) -> None:
        if self.kind is AgreementKind.BASELINE:
            for key in ("member_funds", "portable_schemes", "channels", *_AGREEMENT_ONLY):
                if getattr(self, key):
                    raise _keyed(key, "a baseline has no members, portability or settlement")
            if self.voluntary_schemes:
                raise _keyed("voluntary_schemes",
                             "a baseline opens no scheme: today no product operates them")
            return
        for key in _AGREEMENT_ONLY:
            if getattr(self, key) is None:
                raise _keyed(key, "required key is missing (kind is 'agreement')")
        if not self.member_funds:
            raise _keyed("member_funds", "an agreement needs member funds")

    def _check_members(self) -> None:
        if len(set(self.member_funds)) != len(self.member_funds):
            raise _keyed("member_funds", "a fund is listed twice")
        seen: set[tuple[str, str]] = set()
        for index, item in enumerate(self.portable_schemes):
            where = f"portable_schemes[{index}]"
            if item.fund not in self.member_funds:
                raise _keyed(f"{where}.fund", f"{item.fund} is not a member fund")
            if (item.fund, item.scheme) in seen:
                raise _keyed(where, f"{item.fund} {item.scheme} is listed twice")
            seen.add((item.fund, item.scheme))
        opened: set[tuple[str, str]] = set()
        for index, option in enumerate(self.voluntary_schemes):
            where = f"voluntary_schemes[{index}]"
            if option.fund not in self.member_funds:
                raise _keyed(f"{where}.fund", f"{option.fund} is not a member fund")
            if (option.fund, option.scheme) in opened:
                raise _keyed(where, f"{option.fund} {option.scheme} is listed twice")
            opened.add((option.fund, option.scheme))

    def _check_eligibility(self) -> None:
        for fund in self.member_funds:
            if fund not in self.eligibility:
                raise _keyed("eligibility", f"member fund {fund} has no eligibility threshold")
        for fund, specs in self.eligibility.items():
            if not specs:
                raise _keyed(f"eligibility.{fund}", "at least one threshold is needed")
            starts = [s.effective_from for s in specs]
            if len(set(starts)) != len(starts):
                raise _keyed(f"eligibility.{fund}", "two thresholds start in the same month")

    # -- queries --------------------------------------------------------------------------------
    def portable_scheme(self, fund: str, scheme: str) -> PortableScheme | None:
        return next(
            (p for p in self.portable_schemes if p.fund == fund and p.scheme == scheme), None
        )

    def is_member(self, fund: str) -> bool:
        return fund in self.member_funds

    def opened_voluntary_schemes(self) -> tuple[OpenedScheme, ...]:
        """The schemes this agreement opens, from its effective month: what a payment channel
        passes to `ledger.adapters.voluntary.price_voluntary_payment(..., opened=...)`."""
        start = Month.of(self.effective)
        return tuple(OpenedScheme(o.fund, o.scheme, start) for o in self.voluntary_schemes)

    def eligibility_rules(self) -> tuple[EligibilityRule, ...]:
        return tuple(
            EligibilityRule(FundCode(fund), tuple(s.threshold() for s in specs))
            for fund, specs in self.eligibility.items()
        )

    def totalisation_policy(self) -> TotalisationPolicy:
        """Members, thresholds and the Art 57 minimum; a baseline totalises nothing."""
        short_min = self.totalisation.short_period_months_min if self.totalisation else 0
        return policy_of(self.member_funds, self.eligibility_rules(), short_min)


def _keyed(path: str, message: str) -> PydanticCustomError:
    """A model-level error that still names its key (pydantic would report it at the root)."""
    return PydanticCustomError("agreement_rule", "{message}", {"path": path, "message": message})


# -- loading ------------------------------------------------------------------------------------


def load_agreement(path: str | Path) -> Agreement:
    """Read, parse and validate one agreement file."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise DomainError(
            ErrorCode.INVALID_AGREEMENT, f"{file}: cannot read: {exc.strerror}"
        ) from None
    if len(raw) > AGREEMENT_FILE_BYTES_MAX:
        raise DomainError(
            ErrorCode.INVALID_AGREEMENT, f"{file}: larger than {AGREEMENT_FILE_BYTES_MAX} bytes"
        )
    return parse_agreement(_read_yaml(raw, str(file)), source=str(file))


def bundled_agreement(name: str) -> Agreement:
    """One of the agreements shipped in `agreements/` (e.g. "clmtv-2019-pilot")."""
    if not re.fullmatch(_NAME, name):
        raise DomainError(ErrorCode.INVALID_AGREEMENT, f"not an agreement name: {name!r}")
    return load_agreement(AGREEMENTS_DIR / f"{name}.yaml")


def parse_agreement(data: object, source: str = "agreement") -> Agreement:
    """Validate already-parsed YAML/JSON data; every error names the key it is about."""
    if not isinstance(data, dict):
        raise DomainError(ErrorCode.INVALID_AGREEMENT, f"{source}: the top level must be a mapping")
    try:
        return Agreement.model_validate(data)
    except ValidationError as exc:
        raise _agreement_error(exc, source) from None


def _agreement_error(exc: ValidationError, source: str) -> DomainError:
    problems = [{"field": _key_path(e), "message": _message(e)} for e in exc.errors()]
    return keyed_problems(ErrorCode.INVALID_AGREEMENT, source, problems)


def _key_path(error: Any) -> str:
    out = ""
    # Pydantic adds "[key]" for dict-key errors and the model name for generic Param values.
    for part in error["loc"]:
        if part == "[key]" or (isinstance(part, str) and part.startswith("Param[")):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    # A model-level rule (`_keyed`) names its key relative to the model that raised it.
    inner = (error.get("ctx") or {}).get("path")
    if inner:
        out = f"{out}.{inner}" if out else str(inner)
    return out or "(top level)"


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


# -- YAML ---------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a repeated key (PyYAML would silently keep the last one)."""


class _DuplicateKeyError(yaml.MarkedYAMLError):
    def __init__(self, key: object, mark: yaml.Mark) -> None:
        super().__init__(problem=f"duplicate key {key!r}", problem_mark=mark)
        self.key = str(key)


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in keys:
            raise _DuplicateKeyError(key, key_node.start_mark)
        keys.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def _read_yaml(raw: bytes, source: str) -> object:
    try:
        return yaml.load(raw, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DomainError(
            ErrorCode.INVALID_AGREEMENT,
            f"{source}: not valid YAML{where}: {exc.problem}",
            field=exc.key if isinstance(exc, _DuplicateKeyError) else None,
        ) from None
    except yaml.YAMLError as exc:
        raise DomainError(ErrorCode.INVALID_AGREEMENT, f"{source}: not valid YAML: {exc}") from None
