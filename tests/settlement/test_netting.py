"""Netting: exact zero-sum positions, a naive reference, settlement payments, FX residue."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

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


# -- what each refusal says, results field by field ---------------------------------------------

WORKED = [(3, 0, 100), (3, 1, 50), (0, 3, 30), (4, 2, 70), (2, 4, 20), (1, 0, 10)]


def refused(call: Any) -> DomainError:
    with pytest.raises(DomainError) as err:
        call()
    return err.value


def test_the_worked_window_summary_and_hub_payments() -> None:
    result = net(WORKED)
    assert result.summary() == {
        "currency": "USD",
        "transfer_count": 6,
        "gross_volume_minor": "280",
        "bilateral_net_volume_minor": "180",
        "net_volume_minor": "170",
        "multilateral_saving": "11/28",
        "multilateral_saving_pct": "39.29",
        "two_wayness": "5/14",
        "two_wayness_pct": "35.71",
        "positions_minor": {"KH-NSSF": "80", "MM-SSB": "40", "VN-VSS": "50", "TH-SSO": "-120",
                            "JP-JPS": "-50"},
    }
    assert payments_via_hub(result) == (
        SettlementPayment("TH-SSO", HUB, Money(120, USD)),
        SettlementPayment("JP-JPS", HUB, Money(50, USD)),
        SettlementPayment(HUB, "KH-NSSF", Money(80, USD)),
        SettlementPayment(HUB, "MM-SSB", Money(40, USD)),
        SettlementPayment(HUB, "VN-VSS", Money(50, USD)),
    )
    assert result.gross.tolist()[3] == [100, 50, 0, 0, 0]  # gross[payer, payee]
    assert (result.funds, result.currency) == (FUNDS, USD)


def test_a_percentage_of_an_exact_tie_rounds_to_even() -> None:
    # gross 40,000, net 39,998: saving 2/40000 = 0.005% -> 0.00 (half up would say 0.01)
    result = net([(0, 1, 39_999), (1, 0, 1)])
    assert (result.gross_volume, result.net_volume) == (40_000, 39_998)
    assert result.summary()["multilateral_saving_pct"] == "0.00"
    # 6/40000 = 0.015% -> 0.02
    result = net([(0, 1, 39_997), (1, 0, 3)])
    assert result.summary()["multilateral_saving_pct"] == "0.02"
    assert net([(0, 1, 5)]).summary()["multilateral_saving_pct"] == "0.00"  # nothing offsets
    assert net([(0, 1, 5), (1, 0, 5)]).summary()["multilateral_saving_pct"] == "100.00"


def test_positions_of_funds_outside_the_window_are_refused() -> None:
    err = refused(lambda: net(WORKED).position("LA-SSO"))
    assert (err.code, err.field, err.message) == (
        ErrorCode.UNKNOWN_FUND, "fund", "LA-SSO is not in this window")


@pytest.mark.parametrize(("rows", "field", "index", "message"), [
    ([(0, 1, 5), (5, 1, 5)], "payers", 1, "a payer index is outside 0..4"),
    ([(-1, 1, 5)], "payers", 0, "a payer index is outside 0..4"),
    ([(0, 5, 5)], "payees", 0, "a payee index is outside 0..4"),
    ([(0, 1, 5), (0, -1, 5)], "payees", 1, "a payee index is outside 0..4"),
    ([(0, 1, 5), (2, 2, 5)], "payees", 1, "a fund cannot owe itself"),
    ([(0, 1, 5), (0, 1, 0)], "amounts_minor", 1, "an obligation amount must be positive"),
    ([(0, 1, -5)], "amounts_minor", 0, "an obligation amount must be positive"),
])
def test_each_bad_row_is_refused_by_field_index_and_message(
    rows: list[Row], field: str, index: int, message: str
) -> None:
    err = refused(lambda: net(rows))
    assert (err.code, err.field, err.index, err.message) == (
        ErrorCode.INVALID_INPUT, field, index, message)


def test_the_highest_and_lowest_fund_indexes_are_valid() -> None:
    result = net([(4, 0, 1), (0, 4, 3)])
    assert result.net.tolist() == [-2, 0, 0, 0, 2]


def test_column_refusals_name_the_column() -> None:
    err = refused(lambda: net_obligations([[0]], [1], [5], FUNDS, USD))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_INPUT, "payers", "payers must be a 1-D array of integers, got 2-D int64")
    err = refused(lambda: net_obligations([0], [1], np.array([1.5]), FUNDS, USD))
    assert (err.field, err.message) == (
        "amounts_minor", "amounts_minor must be a 1-D array of integers, got 1-D float64")
    err = refused(lambda: net_obligations([0], [1.0], [5], FUNDS, USD))
    assert err.field == "payees"
    above = np.array([2**63], dtype=np.uint64)
    err = refused(lambda: net_obligations([0], [1], above, FUNDS, USD))
    assert (err.code, err.field, err.message) == (
        ErrorCode.OVERFLOW, "amounts_minor", "amounts_minor has values above int64")
    err = refused(lambda: net_obligations([0, 1], [1], [5], FUNDS, USD))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_INPUT, None, "payers, payees and amounts differ in length")


def test_unsigned_and_empty_columns_are_integers_too() -> None:
    top = np.array([2**63 - 1], dtype=np.uint64)
    result = net_obligations(np.array([0], dtype=np.uint8), [1], top, FUNDS, USD)
    assert result.gross_volume == 2**63 - 1  # exactly the 64-bit limit is taken
    empty = net_obligations(np.array([], dtype=np.float64), [], [], FUNDS, USD)
    assert empty.transfer_count == 0


def test_a_window_one_unit_beyond_64_bits_is_refused_by_code_and_message() -> None:
    err = refused(lambda: net([(0, 1, 2**62), (1, 0, 2**62)]))
    assert (err.code, err.field, err.message) == (
        ErrorCode.OVERFLOW, None, "the window's gross volume exceeds 64 bits")


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ledger.settlement.netting._ROWS_MAX", 3)
    assert net([(0, 1, 1)] * 3).transfer_count == 3
    err = refused(lambda: net([(0, 1, 1)] * 4))
    assert (err.code, err.field, err.message) == (
        ErrorCode.BATCH_TOO_LARGE, None, "more than 3 obligations")


@pytest.mark.parametrize("funds", [(), ("TH-SSO", "KH-NSSF", "TH-SSO")])
def test_funds_must_be_distinct_and_not_empty(funds: tuple[str, ...]) -> None:
    err = refused(lambda: net_obligations([], [], [], funds, USD))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_INPUT, "funds", "funds must be distinct and not empty")


def test_an_unknown_fund_is_named_under_funds() -> None:
    err = refused(lambda: net_obligations([0], [1], [5], ("TH-SSO", "LA-SSO"), USD))
    assert (err.code, err.field) == (ErrorCode.UNKNOWN_FUND, "funds")


def test_greedy_payments_break_ties_by_fund_order() -> None:
    # KH and MM owe 30 each, VN and TH are owed 30 each: first debtor pays first creditor.
    result = net([(0, 2, 30), (1, 3, 30)])
    assert payments_greedy(result) == (
        SettlementPayment("KH-NSSF", "VN-VSS", Money(30, USD)),
        SettlementPayment("MM-SSB", "TH-SSO", Money(30, USD)),
    )
    # one debtor, two creditors: the larger creditor is paid first
    result = net([(4, 0, 10), (4, 1, 25)])
    assert payments_greedy(result) == (
        SettlementPayment("JP-JPS", "MM-SSB", Money(25, USD)),
        SettlementPayment("JP-JPS", "KH-NSSF", Money(10, USD)),
    )


# -- FX refusals and fields ----------------------------------------------------------------------


def test_fx_keeps_what_it_was_asked() -> None:
    fx = convert_to_settlement([100], Currency.THB, USD, Decimal("0.0285"), Rounding.HALF_EVEN,
                               rate_source="hub reference 2027-01-31")
    assert (fx.source, fx.target, fx.rate, fx.rounding, fx.rate_source) == (
        Currency.THB, USD, Decimal("0.0285"), Rounding.HALF_EVEN, "hub reference 2027-01-31")
    assert convert_to_settlement([], Currency.THB, USD, Decimal(1), Rounding.UP).rate_source == ""
    with pytest.raises(ValueError, match="read-only"):
        fx.converted[0] = 1


def test_fx_takes_amounts_down_to_minus_2_pow_63_plus_1() -> None:
    lowest = np.array([0, -(2**63) + 1], dtype=np.int64)
    fx = convert_to_settlement(lowest, USD, USD, Decimal(1), Rounding.DOWN)
    assert fx.converted.tolist() == [0, -(2**63) + 1]
    err = refused(lambda: convert_to_settlement(
        np.array([0, -(2**63)], dtype=np.int64), USD, USD, Decimal(1), Rounding.DOWN))
    assert (err.code, err.field, err.index, err.message) == (
        ErrorCode.INVALID_INPUT, "amounts_minor", 1, "an amount is below -(2**63 - 1)")


@pytest.mark.parametrize("rate", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity"),
                                  0.0285, 1])
def test_fx_rate_refusals_name_the_rate(rate: object) -> None:
    err = refused(lambda: convert_to_settlement([1], Currency.THB, USD, rate, Rounding.DOWN))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_RATE, None, f"an FX rate is a positive Decimal, not {rate!r}")


def test_fx_overflow_on_the_exact_path_is_refused_by_message() -> None:
    err = refused(lambda: convert_to_settlement([2**62], USD, Currency.KHR, Decimal("4100"),
                                                Rounding.DOWN))
    assert (err.code, err.field, err.message) == (
        ErrorCode.OVERFLOW, None, "a converted amount exceeds 64 bits")


def test_fx_at_the_edge_of_the_fast_path_is_exact() -> None:
    # largest × numerator exactly 2**63 - 1 stays in int64; one more takes the exact path.
    for amount in (2**63 - 1, 2**62):
        fx = convert_to_settlement([amount, -amount], USD, USD, Decimal("0.5"), Rounding.HALF_UP)
        half = Money(amount, USD).convert(USD, Decimal("0.5"), Rounding.HALF_UP).amount_minor
        assert fx.converted.tolist() == [half, -half]


def test_greedy_payments_walk_the_debtors_in_order() -> None:
    result = net([(0, 3, 30), (1, 3, 20), (2, 3, 10)])
    assert payments_greedy(result) == (
        SettlementPayment("KH-NSSF", "TH-SSO", Money(30, USD)),
        SettlementPayment("MM-SSB", "TH-SSO", Money(20, USD)),
        SettlementPayment("VN-VSS", "TH-SSO", Money(10, USD)),
    )


def test_the_gross_matrix_is_int64_to_the_last_unit() -> None:
    result = net_obligations([0, 1], [1, 0], [2**62 + 1, 2**61 + 3], FUNDS, USD)
    assert result.gross.dtype == np.int64 and result.net.dtype == np.int64
    assert (int(result.gross[0, 1]), result.gross_volume) == (2**62 + 1, 2**62 + 2**61 + 4)


@pytest.mark.parametrize("rate", [Decimal("2E-19"), Decimal("1E-19")])
def test_fx_rates_whose_denominator_exceeds_2_pow_62_take_the_exact_path(rate: Decimal) -> None:
    # 2E-19 = 1 / 5e18 (between 2**62 and 2**63) and 1E-19 (beyond 2**63): the int64 path
    # refuses such denominators. 5e18 × 2E-19 = 1; 5e18 × 1E-19 = 0.5, half up 1.
    fx = convert_to_settlement([5 * 10**18, -(5 * 10**18), 7], USD, USD, rate, Rounding.HALF_UP)
    assert fx.converted.tolist() == [1, -1, 0]


def test_fx_on_the_exact_path_takes_exactly_the_64_bit_maximum() -> None:
    # 73 divides 2**63 - 1, and 73/64 = 1.140625 is a decimal rate: the product leaves int64,
    # the result is exactly the largest amount there is.
    amount = (2**63 - 1) // 73 * 64
    fx = convert_to_settlement([amount], USD, USD, Decimal("1.140625"), Rounding.DOWN)
    assert fx.converted.tolist() == [2**63 - 1]


def test_fx_amounts_must_be_an_integer_column() -> None:
    err = refused(lambda: convert_to_settlement(np.array([1.5]), USD, USD, Decimal(1),
                                                Rounding.DOWN))
    assert (err.code, err.field) == (ErrorCode.INVALID_INPUT, "amounts_minor")
