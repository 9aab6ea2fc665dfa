"""Request-scoped dependencies: the service container and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal
from ledger.services.channel_days import ChannelDayService
from ledger.services.channels import ChannelService
from ledger.services.clients import ClientService
from ledger.services.contributions import ContributionService
from ledger.services.group_commit import GroupCommitter
from ledger.services.imports import ImportService
from ledger.services.inbox import InboxService
from ledger.services.keys import KeyService
from ledger.services.portability import PortabilityService
from ledger.services.settlement import SettlementService
from ledger.services.signing import HubSigner
from ledger.services.statements import StatementService
from ledger.services.transfers import TransferService
from ledger.services.workers import WorkerService


@dataclass(slots=True)
class Services:
    db: Database
    committer: GroupCommitter
    clients: ClientService
    workers: WorkerService
    contributions: ContributionService
    transfers: TransferService
    statements: StatementService
    signer: HubSigner
    keys: KeyService
    portability: PortabilityService
    inbox: InboxService
    settlement: SettlementService
    imports: ImportService
    channels: ChannelService
    channel_days: ChannelDayService


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
