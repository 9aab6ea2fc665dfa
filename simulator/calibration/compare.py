"""Simulated beside published: one row per target, with its distance and verdict.

Owns `Row`, `compare` and `residual`. The distance is the simulated value's relative gap to
the published figure (simulated / published − 1). A target holds when its simulated value lies
in the target's accepted interval (`Target.bounds`): published ± the relative tolerance, or the
band. The fit's residual is the gap measured in tolerances: for a relative tolerance the
relative gap divided by it (|r| <= 1 inside), for a band the distance outside the band divided
by its half-width (0 inside). `report` targets have no residual: they are shown, not fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from simulator.calibration.files import Calibration, Target, Targets
from simulator.calibration.model import live, measure
from simulator.scenario import Scenario

ASSERTED = ("tight", "band")


@dataclass(frozen=True, slots=True)
class Row:
    target: Target
    simulated: float

    @property
    def published(self) -> float:
        return float(self.target.figure)

    @property
    def distance(self) -> float:
        return self.simulated / self.published - 1 if self.published else 0.0

    @property
    def holds(self) -> bool:
        low, high = self.target.bounds()
        return low <= self.simulated <= high

    @property
    def verdict(self) -> str:
        if self.target.tier == "report":
            return "shown only"
        return "holds" if self.holds else "OUTSIDE"


def residual(target: Target, simulated: float) -> float:
    figure = float(target.figure)
    if target.tolerance.relative is not None:
        return (simulated / figure - 1) / float(target.tolerance.relative)
    low, high = target.bounds()
    half = (high - low) / 2 or 1.0
    if simulated < low:
        return (simulated - low) / half
    if simulated > high:
        return (simulated - high) / half
    return 0.0


def compare(calibration: Calibration, scenario: Scenario, targets: Targets,
            values: dict[str, Decimal]) -> list[Row]:
    lived = live(calibration, scenario, values)
    return [Row(t, measure(lived, t.quantity)) for t in targets.targets]


def formatted(row: Row, value: float) -> str:
    """Counts as whole numbers with separators, shares as percentages."""
    if "share" in row.target.unit or row.target.quantity.measure in (
            "stock_share", "insured_share", "lswp_per_stock", "stay_share"):
        return f"{value:.1%}"
    return f"{value:,.0f}"


def tolerance_text(row: Row) -> str:
    """±5%, or the band in the target's units."""
    t = row.target.tolerance
    if t.relative is not None:
        return f"±{float(t.relative):.0%}"
    low, high = row.target.bounds()
    return f"{formatted(row, low)} – {formatted(row, high)}"
