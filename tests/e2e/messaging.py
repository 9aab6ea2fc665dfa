"""A fund as a message sender in tests: its key published at the hub, its channel's next seq."""

from __future__ import annotations

import time
import uuid
from typing import Any

from ledger.composition import Services
from ledger.db import inbox_repo
from ledger.settlement.keys import HUB, Party, SigningKey, TrustRegistry
from ledger.settlement.messages import MessageType, sign_message
from tests.e2e.story_support import OPERATOR


class Sender:
    def __init__(self, services: Services, fund: str) -> None:
        self.services = services
        self.fund = fund
        self.key = SigningKey.generate(Party(fund))

    async def publish(self) -> Sender:
        await self.services.keys.publish(OPERATOR, self.fund, {"keys": [self.key.public_jwk()]})
        return self

    async def next_seq(self) -> int:
        for row in await inbox_repo.channels(self.services.db):
            if (row["issuer"], row["audience"]) == (self.fund, HUB):
                return int(row["next_seq"])
        return 1

    async def sign(self, typ: MessageType, body: dict[str, Any], *, seq: int | None = None,
                   jti: str | None = None, aud: str = HUB, iat: int | None = None,
                   key: SigningKey | None = None) -> str:
        return sign_message(key or self.key, aud=aud, typ=typ,
                            seq=seq if seq is not None else await self.next_seq(), body=body,
                            iat=iat if iat is not None else int(time.time()),
                            jti=jti or f"msg-{uuid.uuid4().hex}")


def hub_registry(services: Services) -> TrustRegistry:
    """What a fund holds to check the hub's acknowledgements: the hub's published JWKS."""
    registry = TrustRegistry()
    registry.load_jwks(HUB, services.signer.jwks())
    return registry
