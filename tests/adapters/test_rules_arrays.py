"""The vectorised path equals the scalar path exactly, for every fund, scheme and kind of worker;
and the integer rounding equals Decimal rounding for every mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.adapters.arith import apply_rate, apply_rate_array, percent, round_fraction
from ledger.adapters.base import WorkerContext
from ledger.adapters.registry import get_adapter
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month

LAST = Month(2035, 12)
NO_FACT = st.just(0)
EMPTY = WorkerContext()


@dataclass(frozen=True)
class Case:
    fund: str
    scheme: str
    first: Month  # first month every parameter it reads is in force
    column: str | None = None  # a per-worker fact, drawn from `values`
    values: st.SearchStrategy[int] = NO_FACT
    context: Callable[[int], WorkerContext] = lambda _: EMPTY
    base: WorkerContext = EMPTY  # the array call's shared context
    opened: bool = False  # a scheme no product operates, opened by an agreement


def vn(regime: str) -> Callable[[int], WorkerContext]:
    return lambda zone: WorkerContext(regime=regime, zone=zone)


def abroad(prior: int) -> WorkerContext:
    return WorkerContext(regime="abroad",
                         prior_si_wage=Money(prior, Currency.VND) if prior else None)


ZONES = st.integers(1, 4)
CASES = [
    *(Case("TH-SSO", s, Month(2004, 1))
      for s in ("s33-sickness", "s33-old-age", "s33-unemployment")),
    Case("TH-SSO", "s39-voluntary", Month(2008, 1)),
    Case("TH-SSO", "s40-informal", Month(2011, 5), "s40_option", st.integers(1, 3),
         lambda o: WorkerContext(s40_option=o)),
    Case("KH-NSSF", "occupational-risk", Month(2008, 1)),
    Case("KH-NSSF", "health-care", Month(2016, 1)),
    Case("KH-NSSF", "pension", Month(2022, 10)),
    *(Case("MM-SSB", s, Month(2014, 4), "registered_at_60_or_over", st.integers(0, 1),
           lambda f: WorkerContext(registered_at_60_or_over=bool(f)))
      for s in ("health-social-care", "employment-injury")),
    *(Case("VN-VSS", s, Month(2024, 7), "zone", ZONES, vn(regime),
           WorkerContext(regime=regime))
      for s in ("retirement-survivorship", "health-insurance", "unemployment",
                "sickness-maternity", "occupational-accident")
      for regime in ("employee", "foreign")),
    Case("VN-VSS", "retirement-survivorship", Month(2019, 7), "prior_si_wage_minor",
         st.one_of(st.just(0), st.integers(1, 10**10)), abroad, WorkerContext(regime="abroad")),
    Case("JP-JPS", "epi", Month(2017, 9)),
    Case("JP-JPS", "np", Month(2021, 4)),
    # Voluntary schemes and welfare funds (ledger/adapters/voluntary.py prices them).
    *(Case("VN-VSS", "voluntary-si", Month(2025, 7),
           context=lambda _, g=group: WorkerContext(support_group=g),
           base=WorkerContext(support_group=group))
      for group in (None, "poor", "near_poor", "ethnic_minority", "other")),
    Case("VN-VSS", "migrant-welfare", Month(2022, 1)),
    Case("KH-NSSF", "voluntary-pension", Month(2022, 10)),
    Case("KH-NSSF", "migrant-welfare", Month(2026, 1), opened=True),
    Case("MM-SSB", "voluntary-abroad", Month(2014, 4), opened=True),
    Case("MM-SSB", "migrant-welfare", Month(2026, 1), opened=True),
    *(Case("LA-LSSO", s, Month(2026, 1)) for s in ("social-security", "voluntary")),
    Case("LA-LSSO", "migrant-welfare", Month(2026, 1), opened=True),
]


def scalar_amounts(case: Case, month: Month, wages: list[int], facts: list[int]
                   ) -> dict[Payer, list[int]]:
    adapter = get_adapter(case.fund)
    out: dict[Payer, list[int]] = {}
    for i, (wage, fact) in enumerate(zip(wages, facts, strict=True)):
        quote = adapter.contribution(case.context(fact), case.scheme, month,
                                     Money(wage, adapter.currency), opened=case.opened)
        for payer, amount in quote.shares:
            out.setdefault(payer, [0] * len(wages))[i] = amount.amount_minor
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.fund}:{c.scheme}:"
                         f"{c.base.regime or c.base.support_group}")
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_arrays_equal_scalar(case: Case, data: st.DataObject) -> None:
    month = case.first.plus(data.draw(st.integers(0, case.first.months_until(LAST))))
    wages = data.draw(st.lists(st.one_of(st.integers(0, 10**11), st.integers(0, 3 * 10**8)),
                               min_size=1, max_size=40))
    facts = data.draw(st.lists(case.values, min_size=len(wages), max_size=len(wages)))
    columns = {case.column: np.asarray(facts, dtype=np.int64)} if case.column else None
    arrays = get_adapter(case.fund).contribution_arrays(
        case.scheme, month, np.asarray(wages, dtype=np.int64), case.base, columns,
        opened=case.opened)
    expected = scalar_amounts(case, month, wages, facts)
    for payer in set(arrays) | set(expected):
        got = arrays.get(payer, np.zeros(len(wages), dtype=np.int64))
        assert got.dtype == np.int64
        assert got.tolist() == expected.get(payer, [0] * len(wages)), payer


def test_context_facts_apply_to_every_worker_without_columns() -> None:
    th = get_adapter("TH-SSO")
    out = th.contribution_arrays("s40-informal", Month(2025, 1), np.zeros(3, dtype=np.int64),
                                 WorkerContext(s40_option=2))
    assert out[Payer.VOLUNTARY].tolist() == [10_000] * 3
    vn_adapter = get_adapter("VN-VSS")
    out = vn_adapter.contribution_arrays(
        "retirement-survivorship", Month(2024, 7), np.array([0, 5], dtype=np.int64),
        WorkerContext(regime="abroad", prior_si_wage=Money(7_000_000, Currency.VND)))
    assert out[Payer.EMPLOYEE].tolist() == [1_540_000, 1_540_000]


def test_a_scheme_no_product_operates_is_priced_only_when_opened() -> None:
    mm = get_adapter("MM-SSB")
    wages = np.array([20_000_000], dtype=np.int64)
    with pytest.raises(DomainError) as err:
        mm.contribution_arrays("voluntary-abroad", Month(2027, 1), wages)
    assert (err.value.code, err.value.field) == (ErrorCode.SCHEME_NOT_IN_FORCE, "month")
    out = mm.contribution_arrays("voluntary-abroad", Month(2027, 1), wages, opened=True)
    assert out[Payer.VOLUNTARY].tolist() == [1_200_000]  # 6% of 200,000 kyat, in pyas
    # Opening a scheme that is not an agreement option changes nothing: old age stays closed.
    with pytest.raises(DomainError):
        mm.contribution_arrays("old-age", Month(2027, 1), wages, opened=True)


def test_array_input_is_checked() -> None:
    th = get_adapter("TH-SSO")
    for bad in (np.array([1.5]), np.array([[1]], dtype=np.int64), [1, 2]):
        with pytest.raises(DomainError) as err:
            th.contribution_arrays("s33-sickness", Month(2025, 1), bad)  # type: ignore[arg-type]
        assert err.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(DomainError) as err:
        th.contribution_arrays("s33-sickness", Month(2025, 1), np.array([-1], dtype=np.int64))
    assert err.value.code is ErrorCode.INVALID_AMOUNT
    with pytest.raises(DomainError) as err:
        th.contribution_arrays("s33-sickness", Month(2025, 1), np.array([1], dtype=np.int64),
                               columns={"zone": np.array([1, 2], dtype=np.int64)})
    assert err.value.field == "zone"


# -- the arithmetic ------------------------------------------------------------------------------
RATES = st.decimals(min_value=Decimal("-50"), max_value=Decimal("150"), places=4)


@settings(max_examples=300, deadline=None)
@given(amounts=st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=30),
       rate_percent=RATES, rounding=st.sampled_from(list(Rounding)),
       quantum=st.sampled_from([1, 10, 100]))
def test_integer_rounding_equals_decimal_rounding(
    amounts: list[int], rate_percent: Decimal, rounding: Rounding, quantum: int
) -> None:
    rate = percent(rate_percent)
    vector = apply_rate_array(np.asarray(amounts, dtype=np.int64), rate, rounding, quantum)
    scalar = [apply_rate(a, rate, rounding, quantum) for a in amounts]
    exact = [round_fraction(a * rate, rounding, quantum) for a in amounts]
    assert vector.tolist() == scalar == exact
    if quantum == 1:  # and the ledger's own Money.times agrees
        assert scalar == [Money(a, Currency.THB).times(rate_percent / 100, rounding).amount_minor
                          for a in amounts]


@pytest.mark.parametrize(("rounding", "expected"), [
    (Rounding.HALF_UP, [3, -3, 2, -2]), (Rounding.HALF_EVEN, [2, -2, 2, -2]),
    (Rounding.DOWN, [2, -2, 1, -1]), (Rounding.UP, [3, -3, 2, -2]),
    (Rounding.FLOOR, [2, -3, 1, -2]), (Rounding.CEILING, [3, -2, 2, -1])])
def test_rounding_modes_on_ties_and_fractions(rounding: Rounding, expected: list[int]) -> None:
    # 2.5, -2.5, 1.6, -1.6
    values = [Fraction(5, 2), Fraction(-5, 2), Fraction(8, 5), Fraction(-8, 5)]
    assert [round_fraction(v, rounding) for v in values] == expected
    half = Fraction(1, 2)
    arr = apply_rate_array(np.array([5, -5], dtype=np.int64), half, rounding)
    assert arr.tolist() == expected[:2]


def test_overflow_is_refused_not_wrapped() -> None:
    with pytest.raises(DomainError) as err:
        apply_rate_array(np.array([2**62], dtype=np.int64), Fraction(3, 100), Rounding.HALF_UP)
    assert err.value.code is ErrorCode.OVERFLOW
