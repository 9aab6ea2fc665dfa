"""Request-scoped dependencies: the service container and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.api.observability import note_principal
from ledger.composition import Services
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal


async def services(request: Request) -> Services:
    # async on purpose: FastAPI runs plain `def` dependencies in a thread pool, per request.
    found: Services = request.app.state.services
    return found


_bearer = HTTPBearer(
    auto_error=False, description="A token printed by `clmtv demo` or `clmtv clients add`"
)


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, counted against its rate limit (ADR 0053): an authenticated caller by its
    name, one without a valid token by its address (so token guessing is slowed too)."""
    svc: Services = request.app.state.services
    try:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise DomainError(ErrorCode.UNAUTHENTICATED, "send Authorization: Bearer <token>")
        found = await svc.clients.authenticate(credentials.credentials)
    except DomainError as exc:
        if exc.code is ErrorCode.UNAUTHENTICATED:
            address = request.client.host if request.client else "unknown"
            _limit(svc, f"address:{address}")
        raise
    _limit(svc, f"principal:{found.name}")
    note_principal(found.name)  # the logs of this request name who asked
    return found


def _limit(svc: Services, key: str) -> None:
    wait_s = svc.rate_limits.take(key)
    if wait_s:
        raise DomainError(ErrorCode.RATE_LIMITED, f"too many requests: retry in {wait_s} s",
                          details={"retry_after_s": wait_s})


# The same bearer scheme under its own name, so that the OpenAPI document can say the token is
# optional where it is (api/contract.py folds it back into `HTTPBearer`).
OPTIONAL_BEARER = "HTTPBearerOptional"
_optional_bearer = HTTPBearer(auto_error=False, scheme_name=OPTIONAL_BEARER,
                              description="Optional: staff learn more with one")


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)],
) -> Principal | None:
    """The principal when a token is sent (a bad token is still refused), else None: for
    routes anyone may call that say more to the hub's own staff."""
    if credentials is None:
        return None
    return await principal(request, credentials)


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]
