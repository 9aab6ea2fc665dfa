"""The calibration's data files: published targets, the calibration scenario, fitted values.

Owns the schema of `simulator/calibration/targets.yaml` (each published figure with its unit,
date, the simulator quantity it is compared with, tier, tolerance, source and reliability) and
of a calibration scenario (`baseline-2012.yaml`: arrivals a year per corridor and the free
parameters with their bounds), and reads and writes the fitted values file beside it. Numbers
are quoted decimals in the files (a YAML float is refused, as in scenarios); they become floats
only in the model, where they are counts of people and rates, never money.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.periods import Month
from simulator.policy import read_yaml
from simulator.scenario import _check_corridor, _month, _no_float, validation_error

CALIBRATION_DIR = Path(__file__).resolve().parent
Number = Annotated[Decimal, BeforeValidator(_no_float)]
MonthText = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
Text = Annotated[str, Field(min_length=1)]
Measure = Literal["stock", "arrivals", "stock_share", "insured", "insured_share",
                  "lswp_per_stock", "stay_share"]
Tier = Literal["tight", "band", "report"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quantity(_Model):
    """What the simulator computes to compare with a figure (see model.measure)."""

    measure: Measure
    corridors: tuple[str, ...] = Field(min_length=1)
    month: MonthText | None = None
    from_: MonthText | None = Field(default=None, alias="from")
    to: MonthText | None = None
    of: tuple[str, ...] | None = None
    stay_low: int | None = None
    stay_high: int | None = None
    scaled_by: str | None = None  # a calibration parameter the quantity is multiplied by

    @model_validator(mode="after")
    def _complete(self) -> Self:
        for corridor in (*self.corridors, *(self.of or ())):
            _check_corridor(corridor)
        needs = {"stock": ("month",), "insured": ("month",), "insured_share": ("month",),
                 "stock_share": ("month", "of"), "arrivals": ("from_", "to"),
                 "lswp_per_stock": ("from_", "to", "month"),
                 "stay_share": ("from_", "to", "stay_low", "stay_high")}[self.measure]
        missing = [n.rstrip("_") for n in needs if getattr(self, n) is None]
        if missing:
            raise ValueError(f"{self.measure} needs {', '.join(missing)}")
        return self

    def months(self, name: str) -> Month:
        value = getattr(self, name)
        assert value is not None  # checked by _complete for the measure that reads it
        return _month(value)


class Tolerance(_Model):
    relative: Number | None = None
    band: tuple[Number, Number] | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.relative is None) == (self.band is None):
            raise ValueError("give either relative or band")
        if self.band is not None and self.band[1] < self.band[0]:
            raise ValueError(f"band high {self.band[1]} is below low {self.band[0]}")
        if self.relative is not None and not Decimal(0) < self.relative < Decimal(1):
            raise ValueError(f"a relative tolerance is between 0 and 1, got {self.relative}")
        return self


class Target(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
    label: Text
    figure: Number
    unit: Text
    date: Text
    quantity: Quantity
    tier: Tier
    tolerance: Tolerance
    source: Text
    url: Annotated[str, Field(pattern=r"^https?://")]
    reliability: Text

    def bounds(self) -> tuple[float, float]:
        """The accepted interval for the simulated value."""
        t = self.tolerance
        if t.band is not None:
            return float(t.band[0]), float(t.band[1])
        assert t.relative is not None
        return float(self.figure * (1 - t.relative)), float(self.figure * (1 + t.relative))


class NotCalibratable(_Model):
    parameter: Text
    what: Text
    why: Text
    sweep: tuple[Number, Number]
    sweep_note: Text


class Targets(_Model):
    reviewed: Text
    targets: tuple[Target, ...] = Field(min_length=1)
    not_calibratable: tuple[NotCalibratable, ...]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [t.id for t in self.targets]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"target ids repeat: {', '.join(repeated)}")
        return self


class Param(_Model):
    """A number of the calibration scenario; `free: [low, high]` lets the fit move it."""

    value: Number
    free: tuple[Number, Number] | None = None
    unit: Text
    source: Text
    writes: tuple[str, ...] = ()  # scenario keys the fitted value is written to
    # For the longest contract's share: the weights of the shorter lengths, which share the rest
    # (fixed here, so a fit does not read back the shares an earlier fit wrote).
    others: dict[int, Number] | None = None

    @model_validator(mode="after")
    def _inside(self) -> Self:
        if self.free is not None and not self.free[0] <= self.value <= self.free[1]:
            raise ValueError(f"value {self.value} is outside free {list(self.free)}")
        return self


class Arrivals(_Model):
    reference_year: int
    split: dict[str, Number] | None = None  # several corridors' arrivals, shared by weight
    level: Param
    growth: Param
    years: dict[int, Param] = Field(default_factory=dict)

    def corridors(self, key: str) -> tuple[str, ...]:
        return tuple(self.split) if self.split else (key,)

    def shares(self, key: str) -> dict[str, float]:
        """Corridor -> its share of these arrivals."""
        if not self.split:
            return {key: 1.0}
        total = sum(self.split.values())
        return {c: float(w / total) if total else 1 / len(self.split)
                for c, w in self.split.items()}


class Calibration(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9+-]{1,62}$")]
    kind: Literal["calibration"]
    title: Text
    scenario: Text
    start: MonthText
    end: MonthText
    targets: Text
    arrivals: dict[str, Arrivals] = Field(min_length=1)
    parameters: dict[str, Param]

    @model_validator(mode="after")
    def _corridors(self) -> Self:
        for key, a in self.arrivals.items():
            for corridor in a.corridors(key):
                _check_corridor(corridor)
        if _month(self.end).to_int() <= _month(self.start).to_int():
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self

    def corridors(self) -> dict[str, str]:
        """Corridor -> the arrivals entry that sets its arrivals."""
        return {c: key for key, a in self.arrivals.items() for c in a.corridors(key)}


def _parse(model: type[BaseModel], data: object, source: str) -> Any:
    if not isinstance(data, dict):
        raise DomainError(ErrorCode.INVALID_INPUT, f"{source}: the top level must be a mapping")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source) from None


def calibration_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return CALIBRATION_DIR / f"{name_or_path}.yaml"


def fitted_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.fitted.yaml")


def load_calibration(name_or_path: str) -> tuple[Calibration, Path]:
    path = calibration_path(name_or_path)
    calibration: Calibration = _parse(Calibration, read_yaml(path), str(path))
    return calibration, path


def load_targets(calibration: Calibration, path: Path) -> Targets:
    """The targets file the calibration names; a month outside the calibration's years, or a
    corridor it does not simulate, is refused with the target's key."""
    where = path.parent / calibration.targets
    targets: Targets = _parse(Targets, read_yaml(where), str(where))
    first, last = _month(calibration.start).to_int(), _month(calibration.end).to_int()
    simulated = calibration.corridors()
    for n, t in enumerate(targets.targets):
        q = t.quantity
        for name in ("month", "from_", "to"):
            value = getattr(q, name)
            if value is not None and not first <= _month(value).to_int() <= last:
                key = f"targets.{n}.quantity.{name.rstrip('_')}"
                raise DomainError(ErrorCode.INVALID_INPUT,
                                  f"{where}: {key}: {value} is outside the calibration's "
                                  f"{calibration.start} to {calibration.end}", field=key)
        for corridor in (*q.corridors, *(q.of or ())):
            if corridor not in simulated:
                key = f"targets.{n}.quantity.corridors"
                raise DomainError(ErrorCode.INVALID_INPUT,
                                  f"{where}: {key}: {corridor} is not simulated by "
                                  f"{calibration.name}", field=key)
    return targets


