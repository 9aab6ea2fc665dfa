"""What a fund's rules need to know about a worker besides the wage, scalar and as columns.

`WorkerContext` carries the few facts that change a contribution: the Vietnamese regime and
minimum-wage zone, the last Vietnamese insured wage of a worker abroad, registration in Myanmar
at 60 or over, the Thai s40 option, the group the state supports in Vietnamese voluntary SI. A
fund reads only what it needs and says so when a needed fact is missing.

The vectorised path takes the same facts as int64 columns (one value per worker) under the
names in `COLUMNS`; a fact given in the context and not as a column applies to every worker.
The regime is a scalar only: the simulator runs one regime group at a time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Money


@dataclass(frozen=True, slots=True)
class WorkerContext:
    regime: str | None = None  # VN-VSS: "employee" (default), "foreign", "abroad"
    zone: int | None = None  # VN-VSS: regional minimum-wage zone 1-4 (I-IV)
    prior_si_wage: Money | None = None  # VN-VSS abroad: last wage insured in Vietnam
    registered_at_60_or_over: bool = False  # MM-SSB: higher health-and-social-care rates
    s40_option: int | None = None  # TH-SSO s40: option 1, 2 or 3
    support_group: str | None = None  # VN-VSS voluntary SI: who the state supports (None: none)

    def require_zone(self) -> int:
        if self.zone is None:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "the minimum-wage zone (1-4) is required", field="zone"
            )
        return self.zone


EMPTY = WorkerContext()

# Column name -> context field. Money columns hold minor units; flags hold 0/1.
COLUMNS: Mapping[str, str] = {
    "zone": "zone",
    "registered_at_60_or_over": "registered_at_60_or_over",
    "prior_si_wage_minor": "prior_si_wage",
    "s40_option": "s40_option",
}


def column_value(context: WorkerContext, column: str) -> int | None:
    """A context fact as the integer a column would hold (None: not given)."""
    value = getattr(context, COLUMNS[column])
    if isinstance(value, Money):
        return value.amount_minor
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, int) else None


def with_column_value(context: WorkerContext, column: str, value: int) -> WorkerContext:
    """The context with one fact replaced by a column's integer value (grouped array paths)."""
    name = COLUMNS[column]
    if name == "registered_at_60_or_over":
        return dataclasses.replace(context, registered_at_60_or_over=bool(value))
    if name == "zone":
        return dataclasses.replace(context, zone=int(value))
    if name == "s40_option":
        return dataclasses.replace(context, s40_option=int(value))
    raise ValueError(f"column {column} does not select a rate plan")
