"""Scenario files: the model of a simulated world, and the validation that names the bad key.

Owns the schema of `simulator/scenarios/*.yaml` (`kind: scenario`) and of policy files
(`kind: policy`, a diff against a scenario, see `policy.py`). Every parameter is a `P`: a value
with the `source` it was taken from and `verified: false` when it is an assumption (funds.md ⚠,
or no source at all). Rates are quoted decimal strings between 0 and 1 (YAML floats are refused:
a rate must be the exact decimal the source printed). A corridor is `ORIGIN-DEST`; the
destination must have a fund adapter (TH, JP, MY); a corridor to anywhere else (say `MM-SG`) is
refused rather than simulated with made-up rules.

Errors are `DomainError(INVALID_INPUT)` whose `field` is the dotted key (`corridors.MM-TH.
population.value`) and whose message says what is wrong with it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ledger.domain.errors import DomainError, ErrorCode, keyed_problems
from ledger.domain.money import Currency
from ledger.domain.periods import Month

ORIGINS = ("KH", "LA", "MM", "VN")
# Destination country -> the fund whose adapter prices contributions there.
DESTINATIONS = {"TH": "TH-SSO", "JP": "JP-JPS", "MY": "MY-SOCSO"}
# Origin country -> home fund with an operating long-term (old-age) scheme, if any.
HOME_FUNDS = {"KH": "KH-NSSF", "VN": "VN-VSS"}
HOME_LONG_TERM = {"KH-NSSF": "pension", "VN-VSS": "retirement-survivorship"}
HOME_MEMBER = {"KH": "KH-NSSF", "MM": "MM-SSB", "VN": "VN-VSS"}  # funds with an adapter


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError(f"write the number as a quoted decimal string ('{value}'), not a float")
    return value


def _unit_interval(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"a rate or share is between 0 and 1, got {value}")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


def _month(value: object) -> Month:
    try:
        return Month.parse(value)
    except DomainError as exc:
        raise ValueError(exc.message) from None


Rate = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_unit_interval)]
Amount = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_non_negative)]
Count = Annotated[int, Strict(), Field(ge=0)]
Months = Annotated[int, Strict(), Field(ge=0, le=1200)]
MonthField = Annotated[Month, PlainValidator(_month)]
Text = Annotated[str, Field(min_length=1)]
T = TypeVar("T")


class _Model(BaseModel):
    # Unknown keys are refused: a typo must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class P(_Model, Generic[T]):
    """A parameter with its provenance; `verified: false` marks an assumption."""

    value: T
    source: Text
    verified: Annotated[bool, Strict()]


class Range(_Model):
    low: Count
    high: Count

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.high < self.low:
            raise _keyed("high", f"high ({self.high}) is below low ({self.low})")
        return self


class Hazards(_Model):
    """Monthly probabilities of leaving covered work in the destination, drawn once."""

    status_change: P[Rate]  # immigration status ends coverage (the worker stays, uncovered)
    return_home: P[Rate]  # early return before the contract ends
    death: P[Rate]
    disability: P[Rate]


class Corridor(_Model):
    population: P[Count]  # stock of workers in the corridor (scaled to --workers)
    wage_median: P[Amount]  # monthly, destination currency, major units
    wage_dispersion: P[Amount]  # sigma of log wage
    contract_months: P[dict[int, Rate]]  # months -> share of workers (shares add up to 1)
    age_at_arrival: P[Range]
    hazards: Hazards
    home_insured_months_before: P[Range]  # months insured at home before leaving
    home_insured_after_share: P[Rate]  # share insured at home after return, for the rest
    double_contribution_share: P[Rate]  # VN: share also paying the 22% abroad regime

    @model_validator(mode="after")
    def _shares_add_up(self) -> Self:
        shares = self.contract_months.value
        if not shares:
            raise _keyed("contract_months.value", "at least one contract length is needed")
        if any(m <= 0 for m in shares):
            raise _keyed("contract_months.value", "contract lengths are positive months")
        if sum(shares.values()) != 1:
            raise _keyed("contract_months.value",
                         f"shares must add up to 1, got {sum(shares.values())}")
        return self


class ThaiClaims(_Model):
    claim_share_at_age: P[Rate]  # share of leavers who claim the old-age lump sum at 55
    claim_share_on_departure: P[Rate]  # when a policy opens the lump sum on departure
    agent_share: P[Rate]  # share of claims made through a paid agent
    delay_months: P[Months]


class JapanClaims(_Model):
    claim_share: P[Rate]  # share of leavers who claim the LSWP within the 2-year window
    agent_share: P[Rate]
    delay_months: P[Months]  # from leaving to the LSWP payment
    tax_refund_delay_months: P[Months]  # from the LSWP to the 20.42% refund, when claimed


class TransferClaims(_Model):
    delay_months: P[Months]  # from leaving to the transfer (or payment) under an agreement
    pay_worker_claim_share: P[Rate]  # share of workers paid directly who give bank details


class Claims(_Model):
    th: ThaiClaims
    jp: JapanClaims
    transfer: TransferClaims


SupportGroup = Literal["poor", "near_poor", "ethnic_minority", "other"]


class DigitalVoluntary(_Model):
    """Contributions paid through a digital channel: Thai s39 continuation paid from home after
    leaving (432 THB a month), and the home fund's voluntary scheme paid from abroad
    (`paying.HOME_VOLUNTARY`, priced by the home fund's own rules)."""

    uptake_share: P[Rate]  # s39 from home: share of eligible leavers
    months: P[Months]
    home_uptake_share: P[Rate]  # share of workers abroad who pay their home scheme monthly
    # The income each origin's payers declare (home currency, major units); an origin left out
    # pays nothing.
    home_declared_income: dict[str, P[Amount]]
    vn_support_group: P[SupportGroup]  # Vietnamese voluntary SI: the state's support group

    @model_validator(mode="after")
    def _origins(self) -> Self:
        for origin in self.home_declared_income:
            if origin not in ORIGINS:
                raise _keyed(f"home_declared_income.{origin}",
                             f"unknown origin {origin!r}; known: {', '.join(ORIGINS)}")
        return self


class Messages(_Model):
    """Inter-fund messages per event: the capacity-planning input (design constants)."""

    per_transfer: P[Count]
    per_certificate: P[Count]
    per_claim_via_hub: P[Count]
    per_window_and_fund: P[Count]


class PolicyLevers(_Model):
    """What a policy changes. A scenario sets them to the baseline; policies diff them."""

    agreement: Text  # a bundled agreement (agreements/<name>.yaml)
    # The Thai old-age route the policy assumes workers take (ADR 0044): `fund_exit` (no
    # agreement route: the SSO's own lump sum at 55), or one the agreement offers for TH-SSO
    # s33-old-age (`transfer_to_home_fund`, `keep_and_totalise`); checked by policy.load_run.
    th_old_age_route: P[Literal["fund_exit", "transfer_to_home_fund", "keep_and_totalise"]]
    th_lump_sum_on_departure: P[bool]
    jp_tax_refund_claimed_share: P[Rate]  # share of LSWP claimants who reclaim the 20.42%
    identity_portable: P[bool]  # records survive a status change (no periods lost)
    certificate_share: P[Rate]  # share of VN workers given a certificate of coverage
    fees_waived: P[bool]  # claims through the mechanism carry no agent fee


class Scenario(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9+-]{1,62}$")]
    kind: Literal["scenario"]
    title: Text
    start: MonthField
    sources: tuple[Text, ...] = Field(min_length=1)
    arrival_window_years: P[Annotated[int, Strict(), Field(ge=1, le=60)]]
    fx_per_usd: dict[Currency, P[Amount]]
    corridors: dict[str, Corridor] = Field(min_length=1)
    claims: Claims
    digital_voluntary: DigitalVoluntary
    messages: Messages
    pension_age: P[Annotated[int, Strict(), Field(ge=40, le=80)]]
    policy: PolicyLevers

    @model_validator(mode="after")
    def _known(self) -> Self:
        for key in self.corridors:
            _check_corridor(key)
        if sum(c.population.value for c in self.corridors.values()) == 0:
            raise _keyed("corridors", "every corridor has a population of 0")
        for currency, rate in self.fx_per_usd.items():
            if rate.value <= 0:
                raise _keyed(f"fx_per_usd.{currency}.value", "an FX rate is positive")
        needed = {Currency.USD, Currency.THB, Currency.JPY, Currency.VND, Currency.KHR,
                  Currency.MMK, Currency.LAK}
        missing = sorted(needed - set(self.fx_per_usd))
        if missing:
            raise _keyed("fx_per_usd", f"rates are needed for {', '.join(missing)}")
        if self.fx_per_usd[Currency.USD].value != 1:
            raise _keyed("fx_per_usd.USD.value", "USD per USD is 1")
        return self

    def origin(self, corridor: str) -> str:
        return corridor.split("-")[0]

    def destination(self, corridor: str) -> str:
        return corridor.split("-")[1]


def _check_corridor(key: str) -> None:
    origin, _, dest = key.partition("-")
    if origin not in ORIGINS or not dest:
        raise _keyed(f"corridors.{key}",
                     f"unknown corridor {key!r}: write ORIGIN-DEST, origin one of "
                     f"{', '.join(ORIGINS)}")
    if dest not in DESTINATIONS:
        raise _keyed(f"corridors.{key}",
                     f"unknown corridor {key!r}: no fund adapter for destination {dest!r} "
                     f"(modelled: {', '.join(DESTINATIONS)})")


def _keyed(path: str, message: str) -> PydanticCustomError:
    """A model-level error that still names its key (pydantic would report it at the root)."""
    return PydanticCustomError("scenario_rule", "{message}", {"path": path, "message": message})


def parse_scenario(data: object, source: str = "scenario") -> Scenario:
    """Validate parsed YAML; the first error names its key, `details.errors` lists them all."""
    if not isinstance(data, dict):
        raise DomainError(ErrorCode.INVALID_INPUT, f"{source}: the top level must be a mapping")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source) from None


def validation_error(exc: ValidationError, source: str) -> DomainError:
    problems = [{"field": _key_path(e), "message": _message(e)} for e in exc.errors()]
    return keyed_problems(ErrorCode.INVALID_INPUT, source, problems)


def _key_path(error: Any) -> str:
    parts: list[str] = []
    for part in error["loc"]:
        # Pydantic inserts "[key]" for dict keys and the model name for generic values.
        if part == "[key]" or (isinstance(part, str) and part.startswith("P[")):
            continue
        parts.append(str(part))
    inner = (error.get("ctx") or {}).get("path")
    if inner:
        parts.append(str(inner))
    return ".".join(parts) or "(top level)"


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    return str(error["msg"]).removeprefix("Value error, ")
