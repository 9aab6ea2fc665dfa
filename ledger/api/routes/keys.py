"""Published verification keys: the hub's JWKS (RFC 7517), for offline verification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ledger.api.deps import ServicesDep

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="The hub's public signing keys (JWKS)")
async def jwks(svc: ServicesDep) -> dict[str, Any]:
    return svc.signer.jwks()


@router.get("/v1/keys", summary="Public keys by issuer (the hub; fund keys arrive with issue 4)")
async def keys_by_issuer(svc: ServicesDep) -> dict[str, Any]:
    return {"HUB": svc.signer.jwks()}
