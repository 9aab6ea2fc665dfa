"""The simulator's vectorised refund rules equal the adapters' scalar rules, case by case."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ledger.adapters.arith import round_fraction
from ledger.adapters.base import FundAdapter
from ledger.adapters.context import EMPTY
from ledger.adapters.jp_jps.rules import JpJpsAdapter
from ledger.adapters.parameters import load_parameters
from ledger.adapters.refunds import Claim, History, MonthRecord
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso.rules import ThSsoAdapter
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month
from simulator.refunds import jp_lswp, round_div, th_lump_sum

START = Month(2020, 1)
ADAPTERS = Path(__file__).resolve().parents[2] / "ledger" / "adapters"


def test_round_div_matches_round_fraction_in_every_mode() -> None:
    rng = random.Random(5)
    nums = [rng.randint(-10**9, 10**9) for _ in range(3000)] + [-7, -5, -3, 3, 5, 7, 0]
    dens = [rng.choice([1, 2, 3, 4, 10, 12, 60, 1000, rng.randint(1, 10**6)]) for _ in nums]
    for mode in Rounding:
        got = round_div(np.array(nums, dtype=np.int64), np.array(dens, dtype=np.int64), mode)
        want = [round_fraction(Fraction(n, d), mode) for n, d in zip(nums, dens, strict=True)]
        assert got.tolist() == want, mode


# Records are only the rules' input: a quote is reused within a calendar year (the Thai
# parameters change in January) to keep the test fast.
_QUOTES: dict[tuple[int, int, int], MonthRecord] = {}


def _th_history(adapter: FundAdapter, rng: random.Random) -> History:
    months = rng.randint(1, 179)
    first = START.plus(rng.randint(0, 120))
    wage = rng.choice([500_00, 1_650_00, 9_600_00, 12_345_67, 17_500_00, 30_000_00])
    records = []
    for i in range(months):
        month = first.plus(i)
        if rng.random() < 0.1:  # a pay rise now and then
            wage += rng.randint(0, 2_000_00)
        key = (id(adapter), wage, month.year)
        if key not in _QUOTES:
            quote = adapter.contribution(EMPTY, "s33-old-age", month, Money(wage, Currency.THB))
            _QUOTES[key] = MonthRecord(month, "s33-old-age", quote.wage_base.amount_minor,
                                       quote.shares_minor())
        q = _QUOTES[key]
        records.append(MonthRecord(month, q.scheme, q.wage_base_minor, q.shares_minor))
    return History("TH-SSO", Currency.THB, tuple(records))


def _th_sums(history: History) -> tuple[int, int, int, int, int]:
    employee = employer = employee_m = employer_m = 0
    for r in history.records:
        e, m = r.shares_minor.get(Payer.EMPLOYEE, 0), r.shares_minor.get(Payer.EMPLOYER, 0)
        index = START.months_until(r.month)
        employee, employer = employee + e, employer + m
        employee_m, employer_m = employee_m + e * index, employer_m + m * index
    return employee, employer, employee_m, employer_m, len(history.records)


@pytest.fixture(scope="module", params=["0", "3.5"])
def thai(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ThSsoAdapter:
    """The Thai adapter with its own parameters, and with a non-zero investment return."""
    text = (ADAPTERS / "th_sso" / "parameters.yaml").read_text(encoding="utf-8")
    marker = "  old_age_return_rate_annual:"
    head, tail = text.split(marker)
    tail = tail.replace("value: 0\n", f"value: {request.param}\n", 1)
    path = tmp_path_factory.mktemp("th") / "parameters.yaml"
    path.write_text(head + marker + tail, encoding="utf-8")
    return ThSsoAdapter(load_parameters(path, ThSsoAdapter.PARAMS, fund="TH-SSO"))


def test_thai_lump_sum_equals_the_adapter(thai: ThSsoAdapter) -> None:
    rng = random.Random(11)
    cases = []
    for _ in range(300):
        history = _th_history(thai, rng)
        claim_month = history.records[-1].month.plus(rng.randint(0, 400))
        cases.append((history, claim_month))
    sums = np.array([_th_sums(h) for h, _ in cases], dtype=np.int64)
    claims = np.array([START.months_until(c) for _, c in cases], dtype=np.int64)
    got = th_lump_sum(sums[:, 0], sums[:, 1], sums[:, 2], sums[:, 3], sums[:, 4], claims, START,
                      thai.parameters)
    for k, (history, claim_month) in enumerate(cases):
        (want,) = thai.withdrawal(history, Claim(claim_month, age_years=55,
                                                 insured_status_ended=True))
        assert int(got.gross[k]) == want.gross.amount_minor, (k, want.basis)
        amounts = {p.label: p.amount.amount_minor for p in want.payments}
        assert int(got.contributions[k]) == amounts["contributions"]
        assert int(got.investment_return[k]) == amounts.get("investment_return", 0)
    # Both payers from 12 months, and the interest path is really exercised with a rate.
    assert (sums[:, 4] >= 12).any() and (sums[:, 4] < 12).any()


def test_japanese_lswp_equals_the_adapter() -> None:
    jp = get_adapter("JP-JPS")
    assert isinstance(jp, JpJpsAdapter)
    rng = random.Random(7)
    cases = []
    jp_quotes: dict[tuple[int, int, bool], tuple[int, dict[Payer, int]]] = {}
    for _ in range(400):
        months = rng.randint(6, 110)
        first = START.plus(rng.randint(0, 200))
        wage = rng.randint(60_000, 700_000)
        records = []
        for i in range(months):
            if rng.random() < 0.08:
                wage = rng.randint(60_000, 700_000)
            month = first.plus(i)
            key = (wage, month.year, month.month >= 9)  # grades changed in September 2020
            if key not in jp_quotes:
                quote = jp.contribution(EMPTY, "epi", month, Money(wage, Currency.JPY))
                jp_quotes[key] = (quote.wage_base.amount_minor, quote.shares_minor())
            base, shares = jp_quotes[key]
            records.append(MonthRecord(month, "epi", base, shares))
        last = records[-1].month
        left = last.plus(1)
        claim = left.plus(rng.randint(0, 24))
        cases.append((History("JP-JPS", Currency.JPY, tuple(records)), left, claim))
    standard = np.array([sum(r.wage_base_minor for r in h.records) for h, _, _ in cases],
                        dtype=np.int64)
    months_ = np.array([len(h.records) for h, _, _ in cases], dtype=np.int64)
    last_ = np.array([START.months_until(h.records[-1].month) for h, _, _ in cases],
                     dtype=np.int64)
    claim_ = np.array([START.months_until(c) for _, _, c in cases], dtype=np.int64)
    got = jp_lswp(standard, months_, last_, claim_, START)
    caps = set()
    taxed = 0
    for k, (history, left, claim) in enumerate(cases):
        (want,) = jp.withdrawal(history, Claim(claim, left_country_month=left))
        caps.add(want.basis["months_factor"])
        assert got.eligible[k] == 1
        assert int(got.gross[k]) == want.gross.amount_minor, (k, want.basis)
        assert int(got.withheld[k]) == want.withheld.amount_minor
        assert int(got.refund[k]) == want.receivable.amount_minor
        assert int(got.paid_now[k]) == want.paid_now.amount_minor
        taxed += want.basis["tax_due"] != "0"
    assert {"36", "60"} <= caps  # the dated cap (April 2021) is crossed by the cases
    assert taxed  # some payments exceed the retirement-income deduction: a partial refund


def test_japanese_lswp_needs_six_months() -> None:
    got = jp_lswp(np.array([5 * 180_000], dtype=np.int64), np.array([5], dtype=np.int64),
                  np.array([60], dtype=np.int64), np.array([62], dtype=np.int64), START)
    assert got.eligible.tolist() == [0] and got.gross.tolist() == [0]
