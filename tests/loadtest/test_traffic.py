"""The month's traffic: counts from the simulator, spread over days and hours, peaks where the
assumptions put them, and per-second rates that add back up to the month's counts."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ledger.app.loadtest.payers import channel_payers, default_routes
from ledger.app.loadtest.traffic import (
    KINDS,
    Assumptions,
    busiest_month,
    day_profiles,
    month_counts,
    month_shape,
)


def test_counts_are_the_simulators(outcome: Any) -> None:
    index = busiest_month(outcome)
    counts = month_counts(outcome, index)
    cov, pop = outcome.coverage, outcome.pop
    paying = (cov.host_first <= index) & (index < cov.host_stop)
    th = int(paying[pop.slices["TH-SSO"]].sum())
    assert counts.rows["TH-SSO"] == th
    files = sum(math.ceil(n / 20) for f, n in counts.rows.items() if f != "JP-JPS")
    assert counts.actions["declaration_upload"] == files
    assert counts.actions["fund_batch"] == math.ceil(counts.rows["JP-JPS"] / 100)
    assert counts.actions["fund_message"] == int(outcome.totals.messages_monthly[index])
    assert counts.actions["statement_read"] == round(counts.active * 0.5)
    payers = channel_payers(outcome, index, default_routes())
    assert counts.actions["voluntary_payment"] == len(payers) > 0
    assert counts.actions["day_file"] == month_shape(counts).days
    home = (cov.home_first <= index) & (index < cov.home_stop)
    assert all(home[i] for i in payers)  # the simulator's own payers of the month
    assert len(payers) <= int(home.sum())
    assert {r.channel for r in payers.values()} <= {"mekong-wallet-th", "sakura-remit-jp",
                                                    "selat-pay-my"}


def test_busiest_month_is_the_one_with_most_active_workers(outcome: Any) -> None:
    cov, h = outcome.coverage, outcome.pop.horizon
    active = [int((((cov.host_first <= m) & (m < cov.host_stop))
                   | ((cov.digital_first <= m) & (m < cov.digital_stop))).sum())
              for m in range(h)]
    assert active[busiest_month(outcome)] == max(active)


def test_rates_add_up_to_the_months_counts(outcome: Any) -> None:
    counts = month_counts(outcome, busiest_month(outcome))
    shape = month_shape(counts)
    for kind in KINDS:
        total = sum(r * 3600 for day in shape.rates[kind] for r in day)
        assert total == pytest.approx(counts.actions[kind], rel=1e-9, abs=1e-9)


def test_peaks_fall_on_paydays_and_before_the_deadline() -> None:
    profiles = day_profiles(30, Assumptions())
    mobile = profiles["voluntary_payment"]
    busiest = sorted(range(30), key=lambda d: -mobile[d])[:4]
    assert sorted(d + 1 for d in busiest) == [1, 15, 16, 30]  # paydays and the day after
    files = profiles["declaration_upload"]
    assert max(range(30), key=lambda d: files[d]) + 1 in range(11, 16)
    assert files[13] > files[2] and files[29] > files[2]  # the deadline and month end
    for kind, shares in profiles.items():
        assert sum(shares) == pytest.approx(1.0), kind


def test_peak_mix_is_the_busiest_hours(outcome: Any) -> None:
    shape = month_shape(month_counts(outcome, busiest_month(outcome)))
    d, h = shape.peak()
    assert shape.total(d, h) == max(shape.total(x, y) for x in range(shape.days)
                                    for y in range(24))
    assert sum(shape.peak_mix().values()) == pytest.approx(1.0)
    data = shape.to_json()
    assert data["peak"]["day"] == d + 1 and len(data["rates"]["statement_read"]) == shape.days


@pytest.mark.parametrize("bad", [
    {"employer_size": 0}, {"payday_share": 1.5}, {"deadline_share": 0.9, "month_end_share": 0.2},
    {"statement_reads_per_worker_month": -1.0}])
def test_bad_assumptions_are_refused(outcome: Any, bad: dict[str, Any]) -> None:
    counts = month_counts(outcome, 0)
    with pytest.raises(ValueError, match=next(iter(bad)).split("_")[0]):
        month_shape(counts, Assumptions(**bad))


def test_a_month_outside_the_horizon_is_refused(outcome: Any) -> None:
    with pytest.raises(ValueError, match="outside the horizon"):
        month_counts(outcome, outcome.pop.horizon)
