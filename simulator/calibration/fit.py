"""Fitting the free parameters to the targets with scipy's least_squares.

Owns `fit`. Each free parameter is rescaled to [0, 1] over its `free: [low, high]` bounds, so
the trust-region reflective method (`method="trf"`, bounded) sees comparable steps; the
residuals are `compare.residual` of every tight and band target (report targets are not fitted).
Starting from the values written in the calibration file, the fit is deterministic: the same
files give the same fitted values. Fitted values are rounded half-even to 4 significant digits
(`FIT_DIGITS`): more would claim a precision the targets do not have, and the file stays
readable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import scipy
from scipy.optimize import least_squares

from ledger.domain.periods import Month
from simulator.calibration.compare import ASSERTED, residual
from simulator.calibration.files import (
    Calibration,
    Fitted,
    Targets,
    free_parameters,
    now_text,
    values,
)
from simulator.calibration.model import live, measure, state
from simulator.population import FloatArray
from simulator.scenario import Scenario

FIT_DIGITS = 4
MAX_EVALUATIONS = 2000


@dataclass(frozen=True, slots=True)
class FitResult:
    fitted: Fitted
    evaluations: int
    converged: bool
    message: str


def significant(value: float, digits: int = FIT_DIGITS) -> Decimal:
    """`value` rounded half-even to `digits` significant digits, as an exact decimal."""
    if value == 0:
        return Decimal(0)
    d = Decimal(repr(value))
    exponent = d.adjusted() - digits + 1
    return d.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN).normalize() + 0


def fit(calibration: Calibration, scenario: Scenario, targets: Targets,
        calibration_name: str) -> FitResult:
    free = free_parameters(calibration)
    names = list(free)
    low = np.asarray([float(p.free[0]) for p in free.values() if p.free is not None])
    high = np.asarray([float(p.free[1]) for p in free.values() if p.free is not None])
    start = values(calibration)
    x0 = (np.asarray([float(start[n]) for n in names]) - low) / np.where(high > low,
                                                                          high - low, 1.0)
    fitted_targets = [t for t in targets.targets if t.tier in ASSERTED]

    def current(x: FloatArray) -> dict[str, Decimal]:
        here = dict(start)
        for name, v in zip(names, low + x * (high - low), strict=True):
            here[name] = Decimal(repr(float(v)))
        return here

    def residuals(x: FloatArray) -> FloatArray:
        lived = live(calibration, scenario, current(x))
        return np.asarray([residual(t, measure(lived, t.quantity)) for t in fitted_targets])

    began = time.perf_counter()
    result = least_squares(residuals, np.clip(x0, 0, 1), bounds=(0, 1), method="trf",
                           max_nfev=MAX_EVALUATIONS)
    seconds = time.perf_counter() - began
    best = current(result.x)
    rounded = {n: significant(float(best[n])) for n in names}
    when = now_text()
    ids = tuple(t.id for t in fitted_targets)
    provenance = {
        n: (f"calibrated to {len(ids)} published targets (simulator/calibration/targets.yaml: "
            f"{', '.join(ids)}); fitted on {when} by scipy {scipy.__version__} least_squares "
            f"(trf) within {[str(v) for v in free[n].free or ()]}")
        for n in names}
    end = Month.parse(calibration.end)
    final = state(live(calibration, scenario, values(calibration, rounded)), end)
    fitted = Fitted(calibration=calibration_name, fitted_on=when,
                    method=f"scipy {scipy.__version__} optimize.least_squares, method trf, "
                    "parameters scaled to [0, 1] over their bounds",
                    targets_fitted=ids, cost=significant(float(result.cost)),
                    seconds=significant(seconds, 3), values=rounded, provenance=provenance,
                    state_month=str(end), state=final)
    return FitResult(fitted, int(result.nfev), bool(result.success), str(result.message))
