"""Issue 4's "Must show": the Cambodian worker, under the baseline and under the pilot agreement.

The README's reference worker, as the demo seeds him (`story_support.py`). Amounts worked by hand
from the funds' rules (docs/reference/funds.md §1.5, nenkin.go.jp):
- Japan EPI LSWP: 36 insured months, 24 at a standard remuneration of 180,000 yen and 12 at
  190,000, last month 2026-08: the average is 6,600,000 / 36 = 183,333.33 yen; the premium rate
  in force in October 2025 is 18.3%, so the payment rate is 18.3% × ½ × 36 = 3.294 → 3.3 (half
  up, one decimal); gross = 6,600,000 × 3.3 / 36 = 605,000 yen; 20.42% withheld = 123,541 yen
  (exact); paid now 481,459 yen. His EPI balance is 24 × 32,940 + 12 × 34,770 = 1,207,800 yen.
- Baseline: an agent keeps 15% of what is paid (72,218.85 → 72,219 yen, half up) and the
  withheld tax never comes back: 409,240 yen reach the worker; 195,760 yen are lost.
- Pilot: no agent; both flows go JP-JPS → KH-NSSF at 0.0067 USD/JPY and 4,100 KHR/USD, half even:
  481,459 yen → 3,225.7753 → 3,225.78 USD → 13,225,698 riel; 123,541 yen → 827.7247 → 827.72
  USD → 3,393,652 riel.
"""

from __future__ import annotations

import json
import time
from fractions import Fraction
from typing import Any

import pytest

from ledger.adapters.refunds import Claim
from ledger.composition import Services
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.periods import Month
from ledger.services.portability import FlowRequest, FlowState, PortabilityService, Reason
from ledger.settlement.agreement import bundled_agreement
from ledger.settlement.legs import Flow
from ledger.settlement.messages import MessageType, verify_message
from ledger.settlement.outcomes import lump_sum_outcome, thai_old_age_access
from tests.e2e.messaging import Sender, hub_registry
from tests.e2e.story_support import (
    OPERATOR,
    E,
    G,
    R,
    contribute,
    enrol,
    fund_principal,
    reference_worker,
    story_services,
)

pytestmark = pytest.mark.anyio
__all__ = ["story_services"]

JP, KH, TH = fund_principal("JP-JPS"), fund_principal("KH-NSSF"), fund_principal("TH-SSO")
REQ, ACK = MessageType.TRANSFER_REQUEST, MessageType.TRANSFER_ACK
CLAIM = Claim(claim_month=Month(2026, 9), age_years=35, left_country_month=Month(2026, 8),
              insured_status_ended=True)  # the demo's claim


def lswp_request(worker: str) -> FlowRequest:
    return FlowRequest(worker, "JP-JPS", "epi", Reason.CLAIM, Flow.LUMP_SUM, claim=CLAIM)


async def balances(db: Database) -> dict[str, tuple[int, int]]:
    from ledger.db import repositories

    totals = await repositories.posted_totals_by_currency(db)
    return {c: t for c, t in totals.items() if t != (0, 0)}


async def account(services: Services, key: str) -> dict[str, int]:
    from sqlalchemy import select

    from ledger.db.tables import accounts

    async with services.db.engine.connect() as conn:
        row = (await conn.execute(select(accounts).where(accounts.c.key == key))).one()
    return dict(row._mapping)


async def test_baseline_locks_thai_money_and_loses_a_third_of_the_japanese_lump_sum(
    story_services: Services, uid: str
) -> None:
    worker = await reference_worker(story_services, uid)
    baseline = bundled_agreement("no-agreement")
    service = PortabilityService(story_services.db, story_services.committer, baseline)
    before = await balances(story_services.db)

    with pytest.raises(DomainError) as refused:
        await service.request(OPERATOR, lswp_request(worker))
    assert refused.value.code is ErrorCode.NOT_PORTABLE
    with pytest.raises(DomainError):
        await service.request(OPERATOR, FlowRequest(worker, "TH-SSO", "s33-old-age",
                                                    Reason.RETURN_HOME))
    assert await balances(story_services.db) == before  # nothing moved

    thai = thai_old_age_access(baseline, age_years=35)
    assert not thai.claimable_now and thai.claim_age_min == 55 and thai.in_person_only

    refund = await story_services.portability.amounts.refund(  # the fund's own rule
        {"worker_id": worker, "host_fund": "JP-JPS", "scheme": "epi",
         "detail": json.dumps({"claim": {"claim_month": "2026-09", "age_years": 35,
                                         "left_country_month": "2026-08"}})})
    outcome = lump_sum_outcome(baseline, refund)
    assert outcome.gross.amount_minor == 605_000
    assert outcome.paid_now.amount_minor == 481_459
    assert outcome.agent_fee.amount_minor == 72_219
    assert outcome.tax_refund.amount_minor == 0
    assert outcome.reaches_worker.amount_minor == 409_240
    assert outcome.lost.amount_minor == 195_760

    pilot = lump_sum_outcome(bundled_agreement("clmtv-2019-pilot"), refund)
    assert pilot.reaches_worker.amount_minor == 605_000 and pilot.lost.amount_minor == 0


