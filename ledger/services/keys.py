"""The key registry of member funds: publish a JWKS, revoke a key, build a TrustRegistry.

Validation and the rules (one issuer per kid, windows, revocation is sticky) are the settlement
layer's `TrustRegistry`; this service persists its outcome. A fund publishes only its own keys;
the hub operator may publish for anyone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ledger.db import repositories as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import get_fund
from ledger.domain.principals import Principal, PrincipalKind
from ledger.limits import KEYS_PER_ISSUER_MAX, KEYS_PER_PUBLISH_MAX
from ledger.services.posting import now_us
from ledger.settlement.keys import Party, TrustedKey, TrustRegistry


class KeyService:
    def __init__(self, db: Database) -> None:
        self.db = db
        # The parsed registry and its JWKS by issuer, kept until any process publishes or revokes
        # (the version is read per use): parsing every key per inbox batch or anonymous GET put
        # 20,000 published keys on the event loop for every request.
        self._cached: tuple[tuple[int, int], TrustRegistry, dict[str, dict[str, Any]]] | None = None
        # Called with the issuer after one of its keys is revoked (the inbox refuses the
        # messages it holds that were signed by it); wired by the composition root.
        self.on_revoke: list[Callable[[str], Awaitable[object]]] = []

    async def registry(self) -> TrustRegistry:
        """The registry as published now, shared: read it, never change it (publish and revoke
        work on a fresh copy)."""
        return (await self._current())[0]

    async def _current(self) -> tuple[TrustRegistry, dict[str, dict[str, Any]]]:
        version = await repo.trusted_keys_version(self.db)
        cached = self._cached
        if cached is None or cached[0] != version:
            registry = await self._load()
            jwks = {str(issuer): registry.export_jwks(issuer)
                    for issuer in sorted(registry.issuers())}
            cached = (version, registry, jwks)
            self._cached = cached
        return cached[1], cached[2]

    async def _load(self) -> TrustRegistry:
        registry = TrustRegistry()
        for issuer, jwk in await repo.trusted_key_rows(self.db):
            registry.add(TrustedKey.from_jwk(Party(issuer), json.loads(jwk)))
        return registry

    def _may_publish(self, principal: Principal, issuer: str) -> None:
        get_fund(issuer, field="issuer")
        principal.require(
            principal.kind is PrincipalKind.HUB_OPERATOR
            or (principal.kind is PrincipalKind.FUND and principal.scope == issuer),
            f"publish keys for {issuer}",
        )

    async def publish(self, principal: Principal, issuer: str, jwks: dict[str, Any]
                      ) -> dict[str, Any]:
        """Add or update the issuer's keys (all or nothing); returns the issuer's JWKS."""
        self._may_publish(principal, issuer)
        offered = jwks.get("keys") if isinstance(jwks, dict) else None
        if isinstance(offered, list) and len(offered) > KEYS_PER_PUBLISH_MAX:
            raise DomainError(ErrorCode.BATCH_TOO_LARGE, f"{len(offered)} keys in one set; "
                              f"publish at most {KEYS_PER_PUBLISH_MAX} at a time", field="keys")
        registry = await self._load()
        keys = registry.load_jwks(Party(issuer), jwks)
        held = len(registry.keys_of(issuer))
        if held > KEYS_PER_ISSUER_MAX:
            raise DomainError(ErrorCode.BATCH_TOO_LARGE, f"{issuer} would hold {held} keys; at "
                              f"most {KEYS_PER_ISSUER_MAX} (let expired keys go before adding)",
                              field="keys")
        stored = [registry.get(k.kid) for k in keys]
        await repo.save_trusted_keys(
            self.db, [(k.kid, k.issuer, json.dumps(k.to_jwk())) for k in stored if k], now_us())
        return registry.export_jwks(issuer)

    async def revoke(self, principal: Principal, issuer: str, kid: str, at: int | None
                     ) -> dict[str, Any]:
        self._may_publish(principal, issuer)
        registry = await self._load()
        key = registry.get(kid)
        if key is None or key.issuer != issuer:
            raise DomainError(ErrorCode.NOT_FOUND, f"{issuer} has no key {kid}", field="kid")
        revoked = registry.revoke(kid, int(time.time()) if at is None else at)
        await repo.save_trusted_keys(
            self.db, [(kid, issuer, json.dumps(revoked.to_jwk()))], now_us())
        for hook in self.on_revoke:
            await hook(issuer)
        return revoked.to_jwk()

    async def jwks_by_issuer(self) -> dict[str, dict[str, Any]]:
        return (await self._current())[1]
