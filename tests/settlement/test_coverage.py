"""Certificates of coverage: a covered month is rejected or flagged at the host, per agreement."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FundCode
from ledger.domain.ids import WorkerId
from ledger.domain.periods import Month
from ledger.settlement.agreement import (
    AGREEMENTS_DIR,
    CoveredMonthAction,
    bundled_agreement,
    parse_agreement,
)
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


# -- boundaries and what each refusal says -------------------------------------------------------


def refused(call: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as err:
        call()
    return err.value


def test_the_decision_names_the_month_the_certificate_and_both_funds() -> None:
    decision = check_double_contribution(certificate(), "TH-SSO", Month(2027, 6), RULE)
    assert decision == Decision(
        CoveredMonthAction.REJECT, "coc-vn-0001",
        "2027-06 is covered by certificate coc-vn-0001: worker insured at VN-VSS, exempt at "
        "TH-SSO")


@pytest.mark.parametrize(("month", "covered"), [
    (Month(2026, 12), False), (Month(2027, 1), True), (Month(2027, 12), True),
    (Month(2028, 1), False)])
def test_the_first_and_last_certificate_months_are_covered(month: Month, covered: bool) -> None:
    decision = check_double_contribution(certificate(), "TH-SSO", month, RULE)
    assert (decision is not None) is covered


@pytest.mark.parametrize(("valid_to", "until"), [
    (Month(2027, 1), Month(2027, 1)),  # one month
    (Month(2028, 11), Month(2028, 11)),  # 23 months
    (Month(2028, 12), Month(2028, 12)),  # exactly the 24 the pilot allows
    (Month(2029, 1), Month(2028, 12)),  # 25 asked, 24 given
])
def test_the_exemption_is_the_certificate_capped_at_the_maximum_posting(
    valid_to: Month, until: Month
) -> None:
    cert = certificate(valid_to=valid_to)
    assert exempt_until(cert, RULE) == until
    assert cert.months == Month(2027, 1).months_until(valid_to) + 1


def test_a_one_month_certificate_is_valid() -> None:
    assert certificate(valid_to=Month(2027, 1)).months == 1


@pytest.mark.parametrize(
    ("changes", "code", "field", "message"),
    [
        ({"host_fund": FundCode("VN-VSS")}, ErrorCode.INVALID_INPUT, "host_fund",
         "home and host fund must differ"),
        ({"issued_by": FundCode("TH-SSO")}, ErrorCode.INVALID_INPUT, "issued_by",
         "a certificate is issued by the home fund VN-VSS, not TH-SSO"),
        ({"valid_to": Month(2026, 12)}, ErrorCode.INVALID_INPUT, "valid_to",
         "valid_to is before valid_from"),
        ({"host_fund": FundCode("LA-SSO")}, ErrorCode.UNKNOWN_FUND, "host_fund", None),
        ({"certificate_id": "coc 1"}, ErrorCode.INVALID_ID, "certificate_id", None),
    ],
)
def test_certificate_refusals_by_code_field_and_message(
    changes: dict[str, object], code: ErrorCode, field: str, message: str | None
) -> None:
    err = refused(lambda: certificate(**changes))
    assert (err.code, err.field) == (code, field)
    if message is not None:
        assert err.message == message


def test_the_host_fund_must_be_a_member_too() -> None:
    data = yaml.safe_load((AGREEMENTS_DIR / "clmtv-2019-pilot.yaml").read_text())
    data["member_funds"] = [f for f in data["member_funds"] if f != "TH-SSO"]
    data["portable_schemes"] = [s for s in data["portable_schemes"] if s["fund"] != "TH-SSO"]
    without_thailand = parse_agreement(data)
    err = refused(lambda: check_certificate(certificate(), without_thailand))
    assert (err.code, err.field) == (ErrorCode.INVALID_INPUT, "host_fund")
    assert err.message == "TH-SSO is not a member of agreement clmtv-2019-pilot"
    err = refused(lambda: check_certificate(certificate(), bundled_agreement("no-agreement")))
    assert err.message == "VN-VSS is not a member of agreement no-agreement"
