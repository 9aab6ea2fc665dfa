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

from ledger.settlement.journal import sign_tree_head
from ledger.settlement.keys import HUB, Keyring, SigningKey, TrustRegistry
from ledger.settlement.messages import MessageType, sign_message

# A statement stays verifiable for a year; `clmtv verify --at` checks it as of another time.
STATEMENT_TTL_S = 366 * 24 * 3600
# A monitoring release stays verifiable as long as anyone may cite it.
RELEASE_TTL_S = 10 * 366 * 24 * 3600
# A receipt is the worker's proof of payment for as long as a claim on those months may last.
RECEIPT_TTL_S = 10 * 366 * 24 * 3600


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
        # Written whole to a private temporary file, then linked into place: the server's
        # worker processes start together, and each must see either no key or a complete one.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(key.private_jwk(), handle)
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process made it first: use that one
            return cls(SigningKey.from_private_jwk(HUB, json.loads(path.read_text())))
        finally:
            temporary.unlink()
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

    def sign_tree_head(self, tree_size: int, root: bytes, last_seq: int,
                       sealed_at_us: int, log: str = "transfers") -> str:
        """A journal seal: the tree of `tree_size` leaves of `log` has `root` (ADR 0050,
        0059)."""
        return sign_tree_head(self.keyring.current(sealed_at_us // 1_000_000), tree_size, root,
                              last_seq, sealed_at_us, log)

    def trust(self) -> TrustRegistry:
        """A registry holding the hub's public keys: what a verifier of its documents needs."""
        registry = TrustRegistry()
        registry.load_jwks(HUB, self.jwks())
        return registry

    def sign_receipt(self, worker_id: str, receipt: dict[str, Any], paid_at_us: int) -> str:
        """A channel payment's receipt (JWS over its RFC 8785 form), addressed to the worker.
        Its sequence number is the payment's time in µs: receipts are ordered by payment."""
        issued = paid_at_us // 1_000_000
        return sign_message(
            self.keyring.current(issued), aud=worker_id, typ=MessageType.PAYMENT_RECEIPT,
            seq=max(paid_at_us, 1), body=receipt, iat=issued, ttl_s=RECEIPT_TTL_S,
            jti=f"receipt:{receipt['payment_id']}",
        )

    def sign_release(self, audience: str, release_id: str, manifest: dict[str, Any],
                     now: int | None = None) -> str:
        """A monitoring release's manifest (its files' SHA-256), addressed to its audience
        (`public`, `fund:<code>`, `ministry:<country>`); the jti is the release id."""
        issued = int(time.time()) if now is None else now
        return sign_message(
            self.keyring.current(issued), aud=audience, typ=MessageType.STATS_RELEASE,
            seq=max(issued, 1), body=manifest, iat=issued, ttl_s=RELEASE_TTL_S, jti=release_id,
        )
