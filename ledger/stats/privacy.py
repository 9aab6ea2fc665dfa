"""Differentially private monitoring tables with OpenDP (ADR 0052), and the budget across releases.

The unit of privacy is one worker: two ledgers are neighbours when one has a worker (with every
record of theirs) that the other has not. For each measure m of a release:

1. **bound**: a worker counts in at most `m.cells_max` cells of the measure (the first ones in the
   grid's order: a rule that reads that worker's own facts only), and adds to a cell at most
   `m.cap_for(currency)`, clamped to [0, cap];
2. **sum** per cell. Adding or removing one worker moves cell i by at most cap_i, in at most
   `cells_max` cells;
3. **noise**: OpenDP's discrete Laplace (`make_laplace` over an integer vector, L1 distance), per
   currency with scale b = cells_max × cap / ε_m. The privacy loss of a neighbouring pair is
   Σ_i |Δ_i| / b_i ≤ Σ_i cap_i ε_m / (cells_max cap_i) ≤ ε_m, and OpenDP's privacy map,
   evaluated at the worst case (every cell in one currency), is checked to be ≤ ε_m.

A release spends ε = Σ_m ε_m (pure ε-DP measurements compose by addition); the split is equal
across the measures. The public key set (the grid) is fixed before the data is read, so every
cell is released, small or not, which is OpenDP's advice for known keys (thresholding is for keys
that come from the data); each row carries its 95% margin and a small cell is flagged, never
suppressed by its true value. Negative noisy values are kept: clamping them would bias sums.

The budget is kept per month of data and per audience (`Budget`): each release spends its ε on
every month it covers, and a release that would take a month past the cap is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import opendp.prelude as dp

from ledger.domain.errors import DomainError, ErrorCode
from ledger.stats.tables import MEASURE_BY_NAME, FactArrays, IntArray, Measure, TableBuilder

dp.enable_features("contrib")  # OpenDP's vetted mechanisms outside its stable core list

CONFIDENCE = Decimal("0.95")  # the margin published with each cell
EPSILON_QUANTUM = Decimal("0.000001")  # budgets are accounted in millionths


@dataclass(frozen=True, slots=True)
class NoisyMeasure:
    name: str
    epsilon: Decimal  # spent by this measure (≤ its share)
    sensitivity: dict[str, int]  # currency -> L1 bound of one worker on the measure's cells
    scale: dict[str, float]  # currency -> discrete Laplace scale
    margin: dict[str, int]  # currency -> half-width of the 95% interval (OpenDP's accuracy)
    values: IntArray  # noisy, one per grid cell


def bound(facts: FactArrays, measure: Measure, currencies: Sequence[str]) -> FactArrays:
    """Each worker's first `cells_max` cells (grid order), each clamped to [0, cap]. `currencies`
    gives each grid cell's currency."""
    if facts.workers.size == 0:
        return facts
    # facts come sorted by (worker, cell): rank within each worker's run
    start = np.ones(facts.workers.size, dtype=bool)
    start[1:] = facts.workers[1:] != facts.workers[:-1]
    run_start = np.maximum.accumulate(np.where(start, np.arange(facts.workers.size), 0))
    rank = np.arange(facts.workers.size) - run_start
    keep = rank < measure.cells_max
    caps = np.asarray([measure.cap_for(c) for c in currencies], dtype=np.int64)[facts.cells]
    values = np.clip(facts.values, 0, caps)
    return FactArrays(facts.workers[keep], facts.cells[keep], values[keep])


def bounded_table(builder: TableBuilder, name: str) -> IntArray:
    """The table whose sensitivity the noise is calibrated to: bounded facts, summed."""
    measure = MEASURE_BY_NAME[name]
    currencies = [c for (_, _, _, c) in builder.grid.cells(measure)]
    facts = bound(builder.facts(name), measure, currencies)
    out = np.zeros(len(currencies), dtype=np.int64)
    np.add.at(out, facts.cells, facts.values)
    return out


def sensitivity(measure: Measure, currency: str) -> int:
    """L1 bound of one worker on the measure's cells of one currency."""
    return measure.cells_max * measure.cap_for(currency)