async def test_pilot_routes_both_japanese_cash_flows_home_and_totalises_thai_months(
    story_services: Services, uid: str
) -> None:
    worker = await reference_worker(story_services, uid)
    svc = story_services.portability

    jp = await Sender(story_services, "JP-JPS").publish()
    kh = await Sender(story_services, "KH-NSSF").publish()
    acks: list[str] = []
    sent: list[str] = []

    async def send(sender: Sender, typ: MessageType, body: dict[str, object]) -> dict[str, Any]:
        sent.append(await sender.sign(typ, body))
        receipt = await story_services.inbox.receive(sent[-1])
        assert receipt.outcome == "processed" and receipt.result, receipt
        acks.append(receipt.ack or "")
        return dict(receipt.result["value"])

    requested = await svc.request(OPERATOR, lswp_request(worker))
    assert requested["state"] == "requested" and requested["destination"] == "worker"
    pending = await send(jp, REQ, {"action": "approve", "flow_id": requested["id"]})
    assert pending["state"] == "pending"
    assert pending["source"] == {"amount_minor": "481459", "currency": "JPY"}
    assert pending["settlement"] == {"amount_minor": "322578", "currency": "USD"}
    assert pending["target"] == {"amount_minor": "1322569800", "currency": "KHR"}
    assert pending["basis"]["gross_minor"] == "605000"
    assert pending["basis"]["withheld_minor"] == "123541"

    # The second cash flow exists from the first day, as a receivable.
    receivable = await svc.receivables(OPERATOR, worker)
    assert [(r["flow"], r["source"]) for r in receivable] == [
        ("tax_refund", {"amount_minor": "123541", "currency": "JPY"})]
    # Who owes it and by when: the tax agent's final return within 5 years of the payment.
    # 605,000 yen for 3 years of service is under the 1,200,000 deduction, so the whole
    # withholding comes back (jp_jps/retirement_tax.py).
    assert receivable[0]["owed_by"].startswith("JP-JPS tax authority")

    # Nothing is posted until the home fund acknowledges; the worker's JP balance is reserved.
    jp_member = await account(story_services, f"member/{worker}/JP-JPS/epi/JPY")
    assert jp_member["debits_posted"] == 0 and jp_member["debits_pending"] == 1_207_800
    with pytest.raises(DomainError) as not_home:
        await svc.acknowledge(JP, pending["id"])
    assert not_home.value.code is ErrorCode.FORBIDDEN

    posted = await send(kh, ACK, {"flow_id": pending["id"], "accepted": True})
    assert posted["state"] == "posted" and posted["window_id"] is None  # until a window closes
    assert await svc.acknowledge(KH, pending["id"]) == posted  # a retry changes nothing

    refund_flow = receivable[0]["id"]
    await send(jp, REQ, {"action": "approve", "flow_id": refund_flow})  # tax office refunded
    refund_posted = await send(kh, ACK, {"flow_id": refund_flow, "accepted": True})
    assert refund_posted["target"] == {"amount_minor": "339365200", "currency": "KHR"}
    assert await svc.receivables(OPERATOR, worker) == []

    # Both flows reached the worker through the home fund: 13,225,698 + 3,393,652 riel.
    payouts = await account(story_services, f"portability/{worker}/KH-NSSF/KHR")
    assert payouts["credits_posted"] == 1_322_569_800 + 339_365_200
    assert payouts["debits_posted"] == payouts["credits_posted"]  # paid out to the worker
    # Japan's whole EPI balance is settled: paid, withheld-then-refunded, or retained.
    row = await account(story_services, f"member/{worker}/JP-JPS/epi/JPY")
    assert row["credits_posted"] == row["debits_posted"] == 1_207_800
    assert row["debits_pending"] == 0

    # Japanese months are withdrawn; Thai and Cambodian ones totalise to 180.
    result = await svc.totalisation(OPERATOR, worker, as_of=Month(2030, 1), age_years=55)
    th, kh = result.fund("TH-SSO"), result.fund("KH-NSSF")
    assert (th.own_months, th.totalised_months) == (140, 180)
    assert th.pro_rata == Fraction(140, 180) and th.eligible
    assert (kh.own_months, kh.totalised_months) == (40, 180)
    assert result.fund("JP-JPS").own_months == 0
    with pytest.raises(DomainError) as again:
        await svc.request(OPERATOR, lswp_request(worker))
    assert again.value.code in (ErrorCode.ID_CONFLICT, ErrorCode.NOT_ELIGIBLE)

    # Every currency balances.
    totals = await balances(story_services.db)
    assert all(debits == credits for debits, credits in totals.values()), totals
    # Every message verifies: the funds' (as stored) and the hub's acknowledgements.
    registry = await story_services.keys.registry()
    now = int(time.time())
    stored = {r["jti"]: r["token"] for r in await story_services.inbox.messages(
        OPERATOR, None, "processed", 500)}
    for token in sent:
        message = verify_message(token, registry, "HUB", now)
        assert stored[message.jti] == token  # kept exactly as sent
    hub = hub_registry(story_services)
    for ack, audience in zip(acks, ("JP-JPS", "KH-NSSF", "JP-JPS", "KH-NSSF"), strict=True):
        assert verify_message(ack, hub, audience, now).body["acks"][0]["outcome"] == "processed"


