"""Differential privacy of monitoring releases (ADR 0052, docs/monitoring.md).

Three claims, each tested so that it can fail:
1. sensitivity: adding or removing one worker, however extreme their records, moves the bounded
   tables by at most the release's ε in the discrete Laplace's privacy loss (Σ |Δ| / scale);
   without the bounding the same worker exceeds it (the test sees a broken bound);
2. noise: the mechanism OpenDP runs has the stated scale: its published 95% margin holds 95%
   of the noise, its mean absolute noise is the discrete Laplace's, and the probability of any
   output changes between neighbours by at most e^ε (tested at sample sizes whose 5σ is small);
3. differencing: two releases around one worker's records do not reveal them: an attacker who
   subtracts them guesses whether the worker paid no better than e^ε'/(1+e^ε') (ε' the two
   releases' ε on that measure), and the budget refuses the release that would pass the cap.
"""

from __future__ import annotations

import math
from decimal import Decimal
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.periods import Month
from ledger.stats.privacy import (
    Budget,
    NoisyMeasure,
    bounded_table,
    margin,
    measurement,
    privacy_loss,
    privatise,
    sensitivity,
    spent,
)
from ledger.stats.tables import (
    LEDGER_MEASURES,
    MEASURE_BY_NAME,
    OTHER_ORIGIN,
    CurrencyOf,
    Grid,
    TableBuilder,
)

EPSILON = Decimal("1.0")
MONTHS = (202607, 202608, 202609)
FUNDS = ("TH-SSO", "JP-JPS", "VN-VSS")
CURRENCY = {"TH-SSO": "THB", "JP-JPS": "JPY", "VN-VSS": "VND"}
WALLETS = ("THB", "JPY", "MYR")


def grid() -> Grid:
    return Grid.of([Month.from_int(m) for m in MONTHS], ("KH", "MM", OTHER_ORIGIN), FUNDS)


@cache
def scales() -> tuple[NoisyMeasure, ...]:
    """The release's noise (scales do not depend on the data: one build gives them)."""
    return tuple(privatise(TableBuilder(grid()), EPSILON))


Fact = tuple[str, str, int, int, str]  # measure, fund, month, value, wallet currency


def add(builder: TableBuilder, worker: str, nationality: str, facts: list[Fact]) -> None:
    for name, fund, month, value, wallet in facts:
        measure = MEASURE_BY_NAME[name]
        currency = {CurrencyOf.NONE: "", CurrencyOf.FUND: CURRENCY[fund],
                    CurrencyOf.WALLET: wallet}[measure.currency]
        builder.add(name, worker, nationality, fund, month, value, currency)


facts_strategy = st.lists(st.tuples(
    st.sampled_from([m.name for m in LEDGER_MEASURES]), st.sampled_from(FUNDS),
    st.sampled_from(MONTHS), st.integers(-10**7, 10**12), st.sampled_from(WALLETS)),
    max_size=40)


def tables(population: dict[str, tuple[str, list[Fact]]], bounded: bool = True
           ) -> dict[str, np.ndarray]:
    builder = TableBuilder(grid())
    for worker, (nationality, facts) in population.items():
        add(builder, worker, nationality, facts)
    return {m.name: bounded_table(builder, m.name) if bounded else builder.exact(m.name)
            for m in LEDGER_MEASURES}


def extreme_worker() -> list[Fact]:
    """Every measure, every fund, month and wallet, each far past its cap."""
    return [(m.name, fund, month, 10**12, wallet) for m in LEDGER_MEASURES for fund in FUNDS
            for month in MONTHS for wallet in WALLETS]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(others=st.lists(st.tuples(st.sampled_from(["KH", "MM", "PH"]), facts_strategy),
                       max_size=6),
       target=facts_strategy, nationality=st.sampled_from(["KH", "MM", "PH"]))
def test_one_worker_moves_a_release_at_most_by_its_epsilon(
        others: list[tuple[str, list[Fact]]], target: list[Fact], nationality: str) -> None:
    population = {f"w{i}": other for i, other in enumerate(others)}
    without = tables(population)
    with_target = tables({**population, "target": (nationality, target)})
    loss = privacy_loss(with_target, without, scales(), TableBuilder(grid()))
    assert loss <= float(spent(scales())) + 1e-9


def test_the_most_extreme_worker_reaches_the_bound_and_unbounded_tables_would_pass_it() -> None:
    population = {"w1": ("KH", [("workers_covered", "TH-SSO", 202607, 1, "THB")])}
    worst = {**population, "target": ("MM", extreme_worker())}
    builder = TableBuilder(grid())
    bounded = privacy_loss(tables(worst), tables(population), scales(), builder)
    assert float(spent(scales())) * 0.999 <= bounded <= float(spent(scales())) + 1e-9
    unbounded = privacy_loss(tables(worst, bounded=False), tables(population, bounded=False),
                             scales(), builder)
    assert unbounded > 100 * float(EPSILON)  # the check above would catch a missing bound


