"""Published verification keys (RFC 7517 JWKS): the hub's, and each member fund's registry.

Keys carry their validity window as extra members (`nbf`, `exp`, `revoked_at`, Unix seconds).
A fund publishes and revokes its own keys; revocation is permanent and cannot be undone by
publishing the key again.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.limits import ID_MAX

router = APIRouter(tags=["keys"], responses=PROBLEM_RESPONSES)

EXAMPLE_JWK = {"kty": "OKP", "crv": "Ed25519", "kid": "th-sso-2026-01",
               "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "alg": "Ed25519", "use": "sig",
               "nbf": 1767225600, "exp": 1798761600}


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"at": 1767225600}]})
    at: StrictInt | None = Field(None, ge=0, le=ID_MAX, description="Unix seconds; default: now")


@router.get("/.well-known/jwks.json", summary="The hub's public signing keys (JWKS)")
async def jwks(svc: ServicesDep) -> dict[str, Any]:
    return svc.signer.jwks()


@router.get("/v1/keys", summary="Every published key set, by issuer (HUB and member funds)",
            response_model=None, responses={304: {"description": "Not modified (ETag)"}})
async def keys_by_issuer(svc: ServicesDep,
                         if_none_match: Annotated[str | None, Header(max_length=1024)] = None
                         ) -> Response:
    """With an `ETag`: a fund that keeps the keys asks again with `If-None-Match` and gets 304
    until a key is published or revoked."""
    payload = orjson.dumps({"HUB": svc.signer.jwks(), **await svc.keys.jwks_by_issuer()})
    etag = '"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(payload, media_type="application/json", headers=headers)


@router.put("/v1/keys/{issuer}", summary="Publish (add or update) a fund's keys")
async def publish(
    issuer: Annotated[str, Path(openapi_examples={"demo": {"value": "TH-SSO"}})],
    body: Annotated[dict[str, Any], Body(openapi_examples={"demo": {
        "summary": "one Ed25519 key with a validity window", "value": {"keys": [EXAMPLE_JWK]}}})],
    principal: PrincipalDep, svc: ServicesDep,
) -> dict[str, Any]:
    """All or nothing: one bad key rejects the set, naming `keys[i].member`. Rotation = publish a
    new key while the old one is still valid (overlap), then let the old one expire."""
    return await svc.keys.publish(principal, issuer, body)


@router.post("/v1/keys/{issuer}/{kid}/revocation", summary="Revoke a fund's key")
async def revoke(
    issuer: Annotated[str, Path(openapi_examples={"demo": {"value": "TH-SSO"}})],
    kid: Annotated[str, Path(openapi_examples={"demo": {"value": "th-sso-2026-01"}})],
    body: RevocationIn, principal: PrincipalDep, svc: ServicesDep,
) -> dict[str, Any]:
    return await svc.keys.revoke(principal, issuer, kid, body.at)
