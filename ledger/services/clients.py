"""API clients: bearer tokens mapped to principals. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Collection, Sequence

from ledger.db import repositories as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import get_fund
from ledger.domain.ids import check_worker_id
from ledger.domain.principals import FUND_SCOPED, Principal, PrincipalKind
from ledger.services.posting import now_us

_CACHE_TTL_S = 30.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _client_row(name: str, kind: PrincipalKind, scope: str | None, token: str | None,
                channels: frozenset[str]) -> tuple[dict[str, object], str]:
    if kind in FUND_SCOPED:
        get_fund(scope or "", field="scope")
    elif kind is PrincipalKind.CHANNEL:
        if scope not in channels:
            raise DomainError(ErrorCode.UNKNOWN_CHANNEL,
                              f"unknown channel {scope!r}; known: {', '.join(sorted(channels))}",
                              field="scope")
    elif kind is PrincipalKind.WORKER:
        check_worker_id(scope, "scope")
    elif scope is not None:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{kind} takes no scope", field="scope")
    token = token or "clmtv_" + secrets.token_urlsafe(32)
    return {"token_hash": token_hash(token), "name": name, "kind": kind.value, "scope": scope,
            "created_at_us": now_us()}, token


class ClientService:
    def __init__(self, db: Database, channels: Collection[str] = ()) -> None:
        self.db = db
        self.channels = frozenset(channels)  # the registry's codes: a channel client's scope
        # token hash -> (principal, expiry); a revoked token lives at most _CACHE_TTL_S here.
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def register(
        self, name: str, kind: PrincipalKind, scope: str | None, token: str | None = None
    ) -> str:
        """Create a client and return its token (shown once; only its hash is kept)."""
        row, token = _client_row(name, kind, scope, token, self.channels)
        try:
            await repo.insert_client(self.db, row)
        except repo.DuplicateKeyError:
            raise DomainError(ErrorCode.ID_CONFLICT, f"a client named {name} exists",
                              field="name") from None
        return token

    async def register_many(self, clients: Sequence[tuple[str, PrincipalKind, str | None]]
                            ) -> list[str]:
        """Create many clients in one transaction (all or none); their tokens, in order. For
        bulk enrolment, e.g. one token per worker of a load-test population."""
        rows: list[dict[str, object]] = []
        tokens: list[str] = []
        for index, (name, kind, scope) in enumerate(clients):
            try:
                row, token = _client_row(name, kind, scope, None, self.channels)
            except DomainError as exc:
                raise exc.at(index, f"clients[{index}]") from None
            rows.append(row)
            tokens.append(token)
        try:
            await repo.insert_clients_bulk(self.db, rows)
        except repo.DuplicateKeyError:
            raise DomainError(ErrorCode.ID_CONFLICT, "a client with one of these names exists",
                              field="name") from None
        return tokens

    async def authenticate(self, token: str) -> Principal:
        digest = token_hash(token)
        cached = self._cache.get(digest)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        row = await repo.client_by_token_hash(self.db, digest)
        if row is None:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "unknown bearer token")
        principal = Principal(row["name"], PrincipalKind(row["kind"]), row["scope"])
        self._cache[digest] = (principal, time.monotonic() + _CACHE_TTL_S)
        return principal
