"""The key registry of member funds: publish a JWKS, revoke a key, build a TrustRegistry.

Validation and the rules (one issuer per kid, windows, revocation is sticky) are the settlement
layer's `TrustRegistry`; this service persists its outcome. A fund publishes only its own keys;
the hub operator may publish for anyone.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ledger.db import repositories as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import get_fund
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.posting import now_us
from ledger.settlement.keys import Party, TrustedKey, TrustRegistry


class KeyService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def registry(self) -> TrustRegistry:
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
        registry = await self.registry()
        keys = registry.load_jwks(Party(issuer), jwks)
        stored = [registry.get(k.kid) for k in keys]
        await repo.save_trusted_keys(
            self.db, [(k.kid, k.issuer, json.dumps(k.to_jwk())) for k in stored if k], now_us())
        return registry.export_jwks(issuer)

    async def revoke(self, principal: Principal, issuer: str, kid: str, at: int | None
                     ) -> dict[str, Any]:
        self._may_publish(principal, issuer)
        registry = await self.registry()
        key = registry.get(kid)
        if key is None or key.issuer != issuer:
            raise DomainError(ErrorCode.NOT_FOUND, f"{issuer} has no key {kid}", field="kid")
        revoked = registry.revoke(kid, int(time.time()) if at is None else at)
        await repo.save_trusted_keys(
            self.db, [(kid, issuer, json.dumps(revoked.to_jwk()))], now_us())
        return revoked.to_jwk()

    async def jwks_by_issuer(self) -> dict[str, dict[str, Any]]:
        registry = await self.registry()
        return {issuer: registry.export_jwks(issuer) for issuer in sorted(registry.issuers())}
