"""API clients: bearer tokens mapped to principals. Only a SHA-256 of each token is stored.

A token may expire (`--expires-in`), be revoked, or be rotated (a new token replaces the old one
at once). Each process keeps a verified token for at most _CACHE_TTL_S, so a revocation or
rotation takes effect everywhere within that time (and at once in the process that made it).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Collection, Sequence

from ledger.db import repositories as repo
from ledger.db.engine import Database
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, get_fund
from ledger.domain.ids import check_worker_id
from ledger.domain.principals import FUND_SCOPED, Principal, PrincipalKind
from ledger.services.employments import canonical_employer
from ledger.services.posting import now_us

_CACHE_TTL_S = 30.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _client_row(name: str, kind: PrincipalKind, scope: str | None, token: str | None,
                channels: frozenset[str], expires_in_s: int | None = None,
                employer: str | None = None) -> tuple[dict[str, object], str]:
    """A client's row, its scope checked (except that a worker exists: the caller's query).
    An employer client names its employer number; no other kind takes one."""
    if expires_in_s is not None and expires_in_s <= 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "a token's life must be positive",
                          field="expires_in")
    if not scope and (kind in FUND_SCOPED or kind in (PrincipalKind.WORKER,
                                                       PrincipalKind.CHANNEL,
                                                       PrincipalKind.MINISTRY)):
        what = {PrincipalKind.WORKER: "the worker's id",
                PrincipalKind.CHANNEL: "a channel code",
                PrincipalKind.MINISTRY: "a country code"}.get(kind, "a fund code")
        raise DomainError(ErrorCode.INVALID_INPUT, f"a {kind.value} client needs a scope: "
                          f"{what}", field="scope")
    if kind in FUND_SCOPED:
        get_fund(scope or "", field="scope")
    elif kind is PrincipalKind.CHANNEL:
        if scope not in channels:
            raise DomainError(ErrorCode.UNKNOWN_CHANNEL,
                              f"unknown channel {scope!r}; known: {', '.join(sorted(channels))}",
                              field="scope")
    elif kind is PrincipalKind.WORKER:
        check_worker_id(scope, "scope")
    elif kind is PrincipalKind.MINISTRY:
        countries = sorted({f.country for f in FUNDS.values()})
        if scope not in countries:
            raise DomainError(ErrorCode.INVALID_INPUT, f"unknown country {scope!r}; a ministry's "
                              f"scope is one of {', '.join(countries)}", field="scope")
    elif scope is not None:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{kind} takes no scope", field="scope")
    if kind is PrincipalKind.EMPLOYER:
        if not employer:
            raise DomainError(ErrorCode.INVALID_INPUT, "an employer client needs its employer "
                              "number at the fund (--employer)", field="employer")
        employer = canonical_employer(employer)
    elif employer is not None:
        raise DomainError(ErrorCode.INVALID_INPUT, f"a {kind.value} client takes no employer "
                          "number", field="employer")
    token = token or "clmtv_" + secrets.token_urlsafe(32)
    now = now_us()
    return {"token_hash": token_hash(token), "name": name, "kind": kind.value, "scope": scope,
            "employer": employer, "created_at_us": now,
            "expires_at_us": None if expires_in_s is None else now + expires_in_s * 1_000_000
            }, token


class ClientService:
    def __init__(self, db: Database, channels: Collection[str] = ()) -> None:
        self.db = db
        self.channels = frozenset(channels)  # the registry's codes: a channel client's scope
        # token hash -> (principal, expiry); a revoked token lives at most _CACHE_TTL_S here.
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def register(
        self, name: str, kind: PrincipalKind, scope: str | None, token: str | None = None,
        expires_in_s: int | None = None, employer: str | None = None,
    ) -> str:
        """Create a client and return its token (shown once; only its hash is kept)."""
        row, token = _client_row(name, kind, scope, token, self.channels, expires_in_s,
                                 employer)
        if kind is PrincipalKind.WORKER:
            worker, _ = await repo.worker_with_memberships(self.db, scope or "")
            if worker is None:
                raise DomainError(ErrorCode.UNKNOWN_WORKER, f"no worker {scope}", field="scope")
        try:
            await repo.insert_client(self.db, row)
        except repo.DuplicateKeyError:
            raise DomainError(ErrorCode.ID_CONFLICT, f"a client named {name} exists",
                              field="name") from None
        return token

    async def register_many(
        self, clients: Sequence[tuple[str, PrincipalKind, str | None]
                                | tuple[str, PrincipalKind, str | None, str | None]],
    ) -> list[str]:
        """Create many clients in one transaction (all or none); their tokens, in order. For
        bulk enrolment, e.g. one token per worker of a load-test population. An employer's
        tuple carries its employer number fourth."""
        rows: list[dict[str, object]] = []
        tokens: list[str] = []
        for index, client in enumerate(clients):
            name, kind, scope = client[:3]
            employer = client[3] if len(client) == 4 else None
            try:
                row, token = _client_row(name, kind, scope, None, self.channels,
                                         employer=employer)
            except DomainError as exc:
                raise exc.at(index, f"clients[{index}]") from None
            rows.append(row)
            tokens.append(token)
        workers = {str(c[2]): index for index, c in enumerate(clients)
                   if c[1] is PrincipalKind.WORKER}
        missing = set(workers) - await repo.existing_workers(self.db, list(workers))
        if missing:
            first = min(missing, key=workers.__getitem__)
            raise DomainError(ErrorCode.UNKNOWN_WORKER, f"no worker {first}",
                              field=f"clients[{workers[first]}].scope", index=workers[first])
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
        now = now_us()
        if row["revoked_at_us"] is not None and row["revoked_at_us"] <= now:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "this token was revoked")
        expires = row["expires_at_us"]
        if expires is not None and expires <= now:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "this token has expired")
        principal = Principal(row["name"], PrincipalKind(row["kind"]), row["scope"],
                              row.get("employer"))
        cached_s = _CACHE_TTL_S if expires is None else min(_CACHE_TTL_S, (expires - now) / 1e6)
        self._cache[digest] = (principal, time.monotonic() + cached_s)
        return principal

    async def revoke(self, name: str) -> None:
        if not await repo.update_client(self.db, name, {"revoked_at_us": now_us()}):
            raise DomainError(ErrorCode.NOT_FOUND, f"no client named {name}", field="name")
        self._cache.clear()

    async def rotate(self, name: str) -> str:
        """A new token for the named client; the old one stops working (returns the new one,
        shown once)."""
        token = "clmtv_" + secrets.token_urlsafe(32)
        if not await repo.update_client(self.db, name, {"token_hash": token_hash(token),
                                                         "revoked_at_us": None}):
            raise DomainError(ErrorCode.NOT_FOUND, f"no client named {name}", field="name")
        self._cache.clear()
        return token

    async def listing(self) -> list[dict[str, object]]:
        """Every client without its token: name, kind, scope, employer number, created,
        expires, revoked."""
        return [{k: r[k] for k in ("name", "kind", "scope", "employer", "created_at_us",
                                   "expires_at_us", "revoked_at_us")}
                for r in await repo.clients(self.db)]
