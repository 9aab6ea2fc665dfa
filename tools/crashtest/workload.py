"""Concurrent clients that post transfers and contributions, lose answers and retry.

Each client works through its own operations one at a time. An attempt's answer is thrown away
at random (`drop`), as if the connection broke after the server committed; a refused connection,
a timeout, a 5xx or a 409 (the same key still in flight) is retried too, on any live server. A
retry sends the same transfer id, contribution id and Idempotency-Key; in the control run
(`new_keys`) every attempt gets new ones, as a client without idempotency would, and the checker
must then find operations applied twice.

An operation ends acknowledged (a 2xx the client kept), refused (a 4xx rule refusal other than
429: definitive) or unknown (no answer kept before the run's grace time ran out: applied once
or not at all).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from ledger.adapters.registry import get_adapter
from ledger.domain.periods import Month

RETRY_PAUSE_S = (0.02, 0.2)
REQUEST_TIMEOUT_S = 10.0
CONTRIBUTION_SHARE = 0.3  # of operations; the rest are transfers
FUND, SCHEME, CURRENCY = "TH-SSO", "s33-old-age", "THB"


@dataclass(slots=True)
class Op:
    """One operation a client meant to perform once, and every attempt at it."""

    name: str
    kind: str  # transfer | contribution
    amount_minor: int
    debit_account_id: int = 0  # transfers
    credit_account_id: int = 0
    worker_id: str = ""  # contributions
    month: str = ""
    attempts: list[str] = field(default_factory=list)  # transfer or contribution ids sent
    outcome: str = "unknown"  # acknowledged | refused | unknown
    detail: str = ""
    acknowledged_at: float = 0.0  # time.monotonic() of the answer kept

    def attempt_id(self, new_keys: bool) -> str:
        return f"{self.name}-a{len(self.attempts)}" if new_keys else self.name


@dataclass(slots=True)
class Population:
    """What the operations move money between; made by `run.seed_population`."""

    token: str
    source_account: int  # an operating account with no balance rule: pays into wallets
    wallets: list[int]  # debits must not exceed credits: a transfer out of one may be refused
    workers: list[str]  # TH-SSO members


@dataclass(slots=True)
class Tally:
    attempts: int = 0
    dropped: int = 0  # answers thrown away on purpose
    failed: int = 0  # no answer: connection refused or reset, timeout
    rate_limited: int = 0  # 429 answers, retried
    server_errors: int = 0  # 5xx
    in_flight: int = 0  # 409: the same key still running elsewhere


class Workload:
    def __init__(self, servers: Callable[[], Sequence[str]], population: Population, *,
                 prefix: str, clients: int, drop: float, new_keys: bool, seed: int) -> None:
        self.servers = servers  # the base URLs of the servers up now
        self.population = population
        self.prefix = prefix
        self.clients = clients
        self.drop = drop
        self.new_keys = new_keys
        self.random = random.Random(seed)  # noqa: S311 - a workload, not a secret
        self.ops: list[Op] = []
        self.tally = Tally()

    async def run(self, seconds: float, grace_s: float) -> list[Op]:
        """New operations for `seconds`; those under way then get `grace_s` more to end."""
        start = time.monotonic()
        stop_new, give_up = start + seconds, start + seconds + grace_s
        headers = {"Authorization": f"Bearer {self.population.token}"}
        limits = httpx.Limits(max_connections=self.clients * 2)
        async with httpx.AsyncClient(headers=headers, timeout=REQUEST_TIMEOUT_S,
                                     limits=limits) as http:
            await asyncio.gather(*(self._client(http, n, stop_new, give_up)
                                   for n in range(self.clients)))
        return self.ops

    async def _client(self, http: httpx.AsyncClient, client: int, stop_new: float,
                      give_up: float) -> None:
        rng = random.Random(self.random.random())  # noqa: S311 - a workload, not a secret
        number = 0
        while time.monotonic() < stop_new:
            op = self._new_op(rng, client, number)
            number += 1
            self.ops.append(op)
            await self._perform(http, rng, op, give_up)

    def _new_op(self, rng: random.Random, client: int, number: int) -> Op:
        pop = self.population
        if rng.random() < CONTRIBUTION_SHARE:
            month = f"{rng.randrange(2015, 2025)}-{rng.randrange(1, 13):02d}"
            return Op(f"{self.prefix}-c{client}-{number}", "contribution",
                      sum(amount for _, amount in rules_shares(month)),
                      worker_id=rng.choice(pop.workers), month=month)
        if rng.random() < 0.5:
            debit, credit = pop.source_account, rng.choice(pop.wallets)
            amount = rng.randrange(1_000, 100_000)
        else:
            debit, credit = rng.sample(pop.wallets, 2)
            amount = rng.randrange(1_000, 60_000)
        return Op(f"{self.prefix}-t{client}-{number}", "transfer", amount,
                  debit_account_id=debit, credit_account_id=credit)

    async def _perform(self, http: httpx.AsyncClient, rng: random.Random, op: Op,
                       give_up: float) -> None:
        while time.monotonic() < give_up:
            servers = self.servers()
            if not servers:
                await asyncio.sleep(0.1)
                continue
            ident = op.attempt_id(self.new_keys)
            op.attempts.append(ident)
            self.tally.attempts += 1
            try:
                response = await self._send(http, rng.choice(servers), op, ident)
            except httpx.HTTPError:
                self.tally.failed += 1
                await asyncio.sleep(rng.uniform(*RETRY_PAUSE_S))
                continue
            if rng.random() < self.drop:
                self.tally.dropped += 1  # the answer is lost on its way back
                continue
            status = response.status_code
            if status < 300:
                op.outcome, op.acknowledged_at = "acknowledged", time.monotonic()
                return
            if status >= 500 or status in (409, 429):
                # 409: still in flight; 429: the rate limit (ADR 0053) says "later", not "no":
                # neither is a refusal of the operation, so the client retries with its key.
                self.tally.server_errors += status >= 500
                self.tally.in_flight += status == 409
                self.tally.rate_limited += status == 429
                await asyncio.sleep(rng.uniform(*RETRY_PAUSE_S))
                continue
            op.outcome, op.detail = "refused", f"{status} {response.text[:200]}"
            return

    async def _send(self, http: httpx.AsyncClient, base: str, op: Op, ident: str
                    ) -> httpx.Response:
        if op.kind == "transfer":
            return await http.post(f"{base}/v1/transfers", json={"transfers": [{
                "id": ident, "debit_account_id": op.debit_account_id,
                "credit_account_id": op.credit_account_id,
                "amount": {"amount_minor": str(op.amount_minor), "currency": CURRENCY}}]})
        return await http.post(f"{base}/v1/contributions", headers={"Idempotency-Key": ident},
                               json=contribution_body(op, ident))


WAGE_MINOR = 1_500_000  # 15,000 THB a month


def contribution_body(op: Op, ident: str) -> dict[str, Any]:
    """A contribution the fund's rules accept (the API refuses shares that are not the rules',
    issue 22): each payer's share of the wage in that month, government's included."""
    def money(minor: int) -> dict[str, str]:
        return {"amount_minor": str(minor), "currency": CURRENCY}

    return {"id": ident, "worker_id": op.worker_id, "fund": FUND, "scheme": SCHEME,
            "month": op.month, "wage_base": money(WAGE_MINOR),
            "shares": [{"payer": payer, "amount": money(amount)}
                       for payer, amount in rules_shares(op.month)]}


@functools.lru_cache(maxsize=512)
def rules_shares(month: str) -> tuple[tuple[str, int], ...]:
    """The Thai s33 old-age shares of WAGE_MINOR in `month`, from the adapter's own rules."""
    arrays = get_adapter(FUND).contribution_arrays(SCHEME, Month.parse(month),
                                                   np.array([WAGE_MINOR]))
    return tuple((payer.value, int(amounts[0])) for payer, amounts in arrays.items()
                 if int(amounts[0]) > 0)
