"""A fund adapter built on its bundled parameters with some values replaced, for the rule
branches the bundled files never reach (a zero rate, a missing table entry)."""

from __future__ import annotations

from typing import Any

from ledger.adapters.base import FundAdapter
from ledger.adapters.parameters import Entry, Parameters
from ledger.adapters.registry import get_adapter
from ledger.domain.periods import Month

SINCE = Month(1990, 1)


def adapter_with(fund: str, **values: Any) -> FundAdapter:
    """`fund`'s adapter whose parameter `key` is `values[key]` at every month from 1990."""
    bundled = get_adapter(fund)
    params = bundled.parameters
    keys = params.keys()  # a Parameters, not a dict: no iteration of its own
    entries = {key: list(params.history(key)) for key in keys}
    for key, value in values.items():
        assert key in entries, key
        entries[key] = [Entry(key, SINCE, value, "test", True, None)]
    return type(bundled)(Parameters(params.fund, params.currency, entries, params.registry))
