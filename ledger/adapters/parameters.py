"""A fund's dated parameters: the parameters.yaml schema, its loader and "value in force at M".

Every rate, floor, ceiling and table of a fund lives in `<fund>/parameters.yaml` as a list of
dated values, each with its unit, its source and whether it is verified. Rules name what they
read with typed `Param` handles; the loader checks the file against them (no missing or unknown
key, the declared unit, every value's type, months strictly increasing, every amount a whole
number of minor units) and rejects a bad file with a message naming the key.

YAML floats are read as Decimal from their text (`1.5` is exactly Decimal('1.5')): no float is
ever created, and a duplicated key is an error rather than a silent overwrite.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency
from ledger.domain.periods import Month

T = TypeVar("T")

# Units a parameter may declare besides a currency code (amounts in major units of it).
UNITS = frozenset(
    {"percent", "ratio", "months", "years", "age", "choice", "flag", "count", "rule"}
)


@dataclass(frozen=True, slots=True)
class Param(Generic[T]):
    """A typed handle on one parameters.yaml key: rules read values only through these."""

    key: str
    unit: str  # "percent", "ratio", ... or "currency" for the file's own currency
    adapter: TypeAdapter[T]


def param(key: str, unit: str, tp: type[T]) -> Param[T]:
    """A handle whose values are validated as `tp` (e.g. `Decimal`, `dict[Payer, Decimal]`)."""
    return Param(key, unit, TypeAdapter(tp))


# -- the file schema ----------------------------------------------------------------------------
def _month_text(value: str) -> str:
    """A YYYY-MM field: checked, kept as written (pydantic reports the ValueError at its key)."""
    try:
        Month.parse(value)
    except DomainError as exc:
        raise ValueError(exc.message) from None
    return value


MonthText = Annotated[str, AfterValidator(_month_text)]


class DatedValue(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    from_: MonthText = Field(alias="from")  # first month (YYYY-MM) the value is in force
    value: Any
    source: str = Field(min_length=1)
    verified: bool
    note: str | None = None



class ParameterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: str
    description: str = Field(min_length=1)
    values: list[DatedValue] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _dated(cls, values: list[DatedValue]) -> list[DatedValue]:
        months = [Month.parse(v.from_) for v in values]
        for earlier, later in pairwise(months):
            if later <= earlier:
                raise ValueError(f"months must increase strictly ({earlier} then {later})")
        for i, v in enumerate(values):
            if not v.verified and not (v.note or "").strip():
                raise ValueError(f"values[{i}] is unverified: say why in a note")
        return values


class SchemeSpec(BaseModel):
    """A scheme of a fund the built-in registry does not know (`fund_registry` below)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    starts: MonthText  # first contribution month, YYYY-MM
    long_term: bool  # old age / long term: booked per worker and portable
    verified_start: bool
    operating: bool = True
    voluntary: bool = False  # the worker pays it directly (a payment channel may collect it)
    agreement_option: bool = False  # not operating, but an agreement may open it