async def test_thai_balance_moves_home_for_a_vietnamese_worker_and_a_rejection_voids(
    story_services: Services, uid: str
) -> None:
    worker = await enrol(story_services, uid, "VN", ("TH-SSO", "VN-VSS"))
    await contribute(story_services, worker, "TH-SSO", "s33-old-age", Month(2024, 1), 24,
                     1_500_000, {E: 45_000, R: 45_000, G: 15_050})
    svc = story_services.portability
    before = await balances(story_services.db)
    flow = await svc.request(fund_principal("VN-VSS"), FlowRequest(
        worker, "TH-SSO", "s33-old-age", Reason.RETURN_HOME))
    assert flow["destination"] == "member"
    with pytest.raises(DomainError) as wrong_fund:
        await svc.approve(KH, flow["id"])
    assert wrong_fund.value.code is ErrorCode.UNKNOWN_FLOW  # KH cannot even see it
    pending = await svc.approve(TH, flow["id"])
    # Employee and employer shares move (24 × 900 THB); the state's 1% stays in Thailand.
    assert pending["source"] == {"amount_minor": "2160000", "currency": "THB"}
    voided = await svc.reject(fund_principal("VN-VSS"), flow["id"], "no such member")
    assert voided["state"] == FlowState.VOIDED.value
    assert await balances(story_services.db) == before  # a void moves nothing

    again = await svc.request(OPERATOR, FlowRequest(worker, "TH-SSO", "s33-old-age",
                                                    Reason.STATUS_CHANGE, flow_id=f"pt-{uid}-2"))
    await svc.approve(TH, again["id"])
    done = await svc.acknowledge(fund_principal("VN-VSS"), again["id"])
    # 21,600 THB → 604.80 USD → 15,120,000 dong (VND has no minor unit).
    assert done["settlement"] == {"amount_minor": "60480", "currency": "USD"}
    assert done["target"] == {"amount_minor": "15120000", "currency": "VND"}
    # The one member account gave the portable payers' shares; the state's stay (24 × 150.50
    # THB: its 2.75 % in whole baht, old age taking the rounding, ADR 0035).
    member = await account(story_services, f"member/{worker}/TH-SSO/s33-old-age/THB")
    assert member["credits_posted"] - member["debits_posted"] == 361_200
    result = await svc.totalisation(OPERATOR, worker, as_of=Month(2026, 1), age_years=40)
    assert result.fund("TH-SSO").own_months == 0  # transferred: counted at the receiving fund
    assert result.fund("VN-VSS").own_months == 24
    totals = await balances(story_services.db)
    assert all(debits == credits for debits, credits in totals.values())


async def test_keep_and_totalise_schemes_do_not_move(story_services: Services, uid: str) -> None:
    worker = await reference_worker(story_services, uid)
    with pytest.raises(DomainError) as kept:
        await story_services.portability.request(OPERATOR, FlowRequest(
            worker, "JP-JPS", "epi", Reason.RETURN_HOME))
    assert kept.value.code is ErrorCode.NOT_PORTABLE and "totalises" in kept.value.message

