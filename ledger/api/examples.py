"""Examples in the OpenAPI document that must be made when it is read, not when the code is.

The inbox takes only messages that verify now: signed by a published key, not expired, with the
sequence number the hub expects next from their issuer. A fixed example cannot be all three for
long, so `/openapi.json` carries a message signed when the document is served: KH-NSSF
acknowledging the demo's Japanese lump sum (idempotent: the flow stays posted), with the demo's
example key (`ledger/demo_data.py`). Only the demo publishes that key; elsewhere the document
keeps the static example, which the inbox refuses as `unknown_key`.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ledger.composition import Services
from ledger.demo_data import (
    DEMO_EXAMPLE_FUND,
    DEMO_EXAMPLE_KEY_SEED,
    DEMO_EXAMPLE_KID,
    DEMO_LSWP_FLOW,
)
from ledger.domain.principals import Principal, PrincipalKind
from ledger.settlement.keys import HUB, Party, SigningKey
from ledger.settlement.messages import MessageType, sign_message

READER = Principal("openapi-example", PrincipalKind.AUDITOR)
# Signed at the start of the hour and valid a day: every read within the hour gets the same
# token (a second "Try it out" is a duplicate, not a replayed jti), and a page left open for the
# afternoon still works.
EXAMPLE_PERIOD_S = 3600
EXAMPLE_TTL_S = 24 * 3600


def example_key() -> SigningKey:
    """The demo's example key for DEMO_EXAMPLE_FUND: public knowledge, trusted by the demo only."""
    return SigningKey.from_private_jwk(Party(DEMO_EXAMPLE_FUND), {
        "kty": "OKP", "crv": "Ed25519", "d": DEMO_EXAMPLE_KEY_SEED, "kid": DEMO_EXAMPLE_KID})


async def example_message(svc: Services, now: int | None = None) -> str | None:
    """A message the inbox accepts now, or None when this hub does not trust the example key."""
    key = example_key()
    if (await svc.keys.registry()).get(key.kid, key.issuer) is None:
        return None
    seq = next((int(row["next_seq"]) for row in await svc.inbox.channels(READER)
                if (row["issuer"], row["audience"]) == (key.issuer, HUB)), 1)
    at = int(time.time()) if now is None else now
    return sign_message(key, aud=HUB, typ=MessageType.TRANSFER_ACK, seq=seq,
                        body={"flow_id": DEMO_LSWP_FLOW, "accepted": True},
                        iat=at - at % EXAMPLE_PERIOD_S, ttl_s=EXAMPLE_TTL_S,
                        jti=f"openapi-example-{seq}")


def serve_live_examples(app: FastAPI) -> None:
    """Serve `/openapi.json` with the inbox's example signed for this hub, now."""

    async def openapi(request: Request) -> JSONResponse:
        schema: dict[str, Any] = app.openapi()
        token = await example_message(request.app.state.services)
        if token is not None:
            schema = copy.deepcopy(schema)
            inbox = schema["components"]["schemas"]["MessagesIn"]
            inbox["examples"] = [{"tokens": [token]}]
        return JSONResponse(schema)

    path = app.openapi_url or "/openapi.json"
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != path]
    app.add_route(path, openapi, include_in_schema=False)
