"""The worker's statement page, its printable version, its signed copy and its QR code, and the
consent page where the worker grants, revokes and sees who read it.

Everything the page shows comes from two services: the statement (`StatementService`, with its
access and consent checks) and what is claimable (`ClaimablesService`, the funds' own rules). The
page signs the statement it shows and embeds that signed copy: the download and the QR code
belong to exactly the document on the screen or the paper.
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import UTC, datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledger.domain.errors import DomainError
from ledger.domain.money import Currency, Money
from ledger.domain.principals import PrincipalKind
from ledger.services.claimables import WorkerClaims
from ledger.services.read_routing import ReadGraph, principal_key, worker_key
from ledger.web import session
from ledger.web.pages import error_page
from ledger.web.templating import render

router = APIRouter(include_in_schema=False)


def qr_target(request: Request, token: str, worker_id: str) -> str:
    """What the QR code carries: the verification page's address with the SHA-256 of the signed
    statement in the fragment (never sent to a server). A whole statement is too long for a
    QR code a phone reads from paper; its digest pins it: paste or upload the statement and
    the page says whether it is the one printed."""
    digest = hashlib.sha256(token.encode("ascii")).hexdigest()
    return f"{request.base_url}web/verify#sha256={digest}&worker={worker_id}"


def qr_svg_data_uri(text: str) -> str:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _money(wire: dict[str, str]) -> Money:
    return Money(int(wire["amount_minor"]), Currency(wire["currency"]))


@router.get("/web/workers/{worker_id}/statement")
async def statement_page(request: Request, worker_id: str) -> Response:
    """The statement; `?print=1` is the printable layout (no navigation, the QR code kept)."""
    svc = session.services(request)
    try:
        principal = await session.principal(request)
    except DomainError as refused:
        return error_page(request, refused)

    async def read(g: ReadGraph) -> tuple[dict[str, Any], WorkerClaims, dict[str, Any] | None]:
        statement = await g.statements.statement(principal, worker_id, what="page")
        claims = await g.claimables.for_worker(worker_id, statement["scope"]["funds"])
        return statement, claims, await g.claimables.exit_routes(principal, worker_id)

    try:
        # The page reads from the hot standby when one is configured (ADR 0058): the worker's
        # key makes it wait for (or go around) a payment for them just made.
        (statement, claims, routes), source = await svc.reads.read(
            [principal_key(principal.name), worker_key(worker_id)], read)
    except DomainError as refused:
        return error_page(request, refused)
    token = svc.signer.sign_statement(worker_id, statement)
    context: dict[str, Any] = {
        "principal": principal, "is_worker": principal.kind is PrincipalKind.WORKER,
        "worker_id": worker_id, "statement": statement, "claims": claims,
        "warnings": [o for o in claims.options if o.warn(claims.today)],
        "exit_routes": routes,
        "token": token,
        "token_data_uri": "data:application/jose;base64,"
                          + base64.b64encode(token.encode("ascii")).decode("ascii"),
        "qr": qr_svg_data_uri(qr_target(request, token, worker_id)),
        "print_version": request.query_params.get("print") == "1",
        "to_money": _money,
    }
    page = render(request, "statement.html", context)
    if svc.reads.enabled:
        page.headers["X-Clmtv-Read-From"] = source
    return page


@router.get("/web/workers/{worker_id}/consents")
async def consents_page(request: Request, worker_id: str) -> Response:
    svc = session.services(request)
    try:
        principal = await session.principal(request)
        overview = await svc.consent.overview(principal, worker_id)
    except DomainError as refused:
        return error_page(request, refused)
    return render(request, "consents.html", {
        "principal": principal, "worker_id": worker_id, "overview": overview,
        "at": lambda us: datetime.fromtimestamp(us / 1e6, tz=UTC).date(),
        "clock": lambda us: datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%H:%M UTC")})


@router.post("/web/workers/{worker_id}/consents")
async def grant(request: Request, worker_id: str,
                grantee: Annotated[str, Form(max_length=128)],
                days: Annotated[int, Form(ge=0, le=3660)],
                note: Annotated[str, Form(max_length=400)] = "") -> Response:
    svc = session.services(request)
    try:
        principal = await session.principal(request)
        await svc.consent.grant(principal, worker_id, grantee.strip(), days, note)
    except DomainError as refused:
        return error_page(request, refused)
    return RedirectResponse(f"/web/workers/{worker_id}/consents", status_code=303)


@router.post("/web/workers/{worker_id}/consents/{grant_id}/revoke")
async def revoke(request: Request, worker_id: str, grant_id: str) -> Response:
    svc = session.services(request)
    try:
        principal = await session.principal(request)
        await svc.consent.revoke(principal, worker_id, grant_id)
    except DomainError as refused:
        return error_page(request, refused)
    return RedirectResponse(f"/web/workers/{worker_id}/consents", status_code=303)
