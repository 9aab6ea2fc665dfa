"""Check a signed statement or payment receipt: the API beside the verification page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.demo_data import DEMO_WORKER

router = APIRouter(tags=["documents"], responses=PROBLEM_RESPONSES)

# Four bytes of nonsense in each part: the example shows what an invalid document answers.
_EXAMPLE = "eyJhbGciOiJFZDI1NTE5In0.e30.AAAA"


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"document": _EXAMPLE, "audience": DEMO_WORKER}]})
    document: str = Field(min_length=1, max_length=4 * 1024 * 1024,
                          description="The compact JWS: a statement.jws or a payment receipt")
    audience: str | None = Field(None, max_length=64,
                                 description="The worker it must be issued to (checked if set)")


@router.post("/v1/verify", summary="Is this signed statement or receipt genuine?")
async def verify(body: DocumentIn, svc: ServicesDep) -> dict[str, Any]:
    """Anyone may ask (no token): `valid` with the verified content, or `valid: false` and the
    reason (`signature_invalid` for a tampered document). The same check runs offline in the
    browser on /web/verify and in `clmtv verify`, with the keys at /.well-known/jwks.json."""
    return svc.verification.verify(body.document, body.audience)
