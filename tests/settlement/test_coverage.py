"""Certificates of coverage: a covered month is rejected or flagged at the host, per agreement."""

from __future__ import annotations

import pytest

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FundCode
from ledger.domain.ids import WorkerId
from ledger.domain.periods import Month
from ledger.settlement.agreement import CoveredMonthAction, bundled_agreement
from ledger.settlement.coverage import (
    CertificateOfCoverage,
    Decision,
    check_certificate,
    check_double_contribution,
    exempt_until,
)

PILOT = bundled_agreement("clmtv-2019-pilot")
assert PILOT.coverage is not None
RULE = PILOT.coverage  # 24 months, reject


def certificate(**changes: object) -> CertificateOfCoverage:
    """A Vietnamese worker posted to Thailand for 2027, insured at VSS."""
    fields: dict[str, object] = {
        "certificate_id": "coc-vn-0001",
        "worker_id": WorkerId("wkr_0a1b2c3d"),
        "home_fund": FundCode("VN-VSS"),
        "host_fund": FundCode("TH-SSO"),
        "valid_from": Month(2027, 1),
        "valid_to": Month(2027, 12),
        "issued_by": FundCode("VN-VSS"),
    }
    fields.update(changes)
    return CertificateOfCoverage(**fields)  # type: ignore[arg-type]


def test_a_covered_month_at_the_host_is_rejected_under_the_pilot() -> None:
    decision = check_double_contribution(certificate(), "TH-SSO", Month(2027, 6), RULE)
    assert isinstance(decision, Decision)
    assert decision.action is CoveredMonthAction.REJECT
    assert decision.certificate_id == "coc-vn-0001"
    assert "2027-06" in decision.reason and "VN-VSS" in decision.reason


def test_an_agreement_may_flag_instead_of_rejecting() -> None:
    rule = RULE.model_copy(update={"host_contribution_when_covered": CoveredMonthAction.FLAG})
    decision = check_double_contribution(certificate(), "TH-SSO", Month(2027, 1), rule)
    assert decision is not None and decision.action is CoveredMonthAction.FLAG


@pytest.mark.parametrize(
    ("host", "month"),
    [
        ("TH-SSO", Month(2026, 12)),  # before the certificate
        ("TH-SSO", Month(2028, 1)),  # after it
        ("JP-JPS", Month(2027, 6)),  # another host: the certificate says nothing there
        ("VN-VSS", Month(2027, 6)),  # the home fund itself is where the worker pays
    ],
)
def test_months_and_funds_the_certificate_does_not_cover_are_fine(host: str, month: Month) -> None:
    assert check_double_contribution(certificate(), host, month, RULE) is None


def test_the_exemption_stops_at_the_agreements_maximum_posting() -> None:
    long = certificate(valid_to=Month(2029, 12))  # 36 months asked, 24 allowed
    assert exempt_until(long, RULE) == Month(2028, 12)
    assert check_double_contribution(long, "TH-SSO", Month(2028, 12), RULE) is not None
    assert check_double_contribution(long, "TH-SSO", Month(2029, 1), RULE) is None
    assert long.months == 36


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"host_fund": FundCode("VN-VSS")}, "host_fund"),
        ({"issued_by": FundCode("TH-SSO")}, "issued_by"),
        ({"valid_to": Month(2026, 12)}, "valid_to"),
        ({"home_fund": FundCode("LA-SSO"), "issued_by": FundCode("LA-SSO")}, "home_fund"),
        ({"worker_id": WorkerId("worker 1")}, "worker_id"),
    ],
)
def test_an_inconsistent_certificate_is_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as err:
        certificate(**changes)
    assert err.value.field == field


def test_a_certificate_needs_both_funds_in_the_agreement() -> None:
    check_certificate(certificate(), PILOT)
    with pytest.raises(DomainError) as err:
        check_certificate(certificate(), bundled_agreement("no-agreement"))
    assert (err.value.code, err.value.field) == (ErrorCode.INVALID_INPUT, "home_fund")
