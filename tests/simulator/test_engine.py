"""The engine: deterministic by seed, common draws across policies, money conserved."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from simulator.contributions import PriceCache
from simulator.engine import simulate
from simulator.metrics import measure
from simulator.policy import Run, load_run
from simulator.population import Exit, allocate, draw

POLICIES = ("no-agreement", "bilateral-refund-assistance", "clmtv-pilot",
            "clmtv-pilot+digital-voluntary", "clmtv-pilot-keep")


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    runs = {p: load_run("default", p) for p in POLICIES}
    pop = draw(runs["no-agreement"].scenario, 20_000, 30, seed=7)
    cache = PriceCache(pop.start, pop.horizon)
    return {p: measure(simulate(r, pop, cache)) for p, r in runs.items()}


def test_allocation_is_exact_and_proportional() -> None:
    assert allocate([1_875_000, 216_000, 50_000], 1000) == [876, 101, 23]  # 875.8, 100.9, 23.4
    assert sum(allocate([3, 3, 3], 10)) == 10


def test_same_seed_same_population_and_result() -> None:
    run = load_run("default", "clmtv-pilot")
    a, b = draw(run.scenario, 3000, 10, 42), draw(run.scenario, 3000, 10, 42)
    c = draw(run.scenario, 3000, 10, 43)
    for name in ("arrival", "exit", "wage_minor", "u_claim", "home_before"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.wage_minor, c.wage_minor)
    assert measure(simulate(run, a)).headline == measure(simulate(run, b)).headline


def test_draws_follow_the_scenario() -> None:
    run = load_run("default", "no-agreement")
    pop = draw(run.scenario, 50_000, 30, 1)
    th = pop.slices["TH-SSO"]
    contract = pop.exit - pop.arrival
    # Contract lengths come only from the scenario's tables; hazards cut some short.
    ended = pop.reason == Exit.CONTRACT_END
    assert set(np.unique(contract[ended]).tolist()) <= {24, 36, 48, 60, 96}
    assert (pop.reason != Exit.CONTRACT_END).mean() > 0.05
    assert pop.arrival.max() < 120  # arrival window: 10 years
    assert 8_000_00 < int(np.median(pop.wage_minor[th])) < 11_500_00  # around 9,600 THB


def test_policies_share_draws_so_contributions_differ_only_by_policy(
        results: dict[str, object]) -> None:
    base, bilateral = results["no-agreement"], results["bilateral-refund-assistance"]
    # Refund assistance changes nothing about who pays what.
    assert base.tables["contributions"] == bilateral.tables["contributions"]  # type: ignore[attr-defined]
    pilot = results["clmtv-pilot"].headline  # type: ignore[attr-defined]
    h = base.headline  # type: ignore[attr-defined]
    assert pilot["double_contribution_months"] < h["double_contribution_months"]
    assert pilot["periods_lost_months"] == 0 < h["periods_lost_months"]
    assert pilot["agent_fees_usd"] == 0 < h["agent_fees_usd"]
    assert pilot["through_totalisation_count"] > 0 == h["through_totalisation_count"]
    assert pilot["settlement_gross_usd"] > 0 == h["settlement_gross_usd"]
    assert pilot["settlement_net_usd"] <= pilot["settlement_gross_usd"]


@pytest.mark.parametrize("policy", POLICIES)
def test_every_minor_unit_is_accounted_for(policy: str) -> None:
    """Long-term money at each destination fund = what went back, moved, was kept as a right,
    went to agents or tax, or was forfeited, plus the balances of workers not yet settled."""
    run = load_run("default", policy)
    pop = draw(run.scenario, 20_000, 8, seed=7)  # 8 years: some are still insured at the end
    out = simulate(run, pop)
    t, b, pending = out.totals, out.balances, ~out.worker.settled
    c = t.contributions
    th_in = sum(v for (f, s, _), v in c.items() if f == "TH-SSO"
                and s in ("s33-old-age", "s39-voluntary"))
    th_out = (t.recovered[("refund", "THB")] + t.recovered[("transfer", "THB")]
              + t.recovered[("pension_right", "THB")] + t.agent_fees["THB"]
              + t.forfeited["TH-SSO"])
    th_rows = pop.slices["TH-SSO"]
    th_pending = int((b.employee + b.employer + b.government + b.voluntary)[th_rows][
        pending[th_rows]].sum())
    assert th_in == th_out + th_pending
    jp_in = sum(v for (f, s, _), v in c.items() if (f, s) == ("JP-JPS", "epi"))
    jp_out = (t.recovered[("refund", "JPY")] + t.recovered[("tax_refund", "JPY")]
              + t.recovered[("pension_right", "JPY")] + t.agent_fees["JPY"] + t.tax_unclaimed
              + t.tax_due
              + t.forfeited["JP-JPS"])
    jp_rows = pop.slices["JP-JPS"]
    jp_pending = int((b.employee + b.employer)[jp_rows][pending[jp_rows]].sum())
    assert jp_in == jp_out + jp_pending
    assert th_pending > 0 and jp_pending > 0


@pytest.mark.parametrize("policy", POLICIES)
def test_flows_balance_to_the_cent_per_converted_cell(results: dict[str, object],
                                                      policy: str) -> None:
    m = results[policy]
    inflow: dict[str, int] = {}
    outflow: dict[str, int] = {}
    count: dict[str, int] = {}
    for source, target, usd in m.flows:  # type: ignore[attr-defined]
        if source in ("TH-SSO", "JP-JPS", "VN-VSS"):
            outflow[source] = outflow.get(source, 0) + usd
            count[source] = count.get(source, 0) + 1
        if target in ("TH-SSO", "JP-JPS", "VN-VSS"):
            inflow[target] = inflow.get(target, 0) + usd
    assert inflow.keys() == outflow.keys()
    for fund in inflow:
        # Each flow is converted to US cents on its own: at most one cent of rounding each.
        assert abs(outflow[fund] - inflow[fund]) <= count[fund], fund
    h = m.headline  # type: ignore[attr-defined]
    assert h["recovered_settled_usd"] <= h["destination_long_term_usd"]
    assert h["recovered_after_horizon_usd"] <= h["recovered_usd"]


def test_recovered_share_distribution_counts_settled_workers(results: dict[str, object]) -> None:
    m = results["no-agreement"]
    counted = sum(int(h.sum()) for h in m.histogram.values())  # type: ignore[attr-defined]
    table = m.tables["recovered_share"]  # type: ignore[attr-defined]
    assert counted == sum(row[1] for row in table.rows)
    assert 0 < counted <= m.headline["workers_settled_count"]  # type: ignore[attr-defined]


def test_the_agreement_applies_from_its_effective_month() -> None:
    base = load_run("default", "clmtv-pilot")
    later = Run(base.policy, base.scenario,
                base.agreement.model_copy(update={"effective": date(2030, 1, 1)}))
    pop = draw(base.scenario, 20_000, 12, seed=2)
    now, then = simulate(base, pop), simulate(later, pop)
    start = 36  # 2030-01 from 2027-01
    assert (now.coverage.certificate & (pop.arrival < start)).any()
    assert not (then.coverage.certificate & (pop.arrival < start)).any()
    transfers = then.totals.settlement_monthly
    assert transfers and all(not series[: start].any() for series in transfers.values())
    assert not then.totals.messages_monthly[:start].any()
    assert then.totals.messages_monthly[start:].all()


def test_only_the_agreements_portable_payers_move() -> None:
    base = load_run("default", "clmtv-pilot")
    schemes = tuple(
        p.model_copy(update={"portable_payers": ("employee",)}) if p.fund == "TH-SSO" else p
        for p in base.agreement.portable_schemes)
    narrow = Run(base.policy, base.scenario,
                 base.agreement.model_copy(update={"portable_schemes": schemes}))
    pop = draw(base.scenario, 20_000, 30, seed=2)
    wide, small = simulate(base, pop), simulate(narrow, pop)
    moved_wide = wide.totals.recovered[("transfer", "THB")]
    moved_small = small.totals.recovered[("transfer", "THB")]
    # Employee and employer old-age shares are equal (3% each), so half moves.
    assert 0 < moved_small < moved_wide
    assert abs(2 * moved_small - moved_wide) <= moved_wide // 1000
    assert small.totals.forfeited["TH-SSO"] > wide.totals.forfeited["TH-SSO"]
