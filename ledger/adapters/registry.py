"""Finds fund adapters by folder: any `ledger/adapters/<folder>/` holding a `parameters.yaml` and
a `rules.py` whose module attribute `ADAPTER` is a `FundAdapter` subclass; its `format.py`'s
`CODEC` is the fund's native declaration format (`codec(fund)`).

Adding a sixth fund (say `la_lsso/`) means adding that folder and nothing here. The fund's code
comes from the adapter class and must equal the `fund:` of its parameters.yaml. Adapters are
loaded once per process; `reload()` forgets them (tests, or after editing a parameters file).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import cast

from ledger.adapters.base import FundAdapter
from ledger.adapters.formats import Codec
from ledger.adapters.parameters import Parameters, check_units, load_parameters
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, Fund, FundCode, Scheme, SchemeCode, register_fund
from ledger.domain.periods import Month

PACKAGE = "ledger.adapters"
_ROOT = Path(__file__).parent


def discover(root: Path = _ROOT) -> tuple[str, ...]:
    """Folder names under `root` that hold an adapter, sorted."""
    return tuple(
        sorted(
            m.name
            for m in pkgutil.iter_modules([str(root)])
            if m.ispkg
            and (root / m.name / "parameters.yaml").is_file()
            and (root / m.name / "rules.py").is_file()
        )
    )


def load_adapter(folder: str, root: Path = _ROOT, package: str = PACKAGE) -> FundAdapter:
    """Import `<package>.<folder>.rules`, load its parameters.yaml and build the adapter."""
    module = importlib.import_module(f"{package}.{folder}.rules")
    cls = getattr(module, "ADAPTER", None)
    if not (isinstance(cls, type) and issubclass(cls, FundAdapter)):
        raise DomainError(
            ErrorCode.INVALID_PARAMETERS,
            f"{package}.{folder}.rules must define ADAPTER, a FundAdapter subclass",
        )
    check_units(cls.PARAMS)
    parameters = load_parameters(root / folder / "parameters.yaml", cls.PARAMS, fund=cls.FUND_CODE)
    _declare_fund(parameters)
    return cls(parameters)


def _declare_fund(parameters: Parameters) -> None:
    """A fund the built-in registry lacks is declared by its folder's `fund_registry:`."""
    entry = parameters.registry
    if parameters.fund in FUNDS and entry is None:
        return
    if entry is None:
        raise DomainError(
            ErrorCode.INVALID_PARAMETERS,
            f"{parameters.fund} is not a built-in fund: its parameters.yaml needs a "
            "fund_registry: section (name, country, schemes)",
            field="fund_registry",
        )
    schemes = {s.code: Scheme(SchemeCode(s.code), s.name, Month.parse(s.starts), s.long_term,
                              operating=s.operating, verified_start=s.verified_start,
                              voluntary=s.voluntary, agreement_option=s.agreement_option)
               for s in entry.schemes}
    register_fund(Fund(FundCode(parameters.fund), entry.name, entry.country.upper(),
                       parameters.currency, MappingProxyType(schemes)))


@cache
def adapters() -> Mapping[str, FundAdapter]:
    """Every adapter, by fund code (e.g. "TH-SSO")."""
    found: dict[str, FundAdapter] = {}
    for folder in discover():
        adapter = load_adapter(folder)
        if adapter.FUND_CODE in found:
            raise DomainError(
                ErrorCode.INVALID_PARAMETERS, f"two folders define {adapter.FUND_CODE}"
            )
        found[adapter.FUND_CODE] = adapter
    return MappingProxyType(found)


def get_adapter(fund_code: str, field: str = "fund") -> FundAdapter:
    found = adapters().get(fund_code)
    if found is None:
        raise DomainError(
            ErrorCode.UNKNOWN_FUND,
            f"no adapter for fund {fund_code!r}; known: {', '.join(adapters())}",
            field=field,
        )
    return found


def load_codec(folder: str, root: Path = _ROOT, package: str = PACKAGE) -> Codec:
    """`CODEC` of `<package>.<folder>.format`: the fund's native declaration format.

    Checked to have the protocol's name, parse and render, so a new folder's mistake is reported
    when it is loaded, not as an AttributeError halfway through an import."""
    if not (root / folder / "format.py").is_file():
        raise DomainError(ErrorCode.UNKNOWN_FUND,
                          f"{package}.{folder} has no declaration format (format.py: CODEC)")
    module = importlib.import_module(f"{package}.{folder}.format")
    found = getattr(module, "CODEC", None)
    missing = [a for a in ("parse", "render") if not callable(getattr(found, a, None))]
    if not isinstance(getattr(found, "name", None), str):
        missing.insert(0, "name")
    if missing:
        raise DomainError(ErrorCode.INVALID_PARAMETERS,
                          f"{package}.{folder}.format.CODEC must be a Codec; it lacks "
                          + ", ".join(missing))
    return cast(Codec, found)


def codec(fund_code: str, field: str = "fund") -> Codec:
    """The native declaration format of a fund: `CODEC` in its folder's `format.py`."""
    adapter = get_adapter(fund_code, field)
    package, folder = type(adapter).__module__.rsplit(".", 2)[:2]
    return _codec(package, folder)


@cache
def _codec(package: str, folder: str) -> Codec:
    module = importlib.import_module(package)
    root = Path(next(iter(module.__path__)))
    return load_codec(folder, root, package)


def reload() -> None:
    adapters.cache_clear()
    _codec.cache_clear()
