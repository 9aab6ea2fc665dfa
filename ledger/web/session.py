"""Who is reading a page: the bearer token of the JSON API, sent as a header or kept in a cookie.

The login form keeps the token the person pasted in an HttpOnly, SameSite=Strict cookie (never
in a URL: addresses end up in logs and history, ADR 0040); pages resolve it through the same
client service as the API, so an expired or revoked token stops working here too.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ledger.composition import Services
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal

SESSION_COOKIE = "clmtv_session"
SESSION_MAX_AGE_S = 8 * 3600  # a working day; the token's own expiry still applies


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def token_of(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(SESSION_COOKIE) or None


async def principal(request: Request) -> Principal:
    """The reader, or DomainError UNAUTHENTICATED (the page then offers the login form)."""
    token = token_of(request)
    if token is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "sign in with your token")
    return await services(request).clients.authenticate(token)


def remember(response: Response, request: Request, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_S, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/web")


def forget(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/web")
