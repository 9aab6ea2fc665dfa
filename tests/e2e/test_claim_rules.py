"""Claims through the hub are checked against the fund's rule when they are requested (ADR 0045):
a Japanese lump sum claimed after the two-year window, and a Thai lump sum where 170 s33 and 12
s39 months give a pension, are refused at once with the rule's reasons; nothing is recorded."""

from __future__ import annotations

import pytest

from ledger.adapters.refunds import Claim
from ledger.composition import Services
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.periods import Month
from ledger.services.portability import FlowRequest, Reason
from ledger.settlement.legs import Flow
from tests.e2e.story_support import (
    OPERATOR,
    E,
    G,
    R,
    contribute,
    enrol,
    reference_worker,
    story_services,
)

pytestmark = pytest.mark.anyio
__all__ = ["story_services"]


async def test_a_japanese_claim_after_two_years_is_refused_at_request(
    story_services: Services, uid: str
) -> None:
    """The reference worker left Japan in 2024-08 (last insured month). Claimed in 2026-09,
    25 months later: over JPS's 24 months. In 2026-08, 24 months: accepted."""
    worker = await reference_worker(story_services, uid)
    svc = story_services.portability
    late = Claim(Month(2026, 9), age_years=37, left_country_month=Month(2024, 8))
    with pytest.raises(DomainError) as refused:
        await svc.request(OPERATOR, FlowRequest(worker, "JP-JPS", "epi", Reason.CLAIM,
                                                Flow.LUMP_SUM, claim=late))
    assert refused.value.code is ErrorCode.NOT_ELIGIBLE
    assert refused.value.details["reasons"] == [
        "claimed more than 24 months after leaving Japan (2024-08)"]
    assert await svc.find(OPERATOR, worker) == []  # nothing recorded
    in_time = Claim(Month(2026, 8), age_years=37, left_country_month=Month(2024, 8))
    flow = await svc.request(OPERATOR, FlowRequest(worker, "JP-JPS", "epi", Reason.CLAIM,
                                                   Flow.LUMP_SUM, claim=in_time))
    assert flow["state"] == "requested"


async def test_a_thai_lump_sum_is_refused_where_s33_and_s39_give_a_pension(
    story_services: Services, uid: str
) -> None:
    """170 s33 months (2010-01 .. 2024-02) and 12 s39 months (2024-03 .. 2025-02): 182 months,
    a pension (20% of (48 x 15,000 + 12 x 4,800) / 60 = 2,592.00 THB a month), not a lump sum."""
    worker = await enrol(story_services, uid, "KH", ("TH-SSO", "KH-NSSF"))
    await contribute(story_services, worker, "TH-SSO", "s33-old-age", Month(2010, 1), 170,
                     1_500_000, {E: 45_000, R: 45_000, G: 15_050})
    await contribute(story_services, worker, "TH-SSO", "s39-voluntary", Month(2024, 3), 12,
                     480_000, {Payer.VOLUNTARY: 43_200})
    claim = Claim(Month(2030, 1), age_years=55, insured_status_ended=True)
    with pytest.raises(DomainError) as refused:
        await story_services.portability.request(OPERATOR, FlowRequest(
            worker, "TH-SSO", "s33-old-age", Reason.CLAIM, Flow.LUMP_SUM, claim=claim))
    assert refused.value.code is ErrorCode.NOT_ELIGIBLE
    assert "182 months give a pension, not a lump sum" in refused.value.message
    assert refused.value.details["monthly"] == {"amount_minor": "259200", "currency": "THB"}
