"""The channel registry: who may collect voluntary payments, in which currencies, for which
schemes, and at what fee (one YAML file per channel in `channels/` at the repository root).

Owns the model of a channel (operator, country, wallet currencies, the funds and schemes it may
collect for, its fee schedule per wallet currency, the UTC offset of its business day) and its
checks: a fee schedule above the agreement's cap, an unknown fund or scheme, a scheme that is not
voluntary, a fee for a currency the channel does not hold, all refused when the registry loads
(`invalid_channel`, `field` naming the key). At payment time: `may_collect` (else
`scheme_not_collected`), `holds` (else `currency_not_held`) and `fee` (the schedule, capped by
the agreement's `channels.fee_rate_max`, rounded with its `fee_rounding`).

`load_registry` is the only function here that does I/O.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ledger.domain.errors import DomainError, ErrorCode, keyed_problems
from ledger.domain.funds import FUNDS
from ledger.domain.money import Currency, Money, Rounding, round_to_int
from ledger.settlement.agreement import (
    Agreement,
    ChannelTerms,
    KnownFund,
    Rate,
    _key_path,
    _keyed,
    _message,
    _read_yaml,
)

CHANNELS_DIR = Path(__file__).resolve().parents[2] / "channels"
CHANNEL_FILE_BYTES_MAX = 256 * 1024
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{2,31}$"
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MinorAmount = Annotated[int, Field(ge=0, strict=True)]


class FeeSchedule(_Model):
    """The fee on a principal: `rate` of it, at least `minimum_minor`, at most `maximum_minor`;
    never more than the agreement's cap (which wins over the minimum on a small payment)."""

    rate: Rate
    minimum_minor: MinorAmount = 0
    maximum_minor: MinorAmount | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.maximum_minor is not None and self.maximum_minor < self.minimum_minor:
            raise _keyed("maximum_minor", "the maximum is below the minimum")
        return self


