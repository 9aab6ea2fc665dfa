"""Malaysia SOCSO (foreign workers): worked examples from funds.md §1.6 — employment injury,
employer-only 1.25% of the wage capped at RM 4,000, from January 2019."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from ledger.adapters.base import Plan, Share
from ledger.adapters.context import WorkerContext
from ledger.adapters.registry import get_adapter
from ledger.adapters.wagebase import Clamp
from ledger.domain.errors import DomainError
from ledger.domain.funds import Payer, get_fund
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month

OCT_2026 = Month(2026, 10)

@pytest.mark.parametrize(("wage_sen", "employer_sen"), [
    (200_000, 2_500),  # RM 2,000.00 × 1.25% = RM 25.00
    (400_000, 5_000),  # at the ceiling: RM 50.00
    (500_000, 5_000),  # RM 5,000 is capped at RM 4,000: still RM 50.00
    (123_456, 1_543),  # RM 1,234.56 × 1.25% = 15.432 → 15.43 (half up)
])
def test_employer_pays_one_and_a_quarter_percent_of_the_capped_wage(
    wage_sen: int, employer_sen: int,
) -> None:
    adapter = get_adapter("MY-SOCSO")
    quote = adapter.contribution(WorkerContext(), "employment-injury", OCT_2026,
                                 Money(wage_sen, Currency.MYR))
    assert quote.shares_minor() == {Payer.EMPLOYER: employer_sen}
    arrays = adapter.contribution_arrays("employment-injury", OCT_2026,
                                         np.asarray([wage_sen], dtype=np.int64))
    assert int(arrays[Payer.EMPLOYER][0]) == employer_sen

def test_the_folder_declares_the_fund_and_its_short_term_scheme() -> None:
    get_adapter("MY-SOCSO")
    fund = get_fund("MY-SOCSO")
    scheme = fund.scheme("employment-injury")
    assert (fund.country, fund.currency) == ("MY", Currency.MYR)
    assert scheme.starts == Month(2019, 1) and not scheme.long_term

def test_months_before_foreign_workers_joined_the_scheme_are_refused() -> None:
    adapter = get_adapter("MY-SOCSO")
    with pytest.raises(DomainError) as caught:
        adapter.contribution(WorkerContext(), "employment-injury", Month(2018, 12),
                             Money(200_000, Currency.MYR))
    assert caught.value.field == "month"


def test_the_plan_is_the_wage_up_to_the_ceiling_at_the_employers_rate() -> None:
    plan = get_adapter("MY-SOCSO").plan("employment-injury", OCT_2026, WorkerContext())
    assert plan == Plan(Clamp(0, 400_000), {Payer.EMPLOYER: Share(Fraction(125, 10_000))},
                        Rounding.HALF_UP, 1)
