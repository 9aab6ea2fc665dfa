"""Finds fund adapters by folder: any `ledger/adapters/<folder>/` holding a `parameters.yaml` and
a `rules.py` whose module attribute `ADAPTER` is a `FundAdapter` subclass.

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

from ledger.adapters.base import FundAdapter
from ledger.adapters.formats import Codec
from ledger.adapters.parameters import check_units, load_parameters
from ledger.domain.errors import DomainError, ErrorCode

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
    return cls(parameters)


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


def codec(fund_code: str, field: str = "fund") -> Codec:
    """The native declaration format of a fund: `CODEC` in its folder's `format.py`."""
    adapter = get_adapter(fund_code, field)
    package = type(adapter).__module__.rsplit(".", 1)[0]
    try:
        module = importlib.import_module(f"{package}.format")
    except ModuleNotFoundError:
        module = None
    found = getattr(module, "CODEC", None)
    if found is None:
        raise DomainError(ErrorCode.UNKNOWN_FUND,
                          f"{fund_code} has no declaration format ({package}/format.py: CODEC)",
                          field=field)
    return found  # type: ignore[no-any-return]


def reload() -> None:
    adapters.cache_clear()