def _laplace(scale: float) -> dp.Measurement:
    space = (dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64"))
    return dp.m.make_laplace(*space, scale=scale)


def measurement(measure: Measure, currency: str, epsilon: Decimal) -> dp.Measurement:
    """OpenDP's discrete Laplace for one measure and currency, its privacy map checked."""
    scale = float(Decimal(sensitivity(measure, currency)) / epsilon)
    noise = _laplace(scale)
    # OpenDP's privacy map is unannotated (it returns the measure's distance: a float here)
    spent = Decimal(str(noise.map(sensitivity(measure, currency))))  # type: ignore[no-untyped-call]
    if spent > epsilon + EPSILON_QUANTUM:
        raise AssertionError(f"{measure.name}: OpenDP maps Δ to ε={spent} > {epsilon}")
    return noise


def margin(scale: float) -> int:
    """Half-width of the interval that holds the noise with probability CONFIDENCE."""
    alpha = float(1 - CONFIDENCE)
    return int(np.ceil(dp.discrete_laplacian_scale_to_accuracy(scale, alpha)))


def privatise(builder: TableBuilder, epsilon: Decimal,
              measures: Sequence[str] | None = None) -> list[NoisyMeasure]:
    """Every measure of the builder, with noise; ε split equally (rounded down to the quantum)."""
    names = list(measures) if measures is not None else [m.name for m in builder.measures]
    share = (epsilon / len(names)).quantize(EPSILON_QUANTUM, rounding="ROUND_DOWN")
    if share <= 0:
        raise DomainError(ErrorCode.INVALID_INPUT, f"ε {epsilon} is too small for "
                          f"{len(names)} measures", field="epsilon")
    out = []
    for name in names:
        measure = MEASURE_BY_NAME[name]
        cells = builder.grid.cells(measure)
        true = bounded_table(builder, name)
        noisy = np.empty_like(true)
        scales: dict[str, float] = {}
        for currency in sorted({c for (_, _, _, c) in cells}):
            index = np.asarray([i for i, cell in enumerate(cells) if cell[3] == currency])
            mechanism = measurement(measure, currency, share)
            noisy[index] = np.asarray(mechanism([int(v) for v in true[index]]), dtype=np.int64)
            scales[currency] = float(Decimal(sensitivity(measure, currency)) / share)
        out.append(NoisyMeasure(name, share,
                                {c: sensitivity(measure, c) for c in scales}, scales,
                                {c: margin(s) for c, s in scales.items()}, noisy))
    return out


def spent(noisy: Sequence[NoisyMeasure]) -> Decimal:
    return sum((m.epsilon for m in noisy), Decimal(0))


def privacy_loss(before: Mapping[str, IntArray], after: Mapping[str, IntArray],
                 noisy: Sequence[NoisyMeasure], builder: TableBuilder) -> float:
    """The worst log-likelihood ratio of any release between two bounded tables: Σ |Δ| / scale
    over every cell (the discrete Laplace's density ratio). Neighbouring ledgers must give at
    most the release's ε."""
    loss = 0.0
    for m in noisy:
        currencies = [c for (_, _, _, c) in builder.grid.cells(MEASURE_BY_NAME[m.name])]
        scales = np.asarray([m.scale[c] for c in currencies])
        loss += float((np.abs(before[m.name] - after[m.name]) / scales).sum())
    return loss


@dataclass(frozen=True, slots=True)
class Budget:
    """ε per month of data for one audience: what each month may spend over all releases."""

    cap_per_month: Decimal

    def check(self, spent_by_month: Mapping[int, Decimal], months: Sequence[int],
              epsilon: Decimal) -> None:
        """Refuse (budget_exhausted) a release of ε over `months` that would take any month past
        the cap: a second release of the same data is what a differencing attack needs."""
        over = [m for m in months if spent_by_month.get(m, Decimal(0)) + epsilon
                > self.cap_per_month]
        if over:
            detail = ", ".join(f"{m // 100:04d}-{m % 100:02d} has spent "
                               f"{spent_by_month.get(m, Decimal(0))}" for m in over)
            raise DomainError(
                ErrorCode.BUDGET_EXHAUSTED,
                f"a release of ε={epsilon} would pass the cap of {self.cap_per_month} per month "
                f"of data: {detail}", field="epsilon",
                details={"cap_per_month": str(self.cap_per_month),
                         "months": [f"{m // 100:04d}-{m % 100:02d}" for m in over]})
