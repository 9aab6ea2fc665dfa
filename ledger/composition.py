"""The composition root: the one place that builds the ledger's service graph from settings.

It chooses the store (PostgreSQL or SQLite) for the posting engine, opens the database, loads the
hub's signing key and the agreement in force, and wires every service. The API, the CLI, the demo,
the settlement runner, the simulator's replay, the load tests' preparation and the tests all start
here; services receive what they need and never reach up for it (docs/architecture.md).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ledger.adapters.registry import adapters
from ledger.channels.registry import load_registry
from ledger.config import Settings
from ledger.db import journal_repo
from ledger.db.engine import Database, open_database
from ledger.db.migrate import upgrade
from ledger.db.replica import open_standby
from ledger.db.stores import ledger_transactions
from ledger.domain.pii import PiiVault
from ledger.limits import STANDBY_CONNECT_TIMEOUT_S
from ledger.services.channel_days import ChannelDayService
from ledger.services.channels import ChannelService
from ledger.services.claimables import ClaimablesService
from ledger.services.clients import ClientService
from ledger.services.consent import ConsentService
from ledger.services.contributions import ContributionService
from ledger.services.employments import EmploymentService
from ledger.services.group_commit import GroupCommitter
from ledger.services.imports import ImportService
from ledger.services.inbox import InboxService
from ledger.services.journal import JournalService
from ledger.services.keys import KeyService
from ledger.services.message_handlers import (
    portability_bulk_handlers,
    portability_handlers,
    settlement_handlers,
)
from ledger.services.portability import PortabilityService
from ledger.services.posting import PostingEngine
from ledger.services.rate_limits import RateLimiter
from ledger.services.read_routing import ReadGraph, ReadRouter
from ledger.services.settlement import SettlementService
from ledger.services.signing import HubSigner
from ledger.services.statements import StatementService
from ledger.services.stats import StatsService
from ledger.services.transfers import TransferService
from ledger.services.verification import VerificationService
from ledger.services.workers import WorkerService
from ledger.settlement.agreement import Agreement, bundled_agreement
from ledger.stats.privacy import Budget

# The agreement the hub runs (a settings key once more than one is in force).
PILOT_AGREEMENT = "clmtv-2019-pilot"
LOG = logging.getLogger("clmtv")


@dataclass(slots=True)
class Services:
    """The service graph: what every entry point works through."""

    db: Database
    committer: GroupCommitter
    clients: ClientService
    workers: WorkerService
    contributions: ContributionService
    transfers: TransferService
    statements: StatementService
    consent: ConsentService
    claimables: ClaimablesService
    verification: VerificationService
    signer: HubSigner
    keys: KeyService
    portability: PortabilityService
    inbox: InboxService
    settlement: SettlementService
    imports: ImportService
    channels: ChannelService
    channel_days: ChannelDayService
    employments: EmploymentService
    journal: JournalService
    period_journal: JournalService  # the period state changes' log (ADR 0059)
    stats: StatsService
    rate_limits: RateLimiter
    reads: ReadRouter  # statements, balances, reports: the primary or its hot standby

    async def close(self) -> None:
        """Close what the graph opened from its settings: the standby's engine (the primary's
        belongs to whoever passed or opened it)."""
        await self.reads.close()


def identity_vault(settings: Settings) -> PiiVault:
    """The identity keys: the current pair, and the previous one during a rotation."""
    previous = None
    if settings.pii_previous_hmac_key and settings.pii_previous_encryption_key:
        previous = PiiVault(settings.pii_previous_hmac_key, settings.pii_previous_encryption_key)
    return PiiVault(settings.pii_hmac_key, settings.pii_encryption_key, previous)


def build_services(
    settings: Settings, db: Database | None = None, signer: HubSigner | None = None
) -> Services:
    """Wire the graph. `db` and `signer` override what the settings name (tests, replay)."""
    # Every adapter folder loads now: a fund a folder declares (e.g. MY-SOCSO) is known to the
    # API from the first request, not from the first import that happens to load its rules.
    adapters()
    db = db or open_database(settings.database_url, settings.db_pool_size)
    vault = identity_vault(settings)
    committer = GroupCommitter(PostingEngine(db, ledger_transactions(db)),
                               settings.group_commit_max)
    worker_service = WorkerService(db, vault)
    signer = signer or HubSigner.from_file(Path(settings.hub_key_file), create=settings.dev_mode)
    keys = KeyService(db)
    agreement = bundled_agreement(PILOT_AGREEMENT)
    portability = PortabilityService(db, committer, agreement)
    settlement = SettlementService(db, committer, signer, agreement.member_funds)
    inbox = InboxService(db, keys, signer, {**portability_handlers(portability),
                                            **settlement_handlers(settlement)},
                         bulk_handlers=portability_bulk_handlers(portability))
    keys.on_revoke.append(inbox.refuse_held)
    registry = load_registry(agreement)
    channels = ChannelService(db, committer, worker_service, signer, agreement, registry)
    employments = EmploymentService(db, worker_service)
    consent = ConsentService(db)
    statements = StatementService(db, worker_service, consent)
    claimables = ClaimablesService(db, agreement, portability)
    transfers = TransferService(db, committer)
    stats = StatsService(db, signer, Decimal(settings.stats_epsilon),
                         Budget(Decimal(settings.stats_budget_per_month)))
    on_primary = ReadGraph(db, worker_service, statements, claimables, transfers, stats)
    return Services(
        db=db,
        committer=committer,
        clients=ClientService(db, registry.channels),
        workers=worker_service,
        contributions=ContributionService(committer, worker_service, employments),
        transfers=transfers,
        statements=statements,
        consent=consent,
        claimables=claimables,
        verification=VerificationService(signer),
        signer=signer,
        keys=keys,
        portability=portability,
        inbox=inbox,
        settlement=settlement,
        imports=ImportService(db, vault),
        channels=channels,
        channel_days=ChannelDayService(channels),
        employments=employments,
        journal=JournalService(db, signer),
        period_journal=JournalService(db, signer, journal_repo.PERIODS),
        stats=stats,
        rate_limits=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
        reads=ReadRouter(on_primary, _standby_graph(settings, on_primary, committer, agreement),
                         settings.database_read_wait_s,
                         all_writes=settings.database_read_after == "all-writes"),
    )


def _standby_graph(settings: Settings, primary: ReadGraph, committer: GroupCommitter,
                   agreement: Agreement) -> ReadGraph | None:
    """The read services again, on the hot standby CLMTV_DATABASE_READ_URL names (ADR 0058);
    None without one. What they write (a reader recorded for the worker) goes to the primary;
    nothing posts through them, and the standby refuses any write."""
    problem = settings.read_url_problem()
    if problem is not None:
        LOG.warning("%s", problem)
    if settings.database_read_url is None or problem is not None or not primary.db.is_postgres:
        return None
    standby = open_standby(settings.database_read_url, settings.db_pool_size,
                           STANDBY_CONNECT_TIMEOUT_S)
    vault = primary.workers.vault
    workers = WorkerService(standby, vault)
    consent = ConsentService(standby, records=primary.db)
    portability = PortabilityService(standby, committer, agreement)
    return ReadGraph(standby, workers, StatementService(standby, workers, consent),
                     ClaimablesService(standby, agreement, portability),
                     TransferService(standby, committer),
                     StatsService(standby, primary.stats.signer, primary.stats.epsilon,
                                  primary.stats.budget))


@asynccontextmanager
async def running_services(
    settings: Settings, *, db: Database | None = None, signer: HubSigner | None = None,
    migrate: bool = True,
) -> AsyncIterator[Services]:
    """The graph for a program that is not a server: migrated, its group committer running,
    and everything closed on exit (the database too, unless the caller passed its own)."""
    services = build_services(settings, db=db, signer=signer)
    try:
        if migrate:
            await upgrade(services.db)
        services.committer.start()
        try:
            yield services
        finally:
            await services.committer.stop()
    finally:
        await services.close()
        if db is None:
            await services.db.dispose()
