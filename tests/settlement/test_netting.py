"""Netting: exact zero-sum positions, a naive reference, settlement payments, FX residue."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money, Rounding
from ledger.settlement.keys import HUB
from ledger.settlement.netting import (
    NettingResult,
    SettlementPayment,
    convert_to_settlement,
    exact_sum,
    net_obligations,
    payments_greedy,
    payments_via_hub,
)

FUNDS = ("KH-NSSF", "MM-SSB", "VN-VSS", "TH-SSO", "JP-JPS")
USD = Currency.USD
Row = tuple[int, int, int]


def net(rows: list[Row], funds: tuple[str, ...] = FUNDS) -> NettingResult:
    payers = np.array([r[0] for r in rows], dtype=np.int64)
    payees = np.array([r[1] for r in rows], dtype=np.int64)
    amounts = np.array([r[2] for r in rows], dtype=np.int64)
    return net_obligations(payers, payees, amounts, funds, USD)


@st.composite
def windows(draw: st.DrawFn) -> tuple[int, list[Row]]:
    size = draw(st.integers(2, 5))
    row = st.tuples(st.integers(0, size - 1), st.integers(1, size - 1),
                    st.integers(1, 10**12))
    # payee = payer + k (mod size) with k >= 1: never a fund owing itself.
    rows = [(p, (p + k) % size, a) for p, k, a in draw(st.lists(row, max_size=60))]
    return size, rows


def _reference(size: int, rows: list[Row]) -> tuple[dict[tuple[int, int], int], list[int]]:
    """Written the obvious way, one row at a time, in Python ints."""
    gross: defaultdict[tuple[int, int], int] = defaultdict(int)
    position = [0] * size
    for payer, payee, amount in rows:
        gross[payer, payee] += amount
        position[payer] -= amount
        position[payee] += amount
    return gross, position


# -- netting ------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(windows())
def test_netting_equals_a_naive_reference_and_sums_to_zero(window: tuple[int, list[Row]]) -> None:
    size, rows = window
    result = net(rows, FUNDS[:size])
    gross, position = _reference(size, rows)

    assert int(result.net.sum()) == 0
    assert result.net.tolist() == position
    assert {(i, j): int(v) for (i, j), v in np.ndenumerate(result.gross) if v} == {
        k: v for k, v in gross.items() if v
    }
    assert result.gross_volume == sum(r[2] for r in rows)
    assert result.net_volume == sum(p for p in position if p > 0)
    pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
    bilateral = sum(abs(gross[i, j] - gross[j, i]) for i, j in pairs)
    assert result.bilateral_net_volume == bilateral
    assert result.net_volume <= result.bilateral_net_volume <= result.gross_volume
    assert result.transfer_count == len(rows)


@settings(max_examples=150, deadline=None)
@given(windows())
def test_settlement_payments_realise_every_position_exactly(window: tuple[int, list[Row]]) -> None:
    size, rows = window
    result = net(rows, FUNDS[:size])
    expected = {f: int(v) for f, v in zip(result.funds, result.net, strict=True)}
    creditors_and_debtors = sum(1 for v in expected.values() if v)

    for plan in (payments_greedy(result), payments_via_hub(result)):
        assert _positions(plan, result.funds) == expected
        assert all(p.amount.amount_minor > 0 and p.amount.currency is USD for p in plan)
    greedy = payments_greedy(result)
    assert len(greedy) <= max(0, creditors_and_debtors - 1)
    assert len(payments_via_hub(result)) == creditors_and_debtors


def _positions(plan: tuple[SettlementPayment, ...], funds: tuple[str, ...]) -> dict[str, int]:
    position = dict.fromkeys(funds, 0)
    position[HUB] = 0
    for payment in plan:
        position[payment.payer] -= payment.amount.amount_minor
        position[payment.payee] += payment.amount.amount_minor
    assert position.pop(HUB) == 0  # the hub passes money through, never keeps any
    return position


def test_a_worked_window() -> None:
    """TH owes KH 100 and MM 50, KH owes TH 30, JP owes VN 70, VN owes JP 20, MM owes KH 10."""
    th, kh, mm, jp, vn = 3, 0, 1, 4, 2
    result = net([(th, kh, 100), (th, mm, 50), (kh, th, 30), (jp, vn, 70), (vn, jp, 20),
                  (mm, kh, 10)])
    assert result.position("TH-SSO") == Money(-120, USD)
    assert result.position("KH-NSSF") == Money(80, USD)
    assert result.position("MM-SSB") == Money(40, USD)
    assert result.position("VN-VSS") == Money(50, USD)
    assert result.position("JP-JPS") == Money(-50, USD)
    assert (result.gross_volume, result.bilateral_net_volume, result.net_volume) == (280, 180, 170)
    assert result.multilateral_saving == Fraction(11, 28)  # 1 - 170/280
    assert result.two_wayness == Fraction(100, 280)  # 2 × (30 + 20) offset bilaterally
    assert payments_greedy(result) == (
        SettlementPayment("TH-SSO", "KH-NSSF", Money(80, USD)),
        SettlementPayment("TH-SSO", "VN-VSS", Money(40, USD)),
        SettlementPayment("JP-JPS", "VN-VSS", Money(10, USD)),
        SettlementPayment("JP-JPS", "MM-SSB", Money(40, USD)),
    )
    assert result.summary()["multilateral_saving_pct"] == "39.29"
    with pytest.raises(DomainError) as err:
        result.position("LA-SSO")
    assert err.value.code is ErrorCode.UNKNOWN_FUND


def test_an_empty_window_nets_to_nothing() -> None:
    result = net([])
    assert result.net.tolist() == [0] * 5 and result.gross_volume == 0
    assert result.multilateral_saving == 0 and result.two_wayness == 0
    assert payments_greedy(result) == () == payments_via_hub(result)


def test_results_are_read_only() -> None:
    result = net([(0, 1, 5)])
    with pytest.raises(ValueError, match="read-only"):
        result.net[0] = 1


@pytest.mark.parametrize(
    ("rows", "field", "index"),
    [
        ([(0, 1, 5), (5, 1, 5)], "payers", 1),
        ([(0, 1, 5), (0, -1, 5)], "payees", 1),
        ([(0, 1, 5), (2, 2, 5)], "payees", 1),
        ([(0, 1, 5), (0, 1, 0)], "amounts_minor", 1),
        ([(0, 1, -5)], "amounts_minor", 0),
    ],
)
def test_a_bad_row_is_refused_with_its_index(rows: list[Row], field: str, index: int) -> None:
    with pytest.raises(DomainError) as err:
        net(rows)
    assert (err.value.code, err.value.field, err.value.index) == (
        ErrorCode.INVALID_INPUT, field, index)


def test_floats_are_not_money() -> None:
    with pytest.raises(DomainError, match="integers"):
        net_obligations([0], [1], np.array([1.5]), FUNDS, USD)


def test_columns_must_have_one_length_and_funds_must_be_known_and_distinct() -> None:
    with pytest.raises(DomainError, match="differ in length"):
        net_obligations([0, 1], [1], [5], FUNDS, USD)
    with pytest.raises(DomainError) as err:
        net_obligations([0], [1], [5], ("TH-SSO", "LA-SSO"), USD)
    assert err.value.code is ErrorCode.UNKNOWN_FUND
    with pytest.raises(DomainError, match="distinct"):
        net_obligations([0], [1], [5], ("TH-SSO", "TH-SSO"), USD)


def test_a_window_beyond_64_bits_is_refused_before_summing() -> None:
    with pytest.raises(DomainError) as err:
        net([(0, 1, 2**62), (1, 0, 2**62)])
    assert err.value.code is ErrorCode.OVERFLOW


@given(st.lists(st.integers(-(2**63) + 1, 2**63 - 1), max_size=50))
def test_exact_sum_never_wraps(values: list[int]) -> None:
    assert exact_sum(np.array(values, dtype=np.int64)) == sum(values)


# -- FX -----------------------------------------------------------------------------------------


def test_fx_residue_keeps_the_settlement_currency_balanced() -> None:
    """Three Thai obligations to USD at 0.0285: each rounds alone, the total rounds once."""
    amounts = np.array([1_000_050, 333_333, 17], dtype=np.int64)  # satang
    fx = convert_to_settlement(amounts, Currency.THB, USD, Decimal("0.0285"), Rounding.HALF_EVEN,
                               rate_source="hub reference 2027-01-31")
    # 10,000.50 THB -> 285.014 USD; 3,333.33 -> 94.999905; 0.17 -> 0.004845
    assert fx.converted.tolist() == [28501, 9500, 0]
    assert fx.source_total == Money(1_333_400, Currency.THB)
    assert fx.target_total == Money(38002, USD)  # 13,334.00 THB -> 380.019 USD
    assert fx.residue == Money(1, USD)
    # The postings: THB in to the FX account, USD out to the items and the residue to the
    # rounding account. Every currency sums to zero.
    thb = [-amounts.sum(), fx.source_total.amount_minor]
    usd = [-fx.target_total.amount_minor, *fx.converted.tolist(), fx.residue.amount_minor]
    assert sum(thb) == 0 and sum(usd) == 0


RATES = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("50000"), places=6,
                    allow_nan=False, allow_infinity=False)
CURRENCIES = st.sampled_from(list(Currency))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-(10**12), 10**12), max_size=30), CURRENCIES, CURRENCIES, RATES,
       st.sampled_from(Rounding))
def test_fx_items_match_money_convert_and_the_residue_closes_the_gap(
    amounts: list[int], source: Currency, target: Currency, rate: Decimal, rounding: Rounding
) -> None:
    fx = convert_to_settlement(np.array(amounts, dtype=np.int64), source, target, rate, rounding)
    expected = [Money(a, source).convert(target, rate, rounding).amount_minor for a in amounts]
    assert fx.converted.tolist() == expected
    total = Money(sum(amounts), source).convert(target, rate, rounding)
    assert fx.target_total == total
    assert sum(expected) + fx.residue.amount_minor == total.amount_minor
    assert abs(fx.residue.amount_minor) <= len(amounts)  # under one minor unit per item


def test_fx_takes_the_exact_path_when_products_exceed_int64() -> None:
    amounts = np.array([2**62, -(2**61) - 3], dtype=np.int64)
    rate = Decimal("0.000123456789")
    fx = convert_to_settlement(amounts, Currency.VND, Currency.USD, rate, Rounding.HALF_UP)
    expected = [Money(int(a), Currency.VND).convert(USD, rate, Rounding.HALF_UP).amount_minor
                for a in amounts]
    assert fx.converted.tolist() == expected


@pytest.mark.parametrize("rate", [Decimal(0), Decimal(-1), Decimal("NaN"), 0.0285])
def test_fx_rates_must_be_positive_finite_decimals(rate: object) -> None:
    with pytest.raises(DomainError) as err:
        convert_to_settlement([1], Currency.THB, USD, rate, Rounding.DOWN)  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.INVALID_RATE


def test_fx_overflow_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        convert_to_settlement([2**62], USD, Currency.KHR, Decimal("4100"), Rounding.DOWN)
    assert err.value.code is ErrorCode.OVERFLOW


# -- FX ties: the settlement's twin of the adapters' tie table ------------------------------------

TENTHS = [25, -25, 15, -15, 16, -16, 14, 5, -5]  # × 0.1: 2.5, -2.5, 1.5, -1.5, 1.6, ...


@pytest.mark.parametrize(("rounding", "expected"), [
    (Rounding.HALF_UP, [3, -3, 2, -2, 2, -2, 1, 1, -1]),
    (Rounding.HALF_EVEN, [2, -2, 2, -2, 2, -2, 1, 0, 0]),
    (Rounding.DOWN, [2, -2, 1, -1, 1, -1, 1, 0, 0]),
    (Rounding.UP, [3, -3, 2, -2, 2, -2, 2, 1, -1]),
    (Rounding.FLOOR, [2, -3, 1, -2, 1, -2, 1, 0, -1]),
    (Rounding.CEILING, [3, -2, 2, -1, 2, -1, 2, 1, 0]),
])
def test_fx_rounds_exact_ties_by_the_named_mode(rounding: Rounding, expected: list[int]) -> None:
    fx = convert_to_settlement(TENTHS, USD, USD, Decimal("0.1"), rounding)
    assert fx.converted.tolist() == expected
    # the total (14 cents × 0.1 = 1.4, the table's seventh value) converts once
    assert (fx.source_total, fx.target_total) == (Money(14, USD), Money(expected[6], USD))
    assert fx.residue == Money(expected[6] - sum(expected), USD)
    # across exponents: THB satang (2 digits) to JPY yen (0 digits) at 1: 25 satang = 0.25 yen
    fx = convert_to_settlement([250, -250, 150, -150], Currency.THB, Currency.JPY, Decimal(1),
                               rounding)
    assert fx.converted.tolist() == expected[:4]
