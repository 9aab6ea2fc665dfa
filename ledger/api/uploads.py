"""Uploads are authenticated and authorised before a byte of their body is read.

A declaration file (`POST /v1/funds/{fund}/declarations`) or a channel's day file (`POST
/v1/channels/{channel}/days/{day}`) is a multipart body that FastAPI parses and spools to disk
before any dependency runs: an anonymous 200 MB upload was received whole before its 401 (issue
25 finding 7). `UploadGate` sits in front of the app (pure ASGI, like `BodyLimit`): it reads the
bearer token from the headers, asks who it is and whether that principal may upload to this
fund or channel, and answers 401 or 403 without calling `receive`. It also tells `BodyLimit`
the principal's own size bound: an employer declares one employer's month, not a whole fund's.
The route authenticates again (from the per-process token cache) and checks everything else.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.api import errors
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal, PrincipalKind
from ledger.limits import EMPLOYER_DECLARATION_MAX_BYTES

BODY_LIMIT_KEY = "clmtv.body_limit"  # the scope entry BodyLimit reads, set here


def upload_target(method: str, path: str) -> tuple[str, str] | None:
    """("declarations", fund) or ("days", channel) for an upload route, else None."""
    if method != "POST":
        return None
    parts = path.split("/")
    if len(parts) == 5 and parts[1:3] == ["v1", "funds"] and parts[4] == "declarations":
        return "declarations", parts[3]
    if len(parts) == 6 and parts[1:3] == ["v1", "channels"] and parts[4] == "days":
        return "days", parts[3]
    return None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _authorise(principal: Principal, kind: str, target: str) -> None:
    if kind == "declarations":
        principal.require(principal.can_post_contribution(target),
                          f"import declarations for {target}")
    else:
        principal.require(principal.can_act_for_channel(target),
                          f"send day files for {target}")


class UploadGate:
    """401 without a valid token, 403 for a principal who may not upload here: before the body
    is read. Every other request passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = upload_target(scope.get("method", ""), scope["path"]) \
            if scope["type"] == "http" else None
        if target is None:
            await self.app(scope, receive, send)
            return
        try:
            token = _bearer(scope)
            if token is None:
                raise DomainError(ErrorCode.UNAUTHENTICATED, "send Authorization: Bearer <token>")
            principal = await scope["app"].state.services.clients.authenticate(token)
            _authorise(principal, *target)
        except DomainError as exc:
            await errors.problem(exc, scope["path"])(scope, receive, send)
            return
        if principal.kind is PrincipalKind.EMPLOYER:
            scope[BODY_LIMIT_KEY] = EMPLOYER_DECLARATION_MAX_BYTES
        await self.app(scope, receive, send)
