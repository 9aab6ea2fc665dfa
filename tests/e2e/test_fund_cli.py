"""`clmtv fund`: two funds play their side of one worker's transfer against a real server
(issue 22 item 6). Keys generated and published with each fund's own token; the host fund's
approval, the home fund's acknowledgement and both funds' window confirmations signed by the
tool, sent to the inbox, processed, and the hub's signed answers verified by the tool.

The server is the test app behind uvicorn on a loopback socket; the tool runs in a thread (it
speaks blocking HTTP, as a fund's script would), through `clmtv`'s own entry point.
"""

from __future__ import annotations

import asyncio
import json
import socket
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from ledger import cli
from ledger.composition import Services
from ledger.db.engine import Database
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.portability import FlowRequest, Reason
from tests.api.conftest import api_on
from tests.e2e.story_support import OPERATOR, RATES, E, G, R, contribute, enrol

pytestmark = pytest.mark.anyio


@dataclass
class Hub:
    url: str
    services: Services
    tokens: dict[str, str]


@pytest.fixture
async def hub(db: Database, uid: str) -> AsyncIterator[Hub]:
    async for api in api_on(db, uid):
        tokens = {"TH-SSO": api.tokens["th"], "operator": api.tokens["operator"],
                  "VN-VSS": await api.services.clients.register(f"vn-{uid}", PrincipalKind.FUND,
                                                                "VN-VSS")}
        for base, quote, rate in RATES:
            await api.services.portability.set_rate(OPERATOR, base, quote, rate, "test rate")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        app = api.http._transport.app  # type: ignore[attr-defined]
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off",
                                               access_log=False))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield Hub(f"http://127.0.0.1:{sock.getsockname()[1]}", api.services, tokens)
        finally:
            server.should_exit = True
            await task
            sock.close()


