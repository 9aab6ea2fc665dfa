"""The hub's signing identity: its key, its published JWKS, and signed worker statements.

The private key lives in a JWK file (dev-only storage; production keeps it in an HSM and signs
there). The file is created once, readable only by its owner, by `clmtv hub-key create` or in
development mode, so that signed statements stay verifiable after a restart; a server never
creates it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ledger.settlement.keys import HUB, Keyring, SigningKey
from ledger.settlement.messages import MessageType, sign_message

# A statement stays verifiable for a year; `clmtv verify --at` checks it as of another time.
STATEMENT_TTL_S = 366 * 24 * 3600


class HubSigner:
    def __init__(self, key: SigningKey) -> None:
        self.keyring = Keyring(HUB)
        self.keyring.add(key)

    @classmethod
    def from_file(cls, path: Path, create: bool = False) -> HubSigner:
        """The key in `path`; a missing file is created only when `create` (development mode or
        `clmtv hub-key create`): a server that made itself a new identity would sign statements
        no one can trace to the hub's published key."""
        if path.exists():
            return cls(SigningKey.from_private_jwk(HUB, json.loads(path.read_text())))
        if not create:
            raise FileNotFoundError(f"the hub's signing key file {path} does not exist")
        key = SigningKey.generate(HUB)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(key.private_jwk(), handle)
        return cls(key)

    def jwks(self) -> dict[str, Any]:
        return self.keyring.public_jwks()

    def sign_statement(self, worker_id: str, statement: dict[str, Any],
                       now: int | None = None) -> str:
        """A JWS over the RFC 8785 form of the statement, addressed to the worker. The sequence
        number is the issue time: statements are snapshots, each newer than the last."""
        issued = int(time.time()) if now is None else now
        return sign_message(
            self.keyring.current(issued), aud=worker_id, typ=MessageType.STATEMENT_WORKER,
            seq=issued, body=statement, iat=issued, ttl_s=STATEMENT_TTL_S,
        )