def free_parameters(calibration: Calibration) -> dict[str, Param]:
    """Dotted name -> parameter, for every parameter the fit may move (a stable order)."""
    out: dict[str, Param] = {}
    for key, a in calibration.arrivals.items():
        for name, p in (("level", a.level), ("growth", a.growth),
                        *((str(y), p) for y, p in sorted(a.years.items()))):
            if p.free is not None:
                out[f"arrivals.{key}.{name}"] = p
    for name, p in calibration.parameters.items():
        if p.free is not None:
            out[f"parameters.{name}"] = p
    return out


def values(calibration: Calibration, fitted: dict[str, Decimal] | None = None
           ) -> dict[str, Decimal]:
    """Every parameter's value by dotted name: the fitted value where there is one."""
    out: dict[str, Decimal] = {}
    for key, a in calibration.arrivals.items():
        out[f"arrivals.{key}.level"] = a.level.value
        out[f"arrivals.{key}.growth"] = a.growth.value
        for year, p in a.years.items():
            out[f"arrivals.{key}.{year}"] = p.value
    for name, p in calibration.parameters.items():
        out[f"parameters.{name}"] = p.value
    for name, value in (fitted or {}).items():
        if name not in out:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              f"fitted value for {name}: the calibration has no such parameter",
                              field=name)
        out[name] = value
    return out


class Fitted(_Model):
    """What `clmtv calibrate` wrote: the values and how they were obtained."""

    calibration: Text
    fitted_on: Text
    method: Text
    targets_fitted: tuple[str, ...]
    cost: Number
    seconds: Number
    values: dict[str, Number]
    provenance: dict[str, Text]
    # The calibrated state at the calibration's end: workers in covered work per corridor (in
    # Thailand the insured ones), which the scenario's populations are set to.
    state_month: Text
    state: dict[str, int]


def read_fitted(path: Path) -> Fitted | None:
    where = fitted_path(path)
    if not where.exists():
        return None
    fitted: Fitted = _parse(Fitted, read_yaml(where), str(where))
    return fitted


def write_fitted(path: Path, fitted: Fitted) -> Path:
    where = fitted_path(path)
    header = ("# Written by `clmtv calibrate`: the fitted values of the free parameters of "
              f"{path.name},\n# with their provenance. Do not edit: rerun the command.\n")
    data = fitted.model_dump(mode="json")
    where.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False,
                                             width=100), encoding="utf-8")
    return where


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