async def fund(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`clmtv fund ARGV`, as a fund's operator runs it (in a thread: the server is here)."""
    code = await asyncio.to_thread(cli.main, ["fund", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_two_funds_run_a_transfer_and_confirm_its_window_with_the_tool(
    hub: Hub, uid: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    svc = hub.services
    th, vn = tmp_path / "th-sso.jwk", tmp_path / "vn-vss.jwk"
    th_hub = ["--hub", hub.url, "--token", hub.tokens["TH-SSO"]]
    vn_hub = ["--hub", hub.url]  # VN-VSS's token comes from the environment
    monkeypatch.setenv("CLMTV_FUND_TOKEN", hub.tokens["VN-VSS"])

    # 1. Each fund generates its key and publishes the public half with its own token.
    for path, code in ((th, "TH-SSO"), (vn, "VN-VSS")):
        done, out, _ = await fund(capsys, "keygen", code, "--out", str(path))
        assert done == 0 and f"created {path}" in out
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (await fund(capsys, "keygen", "TH-SSO", "--out", str(th)))[0] == 2  # never overwritten
    done, out, _ = await fund(capsys, "publish", "--key", str(th), *th_hub)
    assert done == 0 and "published key" in out
    assert (await fund(capsys, "publish", "--key", str(vn), *vn_hub))[0] == 0
    # Another fund's token cannot publish TH-SSO's key.
    done, _, err = await fund(capsys, "publish", "--key", str(th), *vn_hub)
    assert done == 2 and "403 forbidden" in err
    registry = await svc.keys.registry()
    th_kid = json.loads(th.read_text())["kid"]
    assert registry.get(th_kid, "TH-SSO") is not None

    # 2. A Vietnamese worker's Thai old-age balance goes home: requested by the operator...
    worker = await enrol(svc, uid, "VN", ("TH-SSO", "VN-VSS"))
    await contribute(svc, worker, "TH-SSO", "s33-old-age", Month(2024, 1), 12, 1_500_000,
                     {E: 45_000, R: 45_000, G: 15_050})
    flow = (await svc.portability.request(OPERATOR, FlowRequest(
        worker, "TH-SSO", "s33-old-age", Reason.RETURN_HOME)))["id"]

    # ...approved by the host fund (the next sequence number asked of the hub)...
    approve = tmp_path / "approve.jws"
    done, _, err = await fund(capsys, "sign", "--key", str(th), "--type", "transfer.request",
                              "--body", json.dumps({"action": "approve", "flow_id": flow}),
                              *th_hub, "--out", str(approve))
    assert done == 0, err
    done, out, err = await fund(capsys, "send", str(approve), *th_hub)
    assert done == 0, out + err
    assert "processed #" in out and f"flow {flow} is pending" in out
    assert "acknowledged by the hub (transfer.ack" in out and "signature verified" in out

    # ...and acknowledged by the home fund, its body from a file.
    body = tmp_path / "ack.json"
    body.write_text(json.dumps({"flow_id": flow, "accepted": True}))
    ack = tmp_path / "ack.jws"
    assert (await fund(capsys, "sign", "--key", str(vn), "--type", "transfer.ack", "--body",
                       f"@{body}", *vn_hub, "--out", str(ack)))[0] == 0
    done, out, err = await fund(capsys, "send", str(ack), *vn_hub)
    assert done == 0 and f"flow {flow} is posted" in out, out + err
    assert (await svc.portability.get(OPERATOR, flow))["state"] == "posted"
    # The same message again is a duplicate: the original result, nothing applied twice.
    done, out, _ = await fund(capsys, "send", str(ack), *vn_hub)
    assert done == 0 and out.startswith(f"{ack}: duplicate #")

    # A message that verifies but cannot be applied is said so, and exits 1.
    bogus = tmp_path / "bogus.jws"
    assert (await fund(capsys, "sign", "--key", str(vn), "--type", "transfer.ack", "--body",
                       '{"flow_id": "pt-none", "accepted": true}', *vn_hub, "--out",
                       str(bogus)))[0] == 0
    done, out, _ = await fund(capsys, "send", str(bogus), *vn_hub)
    assert done == 1 and "not applied: unknown_flow" in out, out

    # 3. The window closes; each fund reads its signed statement and confirms by message.
    window = await svc.settlement.open_window(OPERATOR, "USD")
    closed = await svc.settlement.close(OPERATOR, window["id"])
    assert {"TH-SSO", "VN-VSS"} <= set(closed["statements"])
    for code, key, args in (("TH-SSO", th, th_hub), ("VN-VSS", vn, vn_hub)):
        confirmation = tmp_path / f"{code}-confirm.json"
        done, out, err = await fund(capsys, "window", window["id"], "--fund", code, *args,
                                    "--out", str(confirmation))
        assert done == 0 and f"the hub's statement to {code} verifies" in out, out + err
        position = closed["netting"]["positions_minor"][code]
        assert json.loads(confirmation.read_text())["position_minor"] == position
        token = tmp_path / f"{code}-confirm.jws"
        assert (await fund(capsys, "sign", "--key", str(key), "--type",
                           "settlement.confirmation", "--body", f"@{confirmation}", *args,
                           "--out", str(token)))[0] == 0
        done, out, err = await fund(capsys, "send", str(token), *args)
        assert done == 0 and f"{code} confirmed window {window['id']}" in out, out + err
    # A fund reads its own inbox channels (where `sign` learns its next number), no other's.
    th_channels = await svc.inbox.channels(Principal("th", PrincipalKind.FUND, "TH-SSO"))
    assert th_channels and all("TH-SSO" in (r["issuer"], r["audience"]) for r in th_channels)
    current = await svc.settlement.get(OPERATOR, window["id"])
    assert {"TH-SSO", "VN-VSS"} <= set(current["confirmations"])
    # Any other fund with a part in this window (another test's flows) confirms the same way.
    others = set(closed["statements"]) - {"TH-SSO", "VN-VSS"}
    if others:
        from ledger.app.settle_run import confirm_as, fund_keys, publish_fund_keys

        keys = fund_keys(tmp_path / "others", tuple(sorted(others)))
        await publish_fund_keys(svc, keys)
        for other in sorted(others):
            await confirm_as(svc, other, keys[other], closed)
    settled = await svc.settlement.settle(OPERATOR, window["id"])
    assert settled["state"] == "settled" and settled["reconciliation"]["agrees"] is True


async def test_the_tool_refuses_what_the_hub_would(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = tmp_path / "th.jwk"
    th_hub = ["--hub", hub.url, "--token", hub.tokens["TH-SSO"]]
    assert (await fund(capsys, "keygen", "TH-SSO", "--out", str(key)))[0] == 0
    cases = [
        (["sign", "--key", str(key), "--type", "transfer.ack", "--body", "[1]", "--seq", "1"],
         "the body must be a JSON object"),
        (["sign", "--key", str(key), "--type", "transfer.ack", "--body", "{", "--seq", "1"],
         "the body is not JSON"),
        (["sign", "--key", str(key), "--type", "transfer.ack", "--body", '{"a": 1.5}',
          "--seq", "1"], "number_not_allowed"),
        (["sign", "--key", str(key), "--type", "transfer.ack", "--body", "{}"],
         "give --seq, or --hub"),
        (["sign", "--key", str(tmp_path / "none.jwk"), "--type", "transfer.ack", "--body", "{}",
          "--seq", "1"], "no such key file"),
        (["publish", "--key", str(key), "--hub", "http://example.org", "--token", "t"],
         "plain http only to this machine"),
        (["publish", "--key", str(key), "--hub", hub.url], "no token"),
        (["send", str(tmp_path / "none.jws"), *th_hub], "no such file"),
    ]
    monkeypatch.delenv("CLMTV_FUND_TOKEN", raising=False)
    for argv, said in cases:
        done, _, err = await fund(capsys, *argv)
        assert done == 2 and said in err, (argv, err)
    # Unpublished key: the hub rejects the message; the tool says why and exits 1.
    token = tmp_path / "unknown.jws"
    assert (await fund(capsys, "sign", "--key", str(key), "--type", "transfer.ack", "--body",
                       '{"flow_id": "pt-none", "accepted": true}', "--seq", "1", "--out",
                       str(token)))[0] == 0
    done, out, _ = await fund(capsys, "send", str(token), *th_hub)
    assert done == 1 and "rejected: unknown_key" in out
