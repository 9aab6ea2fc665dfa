"""Agreement files: the two shipped ones load, and every bad file is refused naming its key."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, Payer
from ledger.domain.money import Currency, Rounding
from ledger.settlement.agreement import (
    AGREEMENTS_DIR,
    AgreementKind,
    CoveredMonthAction,
    PeriodUnit,
    TransferRule,
    bundled_agreement,
    load_agreement,
    parse_agreement,
)

PILOT_FILE = AGREEMENTS_DIR / "clmtv-2019-pilot.yaml"
BASELINE_FILE = AGREEMENTS_DIR / "no-agreement.yaml"


def raw(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# -- the shipped files -------------------------------------------------------------------------


def test_pilot_makes_exactly_the_long_term_branches_portable() -> None:
    pilot = bundled_agreement("clmtv-2019-pilot")
    assert pilot.kind is AgreementKind.AGREEMENT
    assert {(p.fund, p.scheme) for p in pilot.portable_schemes} == {
        ("TH-SSO", "s33-old-age"), ("JP-JPS", "epi"), ("JP-JPS", "np"),
        ("KH-NSSF", "pension"), ("VN-VSS", "retirement-survivorship"),
    }
    assert all(FUNDS[p.fund].schemes[p.scheme].long_term for p in pilot.portable_schemes)
    th = pilot.portable_scheme("TH-SSO", "s33-old-age")
    assert th is not None and th.transfer_rule is TransferRule.TRANSFER_TO_HOME_FUND
    assert th.fallback_rule is TransferRule.PAY_WORKER
    assert Payer.GOVERNMENT not in th.portable_payers
    assert pilot.portable_scheme("TH-SSO", "s33-sickness") is None


def test_pilot_settlement_coverage_and_totalisation_settings() -> None:
    pilot = bundled_agreement("clmtv-2019-pilot")
    assert pilot.settlement is not None and pilot.coverage is not None
    assert pilot.totalisation is not None
    assert pilot.settlement.currency is Currency.USD
    assert pilot.settlement.fx.rounding is Rounding.HALF_EVEN
    assert pilot.settlement.ack_deadline_days == 5
    assert pilot.coverage.posting_months_max == 24
    assert pilot.coverage.host_contribution_when_covered is CoveredMonthAction.REJECT
    assert pilot.totalisation.short_period_months_min == 12
    assert pilot.totalisation.to_months(26, PeriodUnit.WEEK) == 6
    assert pilot.totalisation.to_months(11, PeriodUnit.DAY) == Fraction(1, 2)
    assert {r.fund for r in pilot.eligibility_rules()} == set(pilot.member_funds)


def test_baseline_has_nothing_portable_and_only_exit_routes() -> None:
    baseline = bundled_agreement("no-agreement")
    assert baseline.kind is AgreementKind.BASELINE
    assert baseline.portable_schemes == () and baseline.member_funds == ()
    assert baseline.settlement is None and baseline.totalisation_policy().member_funds == set()
    th, jp = baseline.exit_routes.th_old_age, baseline.exit_routes.jp_lswp
    assert th.claim_age_min.value == 55 and th.in_person_only.value is True
    assert th.lump_sum_on_departure.value is False
    assert jp.via_agent.value is True and jp.tax_refund_claimed.value is False
    assert jp.agent_fee_rate.value == Decimal("0.15") and not jp.agent_fee_rate.verified
    assert jp.tax_withholding_rate.value == Decimal("0.2042") and jp.tax_withholding_rate.verified


def test_assumptions_are_marked_and_sourced() -> None:
    jp = bundled_agreement("no-agreement").exit_routes.jp_lswp
    for param in (jp.agent_fee_rate, jp.tax_refund_claimed, jp.via_agent):
        assert param.verified is False and "funds.md" in param.source


# -- bad files ---------------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or, with value ..., delete) the item at a dotted path with [i] indices; an index one
    past a list's end appends."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = _steps(path)
        node: Any = data
        for step in parents:
            node = node[step]
        if value is ...:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(value)
        else:
            node[last] = value

    return mutate


def _steps(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.replace("]", "").replace("[", ".").split("."):
        out.append(int(part) if part.isdigit() else part)
    return out


BAD_PILOTS = [
    # (mutation, key named in the error, words in the message)
    (_set("member_funds[1]", "LA-SSO"), "member_funds[1]", "unknown fund 'LA-SSO'"),
    (_set("portable_schemes[0].fund", "TH-SSX"), "portable_schemes[0].fund", "unknown fund"),
    (_set("portable_schemes[0].scheme", "old-age"), "portable_schemes[0].scheme", "no scheme"),
    (_set("portable_schemes[3].scheme", "health-care"), "portable_schemes[3].scheme",
     "short-term"),
    (_set("portable_schemes[0].transfer_rule", "refund"), "portable_schemes[0].transfer_rule",
     "transfer_to_home_fund"),
    (_set("portable_schemes[0].portable_payers", ["employee", "landlord"]),
     "portable_schemes[0].portable_payers[1]", "employee"),
    (_set("portable_schemes[0].portable_payers", []), "portable_schemes[0].portable_payers",
     "at least 1"),
    (_set("portable_schemes[1].fallback_rule", "pay_worker"), "portable_schemes[1].fallback_rule",
     "only to transfer_to_home_fund"),
    # ADR 0044: other routes the worker may choose; the default is not offered twice.
    (_set("portable_schemes[0].options", ["keep_and_totalise", "transfer_to_home_fund"]),
     "portable_schemes[0].options", "a route is offered twice"),
    (_set("portable_schemes[0].options", ["refund"]), "portable_schemes[0].options[0]",
     "transfer_to_home_fund"),
    (_set("exit_routes.jp_lswp.agent_fee_rate.value", "1.5"),
     "exit_routes.jp_lswp.agent_fee_rate.value", "between 0 and 1"),
    (_set("exit_routes.th_old_age.agent_fee_rate.value", 0.15),
     "exit_routes.th_old_age.agent_fee_rate.value", "quoted decimal string"),
    (_set("exit_routes.jp_lswp.tax_refund_claimed.value", "no"),
     "exit_routes.jp_lswp.tax_refund_claimed.value", "boolean"),
    (_set("exit_routes.jp_lswp.agent_fee_rate.source", ...),
     "exit_routes.jp_lswp.agent_fee_rate.source", "required key is missing"),
    # One source for the claim windows too: the funds' dated parameters (ADR 0042).
    (_set("exit_routes.jp_lswp.claim_window_years", {"value": 2, "source": "x",
                                                     "verified": True}),
     "exit_routes.jp_lswp.claim_window_years", "unknown key"),
    (_set("exit_routes.th_old_age.claim_window_years", {"value": 2, "source": "x",
                                                        "verified": True}),
     "exit_routes.th_old_age.claim_window_years", "unknown key"),
    # One source for Japan's LSWP months cap: the fund's dated parameter (lswp_max_months).
    (_set("exit_routes.jp_lswp.months_cap", {"value": 60, "source": "x", "verified": True}),
     "exit_routes.jp_lswp.months_cap", "unknown key"),
    (_set("voluntary_schemes[0].fund", "MM-SSX"), "voluntary_schemes[0].fund", "unknown fund"),
    (_set("voluntary_schemes[0].scheme", "old-age"), "voluntary_schemes[0].scheme",
     "MM-SSB old-age is not an agreement option"),
    (_set("voluntary_schemes[0].scheme", "voluntary"), "voluntary_schemes[0].scheme",
     "no scheme 'voluntary'"),
    (_set("voluntary_schemes[0].verified", "no"), "voluntary_schemes[0].verified", "boolean"),
    (_set("voluntary_schemes[1]", {"fund": "MM-SSB", "scheme": "voluntary-abroad",
                                   "source": "x", "verified": False}),
     "voluntary_schemes[1]", "MM-SSB voluntary-abroad is listed twice"),
    (_set("voluntary_schemes[1]", {"fund": "LA-LSSO", "scheme": "migrant-welfare",
                                   "source": "x", "verified": False}),
     "voluntary_schemes[1].fund", "LA-LSSO is not a member fund"),
    (_set("settlement.currency", "EUR"), "settlement.currency", "unknown currency 'EUR'"),
    (_set("settlement.currency", ...), "settlement.currency", "required key is missing"),
    (_set("settlement", ...), "settlement", "required key is missing"),
    (_set("settlement.currncy", "USD"), "settlement.currncy", "unknown key"),
    (_set("settlement.fx.rounding", "nearest"), "settlement.fx.rounding", "half_even"),
    (_set("settlement.cycle", "hourly"), "settlement.cycle", "monthly"),
    (_set("settlement.ack_deadline_days", "5"), "settlement.ack_deadline_days", "integer"),
    (_set("coverage.host_contribution_when_covered", "warn"),
     "coverage.host_contribution_when_covered", "reject"),
    (_set("coverage.posting_months_max", 0), "coverage.posting_months_max", "greater than"),
    (_set("totalisation.unit_months.week", "0"), "totalisation.unit_months.week", "positive"),
    (_set("totalisation.unit_months.month", "2"), "totalisation.unit_months", "month to '1'"),
    (_set("totalisation.common_unit", "week"), "totalisation.common_unit", "month"),
    (_set("eligibility.VN-VSS[1].effective_from", "2025-13"),
     "eligibility.VN-VSS[1].effective_from", "month out of range"),
    (_set("eligibility.LA-SSO", [{"months_min": 1, "source": "x"}]), "eligibility.LA-SSO",
     "unknown fund"),
    (_set("eligibility.TH-SSO", ...), "eligibility", "TH-SSO has no eligibility threshold"),
    (_set("member_funds", ["TH-SSO", "KH-NSSF", "VN-VSS", "MM-SSB"]),
     "portable_schemes[1].fund", "JP-JPS is not a member fund"),
    (_set("member_funds", ["TH-SSO", "TH-SSO"]), "member_funds", "listed twice"),
    (_set("name", "CLMTV Pilot"), "name", "pattern"),
    (_set("effective", "soon"), "effective", "date"),
    (_set("kind", "treaty"), "kind", "agreement"),
]


@pytest.mark.parametrize(("mutate", "key", "words"), BAD_PILOTS,
                         ids=[case[1] + ":" + case[2] for case in BAD_PILOTS])
def test_a_bad_agreement_is_refused_naming_its_key(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], key: str, words: str
) -> None:
    data = raw(PILOT_FILE)
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    with pytest.raises(DomainError) as err:
        load_agreement(path)

    assert err.value.code is ErrorCode.INVALID_AGREEMENT
    assert err.value.field == key
    assert f"{path}: {key}: " in err.value.message
    assert words in err.value.message


def test_the_pilot_opens_myanmars_scheme_abroad_and_the_baseline_opens_nothing() -> None:
    from ledger.adapters.voluntary import OpenedScheme
    from ledger.domain.periods import Month

    pilot = bundled_agreement("clmtv-2019-pilot")
    assert pilot.opened_voluntary_schemes() == (
        OpenedScheme("MM-SSB", "voluntary-abroad", Month(2027, 1)),)
    assert bundled_agreement("no-agreement").opened_voluntary_schemes() == ()
    assert "voluntary_schemes" in raw(BASELINE_FILE)  # said explicitly, not by omission


def test_a_baseline_that_opens_a_voluntary_scheme_is_refused() -> None:
    data = raw(BASELINE_FILE)
    data["voluntary_schemes"] = raw(PILOT_FILE)["voluntary_schemes"]
    with pytest.raises(DomainError) as err:
        parse_agreement(data)
    assert err.value.field == "voluntary_schemes"
    assert "a baseline opens no scheme" in err.value.message


def test_the_lswp_months_cap_has_one_source_the_funds_dated_parameter() -> None:
    """Neither agreement repeats the cap; the adapter applies 60 months for a last insured
    month before April 2026 and 96 from then (jp_jps/parameters.yaml, lswp_max_months)."""
    from ledger.adapters.jp_jps.lswp import months_factor
    from ledger.adapters.registry import get_adapter
    from ledger.domain.periods import Month

    for path in (PILOT_FILE, BASELINE_FILE):
        assert "months_cap" not in raw(path)["exit_routes"]["jp_lswp"]
    params = get_adapter("JP-JPS").parameters
    assert months_factor(params, 120, Month(2026, 3)) == 60
    assert months_factor(params, 120, Month(2026, 4)) == 96


def test_a_baseline_with_portable_schemes_is_refused() -> None:
    data = raw(BASELINE_FILE)
    data["portable_schemes"] = raw(PILOT_FILE)["portable_schemes"]
    with pytest.raises(DomainError) as err:
        parse_agreement(data)
    assert err.value.field == "portable_schemes"
    assert "a baseline has no members" in err.value.message


def test_every_problem_is_listed_in_details() -> None:
    data = raw(PILOT_FILE)
    data["settlement"]["currency"] = "EUR"
    data["coverage"]["posting_months_max"] = -1
    with pytest.raises(DomainError) as err:
        parse_agreement(data)
    fields = [e["field"] for e in err.value.details["errors"]]
    assert fields == ["coverage.posting_months_max", "settlement.currency"]
    assert "(and 1 more)" in err.value.message


def test_a_repeated_yaml_key_is_refused_naming_it(tmp_path: Path) -> None:
    text = PILOT_FILE.read_text(encoding="utf-8").replace(
        "  cycle: monthly\n", "  cycle: monthly\n  cycle: weekly\n"
    )
    path = tmp_path / "dup.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DomainError) as err:
        load_agreement(path)
    assert err.value.field == "cycle"
    assert "duplicate key 'cycle'" in err.value.message and "line" in err.value.message


@pytest.mark.parametrize(
    ("text", "words"),
    [("name: [unclosed\n", "not valid YAML at line"), ("- a\n- b\n", "top level must be a mapping"),
     ("", "top level must be a mapping")],
)
def test_not_an_agreement_at_all(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DomainError) as err:
        load_agreement(path)
    assert err.value.code is ErrorCode.INVALID_AGREEMENT and words in err.value.message


def test_a_missing_file_and_a_bad_name() -> None:
    with pytest.raises(DomainError, match="cannot read"):
        load_agreement(AGREEMENTS_DIR / "nope.yaml")
    with pytest.raises(DomainError, match="not an agreement name"):
        bundled_agreement("../etc/passwd")


def test_the_pilot_offers_thai_old_age_both_ways() -> None:
    """ADR 0044: moved home now (the default) or kept, totalised and paid pro rata at 55."""
    from ledger.settlement.agreement import TransferRule, bundled_agreement

    thai = bundled_agreement("clmtv-2019-pilot").portable_scheme("TH-SSO", "s33-old-age")
    assert thai is not None
    assert thai.offered_rules == (TransferRule.TRANSFER_TO_HOME_FUND,
                                  TransferRule.KEEP_AND_TOTALISE)
    assert thai.offers(TransferRule.KEEP_AND_TOTALISE)
    assert not thai.offers(TransferRule.PAY_WORKER)  # only as the fallback (Myanmar)
    assert thai.fallback_rule is TransferRule.PAY_WORKER