class Collects(_Model):
    fund: KnownFund
    schemes: tuple[str, ...] = Field(min_length=1)

    @field_validator("schemes")
    @classmethod
    def _voluntary_schemes(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        fund = FUNDS.get(info.data.get("fund", ""))
        if fund is None:  # the fund key has its own error
            return value
        for code in value:
            scheme = fund.schemes.get(code)
            if scheme is None:
                raise ValueError(f"fund {fund.code} has no scheme {code!r}; "
                                 f"known: {', '.join(fund.schemes)}")
            if not scheme.voluntary:
                raise ValueError(f"{fund.code} {code} is not a voluntary scheme")
        if len(set(value)) != len(value):
            raise ValueError("a scheme is listed twice")
        return value


class Channel(_Model):
    code: Annotated[str, Field(pattern=CODE_PATTERN)]
    operator: Annotated[str, Field(min_length=1)]
    status: Literal["hypothetical", "pilot", "licensed"]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    agreement: Annotated[str, Field(min_length=1)]
    utc_offset: Annotated[str, Field(description="the channel's business day: +07:00")]
    wallet_currencies: tuple[Currency, ...] = Field(min_length=1)
    collects: tuple[Collects, ...] = Field(min_length=1)
    fees: dict[Currency, FeeSchedule]
    source: Annotated[str, Field(min_length=1)]

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        match = _OFFSET.match(value)
        if match is None or int(match.group(2)) > 14 or int(match.group(3)) >= 60:
            raise ValueError(f"write the offset as +HH:MM, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.wallet_currencies)) != len(self.wallet_currencies):
            raise _keyed("wallet_currencies", "a currency is listed twice")
        if set(self.fees) != set(self.wallet_currencies):
            raise _keyed("fees", "one fee schedule per wallet currency, and only those")
        funds = [c.fund for c in self.collects]
        if len(set(funds)) != len(funds):
            raise _keyed("collects", "a fund is listed twice")
        return self

    # -- at payment time ------------------------------------------------------------------------
    def may_collect(self, fund: str, scheme: str) -> None:
        for item in self.collects:
            if item.fund == fund and scheme in item.schemes:
                return
        allowed = "; ".join(f"{c.fund}: {', '.join(c.schemes)}" for c in self.collects)
        raise DomainError(ErrorCode.SCHEME_NOT_COLLECTED,
                          f"channel {self.code} may not collect for {fund} {scheme} "
                          f"(it collects for {allowed})", field="scheme")

    def holds(self, currency: Currency | str, field: str = "paid.currency") -> Currency:
        found = next((c for c in self.wallet_currencies if c.value == str(currency)), None)
        if found is None:
            raise DomainError(ErrorCode.CURRENCY_NOT_HELD,
                              f"channel {self.code} holds "
                              f"{', '.join(c.value for c in self.wallet_currencies)}, "
                              f"not {currency}", field=field)
        return found

    def fee(self, principal: Money, terms: ChannelTerms) -> Money:
        """The fee on `principal`: the schedule clamped to its bounds, then the agreement's cap
        (rounded down: the cap is never exceeded)."""
        schedule = self.fees[self.holds(principal.currency)]
        fee = round_to_int(Decimal(principal.amount_minor) * schedule.rate, terms.fee_rounding)
        fee = max(fee, schedule.minimum_minor)
        if schedule.maximum_minor is not None:
            fee = min(fee, schedule.maximum_minor)
        cap = round_to_int(Decimal(principal.amount_minor) * terms.fee_rate_max.value,
                           Rounding.DOWN)
        return Money(min(fee, cap), principal.currency)

    def fee_schedule(self, currency: Currency, terms: ChannelTerms) -> dict[str, Any]:
        """What the worker is shown before paying."""
        schedule = self.fees[currency]
        return {"rate": str(schedule.rate),
                "minimum": Money(schedule.minimum_minor, currency).to_wire(),
                "maximum": (Money(schedule.maximum_minor, currency).to_wire()
                            if schedule.maximum_minor is not None else None),
                "cap_rate": str(terms.fee_rate_max.value),
                "cap_source": terms.fee_rate_max.source}

    # -- its business day -----------------------------------------------------------------------
    @property
    def offset(self) -> timedelta:
        return _offset_of(self.utc_offset)

    def day_of(self, at_us: int) -> date:
        """The channel's business day of a moment (µs since the epoch)."""
        return (_EPOCH + timedelta(microseconds=at_us) + self.offset).date()

    def day_bounds_us(self, day: date) -> tuple[int, int]:
        """[start, end) of a business day in µs since the epoch."""
        start = datetime(day.year, day.month, day.day, tzinfo=UTC) - self.offset
        begin = (start - _EPOCH) // timedelta(microseconds=1)
        return begin, begin + 86_400 * 1_000_000

    def public(self, terms: ChannelTerms) -> dict[str, Any]:
        return {
            "code": self.code, "operator": self.operator, "status": self.status,
            "country": self.country, "agreement": self.agreement,
            "utc_offset": self.utc_offset,
            "wallet_currencies": [c.value for c in self.wallet_currencies],
            "collects": [{"fund": c.fund, "schemes": list(c.schemes)} for c in self.collects],
            "fees": {c.value: self.fee_schedule(c, terms) for c in self.wallet_currencies},
            "source": self.source,
        }


class ChannelRegistry:
    """The channels of one agreement, by code."""

    def __init__(self, channels: dict[str, Channel], terms: ChannelTerms) -> None:
        self.channels = MappingProxyType(dict(sorted(channels.items())))
        self.terms = terms

    def get(self, code: str) -> Channel:
        found = self.channels.get(code)
        if found is None:
            raise DomainError(ErrorCode.UNKNOWN_CHANNEL,
                              f"unknown channel {code!r}; known: {', '.join(self.channels)}",
                              field="channel")
        return found

    def __contains__(self, code: object) -> bool:
        return code in self.channels


def parse_channel(data: object, agreement: Agreement, source: str = "channel") -> Channel:
    """Validate one channel file's data against the agreement it names."""
    if not isinstance(data, dict):
        raise DomainError(ErrorCode.INVALID_CHANNEL, f"{source}: the top level must be a mapping")
    try:
        channel = Channel.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": _key_path(e), "message": _message(e)} for e in exc.errors()]
        raise keyed_problems(ErrorCode.INVALID_CHANNEL, source, problems) from None
    terms = _terms(agreement, source)
    if channel.agreement != agreement.name:
        raise _invalid(source, "agreement",
                       f"names {channel.agreement}, the hub runs {agreement.name}")
    for currency, schedule in channel.fees.items():
        if schedule.rate > terms.fee_rate_max.value:
            raise _invalid(source, f"fees.{currency}.rate",
                           f"{schedule.rate} is above the agreement's cap "
                           f"{terms.fee_rate_max.value}")
    return channel


def load_registry(agreement: Agreement, directory: Path = CHANNELS_DIR) -> ChannelRegistry:
    """Every `*.yaml` of `directory`; the file name must be the channel's code."""
    terms = _terms(agreement, str(directory))
    found: dict[str, Channel] = {}
    for path in sorted(directory.glob("*.yaml")):
        raw = path.read_bytes()
        if len(raw) > CHANNEL_FILE_BYTES_MAX:
            raise DomainError(ErrorCode.INVALID_CHANNEL,
                              f"{path}: larger than {CHANNEL_FILE_BYTES_MAX} bytes")
        try:
            data = _read_yaml(raw, str(path))
        except DomainError as exc:
            raise DomainError(ErrorCode.INVALID_CHANNEL, exc.message, field=exc.field) from None
        channel = parse_channel(data, agreement, str(path))
        if channel.code != path.stem:
            raise _invalid(str(path), "code", f"{channel.code} is not the file's name")
        found[channel.code] = channel
    return ChannelRegistry(found, terms)


def _terms(agreement: Agreement, source: str) -> ChannelTerms:
    if agreement.channels is None:
        raise DomainError(ErrorCode.INVALID_CHANNEL,
                          f"{source}: agreement {agreement.name} has no channels section",
                          field="agreement")
    return agreement.channels


def _invalid(source: str, field: str, message: str) -> DomainError:
    return keyed_problems(ErrorCode.INVALID_CHANNEL, source, [{"field": field,
                                                                "message": message}])


@functools.lru_cache(maxsize=64)
def _offset_of(utc_offset: str) -> timedelta:
    """A validated `+07:00` as a timedelta, parsed once (every payment asks for its day)."""
    match = _OFFSET.match(utc_offset)
    assert match is not None  # validated
    sign = -1 if match.group(1) == "-" else 1
    return sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
