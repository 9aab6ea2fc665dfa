"""`clmtv settle`: one settlement window end to end, and the dev stand-in for the member funds.

Closes the currency's open window (netting, signed statements), then — when the member funds'
private keys are at hand, as in the demo and on a developer's machine — plays each fund's part:
the fund verifies the hub's statement with the hub's published JWKS, computes its position from
its own view of the window's flows, and sends a signed `settlement.confirmation` through the
inbox. Once every participant has confirmed, the window is settled and the reconciliation report
returned. In production each fund runs its own side; the hub never holds their keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.composition import Services
from ledger.config import Settings
from ledger.db import inbox_repo
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal, PrincipalKind
from ledger.settlement.keys import HUB, Party, SigningKey, TrustRegistry
from ledger.settlement.messages import MessageType, sign_message, verify_message
from ledger.text import plural

OPERATOR = Principal("clmtv-settle", PrincipalKind.HUB_OPERATOR)


def fund_keys(directory: Path, funds: tuple[str, ...]) -> dict[str, SigningKey]:
    """Dev-only private keys of the member funds, one JWK file each, created on first use."""
    directory.mkdir(parents=True, exist_ok=True)
    keys = {}
    for fund in funds:
        path = directory / f"{fund}.jwk"
        if path.exists():
            keys[fund] = SigningKey.from_private_jwk(Party(fund), json.loads(path.read_text()))
            continue
        key = SigningKey.generate(Party(fund))
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(key.private_jwk(), handle)
        keys[fund] = key
    return keys


async def publish_fund_keys(svc: Services, keys: dict[str, SigningKey]) -> None:
    registry = await svc.keys.registry()
    for fund, key in keys.items():
        if registry.get(key.kid, fund) is None:
            await svc.keys.publish(OPERATOR, fund, {"keys": [key.public_jwk()]})


async def fund_position(svc: Services, fund: str, window_id: str) -> int:
    """What the fund computes from its own records: received minus paid in this window."""
    me = Principal(f"{fund}-settlement", PrincipalKind.FUND, fund)
    return await svc.portability.window_position(me, window_id)


async def confirm_as(svc: Services, fund: str, key: SigningKey, window: dict[str, Any]) -> None:
    """The fund's side: check the hub's statement, then confirm its own view of it."""
    statement = window["statements"][fund]
    hub = TrustRegistry()
    hub.load_jwks(HUB, svc.signer.jwks())
    now = int(time.time())
    verify_message(statement, hub, fund, now)  # raises if the statement is not the hub's
    body = {"window_id": window["id"],
            "statement_sha256": hashlib.sha256(statement.encode("ascii")).hexdigest(),
            "position_minor": str(await fund_position(svc, fund, window["id"]))}
    seq = await _next_seq(svc, fund)
    token = sign_message(key, aud=HUB, typ=MessageType.SETTLEMENT_CONFIRMATION, seq=seq,
                         body=body, iat=now)
    receipt = await svc.inbox.receive(token)
    if receipt.result is None or not receipt.result.get("ok"):
        error = (receipt.result or {}).get("error", {})
        raise DomainError(ErrorCode.RECONCILIATION_FAILED,
                          f"{fund} could not confirm window {window['id']}: "
                          f"{error.get('message', receipt.outcome)}")


async def _next_seq(svc: Services, fund: str) -> int:
    for row in await inbox_repo.channels(svc.db):
        if (row["issuer"], row["audience"]) == (fund, HUB):
            return int(row["next_seq"])
    return 1


async def run_window(svc: Services, currency: str = "USD",
                     keys: dict[str, SigningKey] | None = None,
                     say: Callable[[str], None] = print) -> dict[str, Any]:
    """Finish the oldest window still waiting for confirmations, or close the open one; confirm
    for the funds whose keys we hold; settle once every participant has confirmed."""
    unfinished = [w for w in await svc.settlement.find(OPERATOR, currency, 100)
                  if w["state"] in ("closed", "settling")]
    if unfinished:
        closed = await svc.settlement.get(OPERATOR, unfinished[-1]["id"])  # newest first
        say(f"window {closed['id']} is {closed['state']}: finishing it")
    else:
        window = await svc.settlement.open_window(OPERATOR, currency)
        closed = await svc.settlement.close(OPERATOR, window["id"])
        netting = closed["netting"] or {}
        flows = plural(netting.get("transfer_count", 0), "flow")
        say(f"window {closed['id']} closed: {flows}, gross "
            f"{netting.get('gross_volume_minor')} net {netting.get('net_volume_minor')} "
            f"{currency} minor units")
    if keys is not None:
        await publish_fund_keys(svc, keys)
        for fund in sorted(set(closed["statements"]) - set(closed["confirmations"])):
            if fund in keys:
                await confirm_as(svc, fund, keys[fund], closed)
                say(f"  {fund} confirmed")
    current = await svc.settlement.get(OPERATOR, closed["id"])
    if set(current["confirmations"]) >= set(closed["statements"]):
        current = await svc.settlement.settle(OPERATOR, closed["id"])
        say(f"window {closed['id']} settled; reconciliation agrees: "
            f"{current['reconciliation']['agrees']}")
    else:
        waiting = sorted(set(closed["statements"]) - set(current["confirmations"]))
        say(f"window {closed['id']} waits for confirmations from {', '.join(waiting)}")
    return current


async def settle_command(settings: Settings, currency: str, keys_dir: str | None,
                         as_json: bool = False) -> int:
    """What `clmtv settle` runs: migrate, then one window end to end. Steps are printed as they
    happen (to stderr with `as_json`, whose stdout is the window's report alone). Returns 1 when
    a settled window does not reconcile, else 0 (a window left waiting for confirmations is a
    normal outcome: the funds confirm by signed message)."""
    from ledger.composition import running_services

    def say(line: str) -> None:
        print(line, file=sys.stderr if as_json else sys.stdout, flush=True)

    async with running_services(settings) as svc:
        keys = None
        if keys_dir is not None:
            keys = fund_keys(Path(keys_dir), tuple(svc.portability.agreement.member_funds))
        window = await run_window(svc, currency, keys, say)
    report = {k: window[k] for k in ("id", "state", "netting", "reconciliation")}
    if as_json:
        print(json.dumps(report, indent=2))
    elif window["state"] != "settled":
        say("each fund confirms by a signed settlement.confirmation message to "
            "POST /v1/inbox/messages (docs/settlement.md); run `clmtv settle` again to finish")
    reconciliation = window.get("reconciliation") or {}
    return 1 if window["state"] == "settled" and not reconciliation.get("agrees", False) else 0
