"""Request-scoped dependencies: the service container and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise DomainError(ErrorCode.UNAUTHENTICATED, "send Authorization: Bearer <token>")
    svc: Services = request.app.state.services
    return await svc.clients.authenticate(credentials.credentials)


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