def test_opendp_accounts_each_measure_at_its_share_and_the_release_at_its_epsilon() -> None:
    share = scales()[0].epsilon
    assert spent(scales()) <= EPSILON
    assert EPSILON - spent(scales()) < Decimal("0.0001")  # rounded down to millionths
    for m in scales():
        measure = MEASURE_BY_NAME[m.name]
        for currency, scale in m.scale.items():
            assert scale == pytest.approx(sensitivity(measure, currency) / float(share))
            mapped = measurement(measure, currency, share).map(sensitivity(measure, currency))
            assert mapped <= float(share) * (1 + 1e-9)


def test_the_noise_is_the_stated_discrete_laplace() -> None:
    measure = MEASURE_BY_NAME["workers_covered"]
    share = scales()[0].epsilon
    scale = sensitivity(measure, "") / float(share)
    n = 100_000
    noise = np.asarray(measurement(measure, "", share)([0] * n), dtype=np.int64)
    # the published margin holds 95% of the noise (5σ of a binomial proportion)
    inside = float(np.mean(np.abs(noise) <= margin(scale)))
    assert abs(inside - 0.95) <= 5 * math.sqrt(0.95 * 0.05 / n) + 0.001
    # the mean absolute noise is the discrete Laplace's: 2p / ((1 - p)(1 + p)), p = e^(-1/b)
    p = math.exp(-1 / scale)
    expected = 2 * p / ((1 - p) * (1 + p))
    # Var|X| = E[X²] - (E|X|)², with E[X²] = 2p / (1 - p)²
    sd = math.sqrt(2 * p / (1 - p) ** 2 - expected ** 2)
    assert abs(float(np.mean(np.abs(noise))) - expected) <= 5 * sd / math.sqrt(n)


def test_neighbours_change_any_outcome_by_at_most_e_to_the_epsilon() -> None:
    """P[output ≥ t | true = Δ] / P[output ≥ t | true = 0] ≤ e^ε_m, for t across the range."""
    measure = MEASURE_BY_NAME["workers_covered"]
    share = scales()[0].epsilon
    delta = sensitivity(measure, "")
    n = 100_000
    mechanism = measurement(measure, "", share)
    zero = np.asarray(mechanism([0] * n))
    moved = np.asarray(mechanism([delta] * n))
    bound = math.exp(float(share))
    for t in (-200, -50, 0, delta // 2, 50, 200):
        p0, p1 = float(np.mean(zero >= t)), float(np.mean(moved >= t))
        tolerance = 5 * math.sqrt(p0 * (1 - p0) / n + p1 * (1 - p1) / n) / max(p0, 1e-9)
        assert p1 / p0 <= bound + tolerance, (t, p0, p1)
        assert p1 >= p0 - 5 * math.sqrt(0.25 / n)  # more mass moves up, never less


def _attack(noise_before: np.ndarray, noise_after: np.ndarray, paid: int) -> float:
    """The attacker's accuracy: guess 'the worker paid' when the difference of the two
    releases' cells passes paid/2; half the trials the worker paid, half not."""
    half = noise_before.size // 2
    diff_paid = (paid + noise_after[:half]) - noise_before[:half]
    diff_none = noise_after[half:] - noise_before[half:]
    return float((np.mean(diff_paid > paid / 2) + np.mean(diff_none <= paid / 2)) / 2)


def test_a_differencing_attack_between_two_releases_learns_nothing_useful() -> None:
    """Release 1 before a worker's 500 THB contribution is recorded, release 2 after: the
    attacker subtracts the worker's cell. With both releases' ε on that measure, ε' = 2ε_m, no
    test does better than e^ε' / (1 + e^ε'); without noise the same attack is always right."""
    measure = MEASURE_BY_NAME["contributions_employee"]
    share = scales()[0].epsilon
    paid = 50_000  # 500 THB in satang
    n = 40_000
    mechanism = measurement(measure, "THB", share)
    before = np.asarray(mechanism([0] * n), dtype=np.int64)
    after = np.asarray(mechanism([0] * n), dtype=np.int64)
    accuracy = _attack(before, after, paid)
    epsilon_two = 2 * float(share)
    ceiling = math.exp(epsilon_two) / (1 + math.exp(epsilon_two))
    assert accuracy <= ceiling + 4 * math.sqrt(0.25 / n)
    # the attacker's estimate of what the worker paid is off by far more than the payment
    assert float(np.std(after - before)) > 10 * paid
    # without noise (exact tables) the same attack is right every time
    exact = np.zeros(n, dtype=np.int64)
    assert _attack(exact, exact, paid) == 1.0


def test_the_budget_refuses_the_release_that_would_pass_the_cap() -> None:
    budget = Budget(Decimal("2.0"))
    budget.check({}, MONTHS, Decimal("1.0"))
    budget.check({202607: Decimal("1.0")}, MONTHS, Decimal("1.0"))  # exactly the cap
    with pytest.raises(DomainError) as refused:
        budget.check({202607: Decimal("1.0"), 202608: Decimal("1.5")}, MONTHS,
                     Decimal("1.0"))
    assert refused.value.code is ErrorCode.BUDGET_EXHAUSTED
    assert refused.value.details["months"] == ["2026-08"]


def test_an_epsilon_too_small_to_share_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        privatise(TableBuilder(grid()), Decimal("0.000001"))
    assert refused.value.code is ErrorCode.INVALID_INPUT
