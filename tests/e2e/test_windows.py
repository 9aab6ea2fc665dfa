"""Settlement windows in the database: close and net, signed statements, each fund's signed
confirmation, posting, reconciliation; refusals, illegal moves and an abort."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey

from ledger.app.settle_run import OPERATOR, confirm_as, fund_keys, run_window
from ledger.composition import Services
from ledger.db import windows_repo
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.periods import Month
from ledger.services.portability import FlowRequest, Reason
from ledger.settlement.keys import HUB, TrustRegistry
from ledger.settlement.messages import MessageType, verify_message
from tests.e2e.messaging import Sender
from tests.e2e.story_support import E, G, R, contribute, enrol, fund_principal, story_services

pytestmark = pytest.mark.anyio
__all__ = ["story_services"]
MEMBERS = ("KH-NSSF", "MM-SSB", "VN-VSS", "TH-SSO", "JP-JPS")


async def thai_flow(svc: Services, uid: str, nationality: str, home: str, months: int) -> str:
    worker = await enrol(svc, uid, nationality, ("TH-SSO", home))
    await contribute(svc, worker, "TH-SSO", "s33-old-age", Month(2024, 1), months, 1_500_000,
                     {E: 45_000, R: 45_000, G: 15_050})
    flow = await svc.portability.request(OPERATOR, FlowRequest(
        worker, "TH-SSO", "s33-old-age", Reason.RETURN_HOME))
    await svc.portability.approve(fund_principal("TH-SSO"), flow["id"])
    await svc.portability.acknowledge(fund_principal(home), flow["id"])
    return str(flow["id"])


async def test_a_window_closes_nets_confirms_settles_and_reconciles(
    story_services: Services, uid: str, tmp_path: Path
) -> None:
    svc = story_services
    vn = await thai_flow(svc, uid + "0", "VN", "VN-VSS", 12)  # 12 × 900 THB → 302.40 USD
    kh = await thai_flow(svc, uid + "1", "KH", "KH-NSSF", 24)  # 24 × 900 THB → 604.80 USD
    window = await svc.settlement.open_window(OPERATOR, "USD")
    assert window["state"] == "open" and window["flows_waiting"] >= 2

    closed = await svc.settlement.close(OPERATOR, window["id"])
    assert closed["state"] == "closed"
    held = {o[0]: o for o in await windows_repo.obligations(svc.db, window["id"])}
    assert held[vn][1:] == ("TH-SSO", "VN-VSS", 30_240)
    assert held[kh][1:] == ("TH-SSO", "KH-NSSF", 60_480)
    netting = closed["netting"]
    assert netting["transfer_count"] == len(held)
    positions = {f: int(v) for f, v in netting["positions_minor"].items()}
    assert sum(positions.values()) == 0
    assert positions["TH-SSO"] <= -(30_240 + 60_480)
    assert int(netting["net_volume_minor"]) <= int(netting["gross_volume_minor"])
    assert "two_wayness_pct" in netting and "multilateral_saving_pct" in netting
    # Each participant's statement is the hub's, addressed to it.
    hub = TrustRegistry()
    hub.load_jwks(HUB, svc.signer.jwks())
    hub_key = OKPKey.import_key(svc.signer.jwks()["keys"][0])
    for fund, statement in closed["statements"].items():
        message = verify_message(statement, hub, fund, int(time.time()))
        assert message.typ is MessageType.SETTLEMENT_STATEMENT
        assert message.body["netting"] == netting
        # An independent JOSE library agrees (joserfc, as a fund's own stack might be).
        decoded = jwt.decode(statement, hub_key, algorithms=["Ed25519"])
        assert decoded.claims["aud"] == fund and decoded.claims["body"]["netting"] == netting

    # Not before every participant has confirmed.
    with pytest.raises(DomainError) as early:
        await svc.settlement.settle(OPERATOR, window["id"])
    assert early.value.code is ErrorCode.ILLEGAL_WINDOW_TRANSITION
    # A fund whose view differs is refused and kept out.
    liar = await Sender(svc, "VN-VSS").publish()
    wrong = await svc.inbox.receive(await liar.sign(MessageType.SETTLEMENT_CONFIRMATION, {
        "window_id": window["id"], "statement_sha256": "0" * 64, "position_minor": "1"}))
    assert wrong.result is not None and wrong.result["error"]["code"] == "reconciliation_failed"

    keys = fund_keys(tmp_path / "fund-keys", MEMBERS)
    from ledger.app.settle_run import publish_fund_keys

    await publish_fund_keys(svc, keys)
    for fund in closed["statements"]:
        await confirm_as(svc, fund, keys[fund], closed)
    settled = await svc.settlement.settle(OPERATOR, window["id"])
    assert settled["state"] == "settled"
    report = settled["reconciliation"]
    assert report["agrees"] is True
    assert {f["fund"]: int(f["position"]["amount_minor"]) for f in report["funds"]} == positions
    assert report["gross_volume_minor"] == netting["gross_volume_minor"]
    assert await svc.settlement.settle(OPERATOR, window["id"]) == settled  # idempotent

    with pytest.raises(DomainError) as final:
        await svc.settlement.abort(OPERATOR, window["id"], "too late")
    assert final.value.code is ErrorCode.ILLEGAL_WINDOW_TRANSITION


async def test_abort_releases_flows_to_the_next_window(
    story_services: Services, uid: str, tmp_path: Path
) -> None:
    svc = story_services
    flow = await thai_flow(svc, uid, "VN", "VN-VSS", 6)
    window = await svc.settlement.open_window(OPERATOR, "USD")
    await svc.settlement.close(OPERATOR, window["id"])
    with pytest.raises(DomainError) as bad:
        await svc.settlement.abort(OPERATOR, window["id"], " ")
    assert bad.value.field == "reason"
    aborted = await svc.settlement.abort(OPERATOR, window["id"], "a fund is offline")
    assert aborted["state"] == "aborted"
    assert (await svc.portability.get(OPERATOR, flow))["window_id"] is None

    said: list[str] = []
    keys = fund_keys(tmp_path / "keys", MEMBERS)
    result: dict[str, Any] = await run_window(svc, "USD", keys, said.append)
    assert result["state"] == "settled" and result["id"] != window["id"]
    assert (await svc.portability.get(OPERATOR, flow))["window_id"] == result["id"]
    assert any("settled" in line for line in said)


async def test_the_ledgers_obligations_are_read_in_parts(
    story_services: Services, uid: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A window of tens of thousands of flows has more obligation legs than one statement may
    carry bind parameters; they are read in parts, and the parts add up to the whole."""
    svc = story_services
    await thai_flow(svc, uid + "0", "VN", "VN-VSS", 12)
    await thai_flow(svc, uid + "1", "KH", "KH-NSSF", 24)
    await thai_flow(svc, uid + "2", "VN", "VN-VSS", 6)
    window = await svc.settlement.open_window(OPERATOR, "USD")
    await svc.settlement.close(OPERATOR, window["id"])
    whole = sorted(await windows_repo.ledger_obligations(svc.db, window["id"]))
    monkeypatch.setattr(windows_repo, "_LEGS_PER_QUERY", 1)
    assert sorted(await windows_repo.ledger_obligations(svc.db, window["id"])) == whole
    assert len(whole) >= 3