class FundRegistryEntry(BaseModel):
    """What the ledger must know of a fund that is not built in: its name, country and schemes.
    With it, a new fund is only a new adapter folder (ledger/domain/funds.py is not edited)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    country: str = Field(min_length=2, max_length=2)
    schemes: list[SchemeSpec] = Field(min_length=1)


class ParameterFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fund: str
    currency: Currency
    fund_registry: FundRegistryEntry | None = None
    parameters: dict[str, ParameterSpec]


# -- the loaded parameters ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Entry:
    """One dated value with its provenance."""

    key: str
    starts: Month
    value: Any
    source: str
    verified: bool
    note: str | None


class Parameters:
    """A fund's validated parameters; `at(param, month)` is the value in force at that month."""

    def __init__(self, fund: str, currency: Currency, entries: Mapping[str, list[Entry]],
                 registry: FundRegistryEntry | None = None) -> None:
        self.fund = fund
        self.currency = currency
        self.registry = registry  # set only for funds the built-in registry does not know
        self._entries = dict(entries)
        self._starts = {k: [e.starts.to_int() for e in v] for k, v in self._entries.items()}

    def entry(self, param: Param[T], month: Month) -> Entry:
        starts = self._starts.get(param.key)
        if starts is None:
            raise DomainError(
                ErrorCode.INVALID_PARAMETERS,
                f"{self.fund} has no parameter {param.key!r}",
                field=param.key,
            )
        i = bisect.bisect_right(starts, month.to_int()) - 1
        if i < 0:
            raise DomainError(
                ErrorCode.PARAMETER_NOT_IN_FORCE,
                f"{self.fund} parameter {param.key} has no value before "
                f"{self._entries[param.key][0].starts} (asked for {month})",
                field=param.key,
            )
        return self._entries[param.key][i]

    def at(self, param: Param[T], month: Month) -> T:
        value: T = self.entry(param, month).value
        return value

    def keys(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def history(self, key: str) -> tuple[Entry, ...]:
        return tuple(self._entries[key])

    def unverified(self) -> tuple[Entry, ...]:
        """Every dated value marked `verified: false`, for reports and README checks."""
        return tuple(e for entries in self._entries.values() for e in entries if not e.verified)


# -- loading ------------------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """SafeLoader with floats read as Decimal and duplicate keys refused."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    try:
        return Decimal(text.replace("_", ""))
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(
            None, None, f"not a decimal number: {text!r}", node.start_mark
        ) from None


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _invalid(path: Path | str, where: str, message: str) -> DomainError:
    return DomainError(
        ErrorCode.INVALID_PARAMETERS,
        f"{path}: {where}: {message}",
        field=where,
        details={"file": str(path)},
    )


def _where(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself" of a dict entry
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _first_error(path: Path | str, exc: ValidationError, prefix: str = "") -> DomainError:
    err = exc.errors()[0]
    loc = _where(err["loc"])
    where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
    return _invalid(path, where, err["msg"])


def _amounts(value: Any) -> Iterable[Decimal]:
    """Every Decimal inside a value (dicts, lists, models), to check minor-unit exactness."""
    if isinstance(value, Decimal):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _amounts(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _amounts(v)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _amounts(getattr(value, name))


def parse_parameters(
    text: str, specs: Sequence[Param[Any]], *, fund: str, path: Path | str = "parameters.yaml"
) -> Parameters:
    """Validate the text of a parameters.yaml against the rules' `Param` handles."""
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise _invalid(path, "yaml", str(exc)) from None
    wanted = {p.key: p for p in specs}
    # Name a stray or misspelt key before any error inside it.
    declared = raw.get("parameters") if isinstance(raw, dict) else None
    for key in declared if isinstance(declared, dict) else ():
        if key not in wanted:
            raise _invalid(path, f"parameters.{key}", f"not a parameter of {fund}")
    try:
        model = ParameterFile.model_validate(raw)
    except ValidationError as exc:
        raise _first_error(path, exc) from None
    if model.fund != fund:
        raise _invalid(path, "fund", f"expected {fund!r}, got {model.fund!r}")
    entries: dict[str, list[Entry]] = {}
    for key, param in wanted.items():
        entries[key] = _entries(path, model, key, param)
    return Parameters(fund, model.currency, entries, model.fund_registry)


def _entries(path: Path | str, model: ParameterFile, key: str, param: Param[Any]) -> list[Entry]:
    spec = model.parameters.get(key)
    where = f"parameters.{key}"
    if spec is None:
        raise _invalid(path, where, f"missing (the {model.fund} rules read it)")
    unit = model.currency.value if param.unit == "currency" else param.unit
    if spec.unit != unit:
        raise _invalid(path, f"{where}.unit", f"expected {unit!r}, got {spec.unit!r}")
    out = []
    for i, dated in enumerate(spec.values):
        at = f"{where}.values[{i}].value"
        try:
            value = param.adapter.validate_python(dated.value)
        except ValidationError as exc:
            raise _first_error(path, exc, at) from None
        if param.unit == "currency":
            for amount in _amounts(value):
                if amount.scaleb(model.currency.exponent) % 1 != 0:
                    raise _invalid(path, at, f"{amount} is not a whole number of minor units")
        out.append(Entry(key, Month.parse(dated.from_), value, dated.source, dated.verified,
                         dated.note))
    return out


def load_parameters(path: Path, specs: Sequence[Param[Any]], *, fund: str) -> Parameters:
    """Read and validate `path` (a fund folder's parameters.yaml)."""
    return parse_parameters(path.read_text(encoding="utf-8"), specs, fund=fund, path=path)


def check_units(specs: Sequence[Param[Any]]) -> None:
    """Rules declare only known units (called by tests and the registry)."""
    for p in specs:
        if p.unit != "currency" and p.unit not in UNITS:
            raise ValueError(f"{p.key}: unknown unit {p.unit!r}")
