"""Certificates of coverage: one applicable legislation at a time (after EU 883/2004 Arts 11-12).

Owns the certificate (a PD A1-like document: this worker, posted from the home fund to the host
fund, stays insured at home for these months) and the check a host fund runs on a contribution:
a month the certificate covers must not be paid twice, and the agreement says whether such a
contribution is rejected or accepted and flagged for review. Signing and verifying the
certificate as a message is `messages.py`'s business; this module only decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FundCode, get_fund
from ledger.domain.ids import WorkerId, check_id, check_worker_id
from ledger.domain.periods import Month
from ledger.settlement.agreement import Agreement, CoverageRule, CoveredMonthAction


@dataclass(frozen=True, slots=True)
class CertificateOfCoverage:
    """Months `valid_from`..`valid_to` (inclusive) during which the worker, working at the host
    fund's country, stays insured at the home fund. Issued by the home fund, whose law applies
    (as PD A1 is issued by the competent institution, Reg 987/2009 Art 19(2))."""

    certificate_id: str
    worker_id: WorkerId
    home_fund: FundCode
    host_fund: FundCode
    valid_from: Month
    valid_to: Month
    issued_by: FundCode

    def __post_init__(self) -> None:
        check_id(self.certificate_id, "certificate_id")
        check_worker_id(self.worker_id)
        get_fund(self.home_fund, field="home_fund")
        get_fund(self.host_fund, field="host_fund")
        if self.home_fund == self.host_fund:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "home and host fund must differ", field="host_fund"
            )
        if self.issued_by != self.home_fund:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"a certificate is issued by the home fund {self.home_fund}, not {self.issued_by}",
                field="issued_by",
            )
        if self.valid_to < self.valid_from:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "valid_to is before valid_from", field="valid_to"
            )

    @property
    def months(self) -> int:
        return self.valid_from.months_until(self.valid_to) + 1


@dataclass(frozen=True, slots=True)
class Decision:
    """What the host fund does with a contribution for a covered month."""

    action: CoveredMonthAction
    certificate_id: str
    reason: str


def exempt_until(certificate: CertificateOfCoverage, rule: CoverageRule) -> Month:
    """The last month the exemption applies: the certificate's end, capped at the agreement's
    maximum posting (a longer certificate does not buy a longer exemption)."""
    cap = certificate.valid_from.plus(rule.posting_months_max - 1)
    return min(certificate.valid_to, cap)


def check_double_contribution(
    certificate: CertificateOfCoverage, host_fund: str, month: Month, rule: CoverageRule
) -> Decision | None:
    """None if the host fund may take a contribution for `month`; otherwise the agreement's
    decision (`reject` or `flag`), because the worker is insured at home that month."""
    if host_fund != certificate.host_fund:
        return None  # the certificate exempts from one host's law only
    if not certificate.valid_from <= month <= exempt_until(certificate, rule):
        return None
    return Decision(
        action=rule.host_contribution_when_covered,
        certificate_id=certificate.certificate_id,
        reason=(
            f"{month} is covered by certificate {certificate.certificate_id}: worker insured at "
            f"{certificate.home_fund}, exempt at {certificate.host_fund}"
        ),
    )


def check_certificate(certificate: CertificateOfCoverage, agreement: Agreement) -> None:
    """A certificate is only valid under an agreement both funds are members of."""
    sides = (("home_fund", certificate.home_fund), ("host_fund", certificate.host_fund))
    for field_name, fund in sides:
        if not agreement.is_member(fund):
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"{fund} is not a member of agreement {agreement.name}",
                field=field_name,
            )
