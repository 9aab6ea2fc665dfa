"""What reaches the worker: a fund's lump sum and old-age money, with and without an agreement.

Owns the comparison the project exists for. Under the baseline (no agreement) the worker uses
each fund's own exit route as the agreement file describes it: Japan's lump sum through an agent
who keeps a fee, the 20.42% withheld tax usually never reclaimed, the Thai old-age money
claimable only at 55 and in person. Under an agreement the same lump sum is routed through the
home fund: no agent, and the refundable part of the withheld tax (the withholding less the tax
really due on the payment as retirement income) is a receivable the home fund claims for the
worker.
Amounts are integer minor units; the agent's fee rounds half up (a fee is charged in whole units).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.adapters.refunds import RefundResult
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Money, Rounding
from ledger.settlement.agreement import Agreement, AgreementKind

AGENT_FEE_ROUNDING = Rounding.HALF_UP


@dataclass(frozen=True, slots=True)
class LumpSumOutcome:
    gross: Money  # what the fund's rule computes
    paid_now: Money  # the first cash flow: gross less withheld tax
    agent_fee: Money  # kept by an agent (baseline only)
    tax_refund: Money  # the second cash flow (withheld less the tax due), if it ever comes
    reaches_worker: Money  # paid_now - agent_fee + tax_refund
    lost: Money  # gross - reaches_worker (the tax really due included)


@dataclass(frozen=True, slots=True)
class OldAgeAccess:
    """Whether a Thai old-age balance can be reached now, and how."""

    claimable_now: bool
    claim_age_min: int
    in_person_only: bool
    reasons: tuple[str, ...]


def lump_sum_outcome(agreement: Agreement, refund: RefundResult) -> LumpSumOutcome:
    """Japan's lump-sum withdrawal as it reaches the worker under `agreement`."""
    if refund.fund != "JP-JPS":
        raise DomainError(ErrorCode.INVALID_INPUT, "only Japan's lump sum is modelled here",
                          field="fund")
    route = agreement.exit_routes.jp_lswp
    # The refundable part of the withheld tax: the withholding less the tax really due
    # (jp_jps/retirement_tax.py); the tax due is lost on every route.
    refundable = refund.receivable
    paid_now = refund.paid_now
    if agreement.kind is AgreementKind.AGREEMENT and agreement.is_member(refund.fund):
        fee, refunded = Money.zero(paid_now.currency), refundable
    else:
        rate = route.agent_fee_rate.value if route.via_agent.value else None
        fee = paid_now.times(rate, AGENT_FEE_ROUNDING) if rate else Money.zero(paid_now.currency)
        refunded = (refundable if route.tax_refund_claimed.value
                    else Money.zero(refundable.currency))
    reaches = paid_now - fee + refunded
    return LumpSumOutcome(refund.gross, paid_now, fee, refunded, reaches, refund.gross - reaches)


def thai_old_age_access(agreement: Agreement, age_years: int) -> OldAgeAccess:
    """The baseline's exit route for a Thai s33 old-age balance (any agreement keeps it too,
    but then the months totalise and the pension is paid through the home fund)."""
    route = agreement.exit_routes.th_old_age
    reasons = []
    age_min = route.claim_age_min.value
    if age_years < age_min:
        reasons.append(f"claimable from age {age_min}; the worker is {age_years}")
    if not route.lump_sum_on_departure.value:
        reasons.append("no lump sum on leaving Thailand")
    if route.in_person_only.value:
        reasons.append("claimed in person (or by proxy) in Thailand")
    return OldAgeAccess(age_years >= age_min, age_min, route.in_person_only.value, tuple(reasons))
