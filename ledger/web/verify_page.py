"""The verification page: paste or upload a signed statement or receipt and see whether it is
genuine.

The browser checks it by itself (`static/verify.js`: WebCrypto Ed25519 and the hub's published
keys, embedded in the page, so a saved copy of the page works offline). Without JavaScript the
form is sent here and the server gives the same answer (`VerificationService`, also
`POST /v1/verify`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import Response

from ledger.web import session
from ledger.web.templating import render

router = APIRouter(include_in_schema=False)


def _context(request: Request, result: dict[str, Any] | None, document: str) -> dict[str, Any]:
    jwks = session.services(request).signer.jwks()
    return {"jwks_json": json.dumps(jwks, separators=(",", ":")), "result": result,
            "document": document,
            "at": lambda s: datetime.fromtimestamp(s, tz=UTC).date()}


@router.get("/web/verify")
async def verify_page(request: Request) -> Response:
    return render(request, "verify.html", _context(request, None, ""))


@router.post("/web/verify")
async def verify_form(request: Request,
                      document: Annotated[str, Form(max_length=4 * 1024 * 1024)]) -> Response:
    result = session.services(request).verification.verify(document)
    return render(request, "verify.html", _context(request, result, document))
