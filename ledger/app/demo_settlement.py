"""The demo's portability and settlement: two flows by signed messages, one settled window.

The Cambodian demo worker claims Japan's lump sum on going home: JP-JPS approves, KH-NSSF
acknowledges, the net amount reaches the worker through the NSSF, and the 20.42% tax refund
waits as a receivable (listed, never forgotten). The Myanmar demo worker leaves Thailand: the
old-age balance would go home, but Myanmar's pension branch is not operating, so the agreement's
fallback pays the worker. Then the USD window is closed, confirmed by every fund and settled.
Idempotent: once a window is settled, seeding does nothing here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.adapters.refunds import Claim
from ledger.api.examples import example_key
from ledger.app.settle_run import OPERATOR, fund_keys, publish_fund_keys, run_window
from ledger.composition import Services
from ledger.db import inbox_repo, windows_repo
from ledger.demo_data import DEMO_LSWP_FLOW, DEMO_SECOND_WORKER, DEMO_WORKER
from ledger.domain.periods import Month
from ledger.services.portability import FlowRequest, Reason
from ledger.settlement.keys import HUB, Party, SigningKey
from ledger.settlement.legs import Flow
from ledger.settlement.messages import MessageType, sign_message

# Reference rates for the demo (illustrative, not published rates).
DEMO_RATES = [("JPY", "USD", "0.0067"), ("THB", "USD", "0.028"), ("USD", "KHR", "4100"),
              ("USD", "MMK", "2100"), ("USD", "VND", "25000")]
DEMO_LSWP = DEMO_LSWP_FLOW
DEMO_THAI = "pt-demo-thai"


async def seed_settlement(svc: Services, say: Callable[[str], None],
                          keys_dir: Path | None = None) -> None:
    await publish_example_key(svc)
    if any(w["state"] == "settled" for w in await windows_repo.windows(svc.db, "USD", 100)):
        return
    funds = tuple(svc.portability.agreement.member_funds)
    keys = (fund_keys(keys_dir, funds) if keys_dir is not None
            else {f: SigningKey.generate(Party(f)) for f in funds})
    await publish_fund_keys(svc, keys)
    for base, quote, rate in DEMO_RATES:
        await svc.portability.set_rate(OPERATOR, base, quote, rate, "demo reference rate")
    await _flow(svc, keys, FlowRequest(
        DEMO_WORKER, "JP-JPS", "epi", Reason.CLAIM, Flow.LUMP_SUM, DEMO_LSWP,
        Claim(Month(2026, 9), 35, left_country_month=Month(2026, 8), insured_status_ended=True)))
    await _flow(svc, keys, FlowRequest(DEMO_SECOND_WORKER, "TH-SSO", "s33-old-age",
                                       Reason.RETURN_HOME, flow_id=DEMO_THAI))
    say("  portability: Japan's lump sum home to KH-NSSF (its tax refund receivable), "
        "a Thai old-age balance paid to a Myanmar worker")
    await run_window(svc, "USD", keys, lambda line: say("  " + line))


async def publish_example_key(svc: Services) -> None:
    """The key the inbox's OpenAPI example is signed with (ledger/api/examples.py): published
    by the demo only, so that "Try it out" delivers a message the inbox accepts."""
    key = example_key()
    if (await svc.keys.registry()).get(key.kid, key.issuer) is None:
        await svc.keys.publish(OPERATOR, key.issuer, {"keys": [key.public_jwk()]})


async def _flow(svc: Services, keys: dict[str, SigningKey], request: FlowRequest) -> None:
    """Request, approve (host fund) and acknowledge (home fund) by message, from wherever an
    interrupted earlier seeding left the flow."""
    assert request.flow_id is not None
    found = await svc.portability.find(OPERATOR, request.worker_id)
    flow = next((f for f in found if f["id"] == request.flow_id), None)
    if flow is None:
        flow = await svc.portability.request(OPERATOR, request)
    if flow["state"] == "requested":
        await _send(svc, keys[flow["host_fund"]], MessageType.TRANSFER_REQUEST,
                    {"action": "approve", "flow_id": flow["id"]})
    if flow["state"] in ("requested", "pending"):
        await _send(svc, keys[flow["home_fund"]], MessageType.TRANSFER_ACK,
                    {"flow_id": flow["id"], "accepted": True})
    done = await svc.portability.get(OPERATOR, flow["id"])
    if done["state"] != "posted":
        raise RuntimeError(f"demo flow {flow['id']} is {done['state']}")


async def _send(svc: Services, key: SigningKey, typ: MessageType, body: dict[str, Any]) -> None:
    seq = 1
    for row in await inbox_repo.channels(svc.db):
        if (row["issuer"], row["audience"]) == (key.issuer, HUB):
            seq = int(row["next_seq"])
    token = sign_message(key, aud=HUB, typ=typ, seq=seq, body=body, iat=int(time.time()))
    receipt = await svc.inbox.receive(token)
    if receipt.result is None or not receipt.result.get("ok"):
        raise RuntimeError(f"demo message refused: {receipt.result}")
