"""One crash run: the cluster, the servers, the population, the chaos, the checks.

1. A PostgreSQL cluster of its own (`cluster.py`) with a `clmtv` database, migrated, and an
   operator token; `apis` servers (`servers.py`); an operating account, wallets that may not go
   below zero and TH-SSO members, made over HTTP.
2. The main phase: `clients` clients post for `seconds` (`workload.py`, same ids and keys on
   every retry) while, every `kill_every_s`, one of the servers or PostgreSQL is killed with
   SIGKILL and started again, in turn. The checker (`checker.py`) must pass.
3. Every server, restarted, acknowledges a transfer.
4. The control phase: the same, for `control_seconds`, but every retry with new ids and keys.
   The same checker must fail it (operations applied twice).
5. The journal the servers sealed through the kills is sealed to the end and audited
   (`clmtv audit verify`'s check, ADR 0050): it must verify.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from ledger.db import journal_repo
from ledger.db.engine import Database, open_database
from ledger.db.migrate import upgrade
from ledger.domain.principals import PrincipalKind
from ledger.services.clients import ClientService
from ledger.services.journal import JournalService
from ledger.services.signing import HubSigner
from tools.crashtest.checker import Verdict, check_run
from tools.crashtest.cluster import PgCluster, free_port
from tools.crashtest.servers import READY_TIMEOUT_S, ApiServer, Zygote, server_environment
from tools.crashtest.workload import FUND, Population, Workload

DATABASE = "clmtv"
GRACE_S = 45.0  # time an operation under way at the end still gets to finish
RESTART_MARGIN_S = 5.0


@dataclass(slots=True)
class RunConfig:
    seconds: float = 25.0
    control_seconds: float = 8.0
    apis: int = 2
    clients: int = 12
    drop: float = 0.2
    kill_every_s: float = 5.0
    wallets: int = 8
    workers: int = 6
    seed: int = 16


@dataclass(slots=True)
class RunReport:
    config: RunConfig
    api_kills: int = 0
    postgres_kills: int = 0
    seconds: float = 0.0
    main: dict[str, Any] = field(default_factory=dict)
    control: dict[str, Any] = field(default_factory=dict)
    main_ok: bool = False
    control_caught: bool = False
    recovered: bool = False  # after the last restart, each server acknowledged a transfer
    journal: dict[str, Any] = field(default_factory=dict)  # the servers' sealed log, audited
    tally: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # seconds each phase took

    @property
    def ok(self) -> bool:
        return (self.main_ok and self.control_caught and self.recovered
                and bool(self.journal.get("ok")))

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "config": asdict(self.config), "api_kills": self.api_kills,
                "postgres_kills": self.postgres_kills, "seconds": round(self.seconds, 1),
                "recovered_after_last_kill": self.recovered, "tally": self.tally,
                "main": self.main, "control": self.control,
                "control_caught": self.control_caught, "journal": self.journal,
                "phases_s": {k: round(v, 1) for k, v in self.phases.items()}}

    def lines(self) -> list[str]:
        counts = self.main.get("counts", {})
        control_counts = self.control.get("counts", {})
        out = [
            f"crash run: {self.api_kills} API kills, {self.postgres_kills} PostgreSQL kills "
            f"in {self.config.seconds:.0f} s ({self.seconds:.0f} s in all)",
            f"main: {counts.get('operations', 0)} operations, "
            f"{counts.get('acknowledged', 0)} acknowledged, {counts.get('refused', 0)} "
            f"refused, {counts.get('unknown', 0)} unknown; {self.tally.get('dropped', 0)} "
            f"answers dropped, {self.tally.get('failed', 0)} attempts without an answer",
        ]
        out.extend(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['name']}"
                   + ("" if check["ok"] else f": {check['problems'][:3]}")
                   for check in self.main.get("checks", []))
        caught = self.control.get("checks", [{}])[0]
        out.append(f"control (new keys on retry): {control_counts.get('operations', 0)} "
                   f"operations; {'caught' if self.control_caught else 'NOT caught'}: "
                   f"{caught.get('problems_total', 0)} problems, e.g. "
                   f"{caught.get('problems', [])[:1]}")
        out.append(f"every server answered after the last kill: {self.recovered}")
        out.append(f"journal sealed by the servers through the kills: "
                   f"{self.journal.get('tree_heads', 0)} tree heads, "
                   f"{self.journal.get('tree_size', 0)} leaves, "
                   f"{'verifies' if self.journal.get('ok') else self.journal.get('first')}; "
                   f"period changes: {self.journal.get('periods', {}).get('tree_size', 0)} "
                   "leaves")
        out.append("phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in self.phases.items()))
        out.append("PASS" if self.ok else "FAIL")
        return out


async def _create_database(cluster: PgCluster) -> None:
    conn = await asyncpg.connect(cluster.url_of("postgres").replace("+asyncpg", ""))
    try:
        await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()


async def _prepare(url: str) -> str:
    """Migrate and register the run's operator; its token."""
    db = open_database(url, 1)
    try:
        await upgrade(db)
        return await ClientService(db).register(f"crash-operator-{secrets.token_hex(3)}",
                                                PrincipalKind.HUB_OPERATOR, None)
    finally:
        await db.dispose()


def thai_id(n: int) -> str:
    """A valid 13-digit Thai identity number (the SSO's check digit) for member n."""
    body = "1" + str(n).rjust(11, "0")
    total = sum(int(d) * (13 - i) for i, d in enumerate(body))
    return body + str((11 - total % 11) % 10)


async def seed_population(base: str, token: str, config: RunConfig, tag: str) -> Population:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        async def account(key: str, flags: list[str]) -> int:
            response = await http.post("/v1/accounts", json={
                "key": key, "code": "operating", "currency": "THB", "flags": flags})
            response.raise_for_status()
            return int(response.json()["id"])

        source = await account(f"crash/{tag}/source", [])
        wallets = [await account(f"crash/{tag}/wallet-{n}", ["debits_must_not_exceed_credits"])
                   for n in range(config.wallets)]
        async def worker(n: int) -> str:
            response = await http.post("/v1/workers", json={
                "id": f"wkr_crash{tag}{n}", "nationality": "KH",
                "memberships": [{"fund": FUND,
                                 "member_number": thai_id(int(tag, 16) * 100 + n)}]})
            response.raise_for_status()
            return str(response.json()["id"])

        workers = [await worker(n) for n in range(config.workers)]
    return Population(token, source, wallets, workers)


async def _audit_journal(db: Database, hub_key: Path) -> dict[str, Any]:
    """Seal what the servers had not sealed yet, then recompute the whole log: the sealers ran
    through every kill (ADR 0050). The period changes' log too (ADR 0059): its report is under
    `periods`, and `ok` holds only when both verify."""
    signer = HubSigner.from_file(hub_key)
    journal = JournalService(db, signer)
    periods = JournalService(db, signer, journal_repo.PERIODS)
    await journal.seal_all()
    await periods.seal_all()
    report = (await journal.audit()).to_dict()
    period_report = (await periods.audit()).to_dict()
    return {**report, "ok": report["ok"] and period_report["ok"], "periods": period_report}


async def _every_server_answers(servers: list[ApiServer], population: Population) -> bool:
    """After the last restart: a transfer through each server is acknowledged (the servers and
    PostgreSQL came back, and the servers' pools found the new PostgreSQL)."""
    headers = {"Authorization": f"Bearer {population.token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        for server in servers:
            response = await http.post(f"{server.base_url}/v1/transfers", json={"transfers": [{
                "id": f"probe-{secrets.token_hex(4)}",
                "debit_account_id": population.source_account,
                "credit_account_id": population.wallets[0],
                "amount": {"amount_minor": "1", "currency": "THB"}}]})
            if response.status_code != 201:
                return False
    return True


class Chaos:
    """Kills one process every `every_s` seconds, in turn: a server, PostgreSQL, the next
    server, PostgreSQL... and starts it again at once (PostgreSQL: until it accepts
    connections; a server: its process, which answers seconds later)."""

    def __init__(self, cluster: PgCluster, servers: list[ApiServer], every_s: float) -> None:
        self.cluster = cluster
        self.servers = servers
        self.every_s = every_s
        self.starting: list[asyncio.Task[None]] = []
        self.failed_starts = 0  # servers that exited on start (PostgreSQL was down)
        victims: list[ApiServer | PgCluster] = []
        for server in servers:
            victims += [server, cluster]
        self.victims = itertools.cycle(victims)

    async def run(self, seconds: float) -> None:
        """Kill at every_s, 2 every_s, ... from now, whatever the restarts took. No kill in the
        last RESTART_MARGIN_S: a server killed then would come back after the phase."""
        start = time.monotonic()
        end = start + seconds - RESTART_MARGIN_S
        number = 1
        while start + number * self.every_s <= end:
            await asyncio.sleep(max(0.0, start + number * self.every_s - time.monotonic()))
            number += 1
            victim = next(self.victims)
            if isinstance(victim, PgCluster):
                await asyncio.to_thread(victim.kill)
                await asyncio.sleep(0.5)
                await asyncio.to_thread(victim.start)
            else:
                await asyncio.to_thread(victim.kill)
                await asyncio.sleep(0.5)
                # It takes seconds to start: clients use the others meanwhile.
                self.starting.append(asyncio.create_task(self.bring_up(victim)))

    async def bring_up(self, server: ApiServer) -> None:
        """Start `server` until it answers, as a supervisor would: one started while
        PostgreSQL is down refuses to start (it cannot migrate) and exits."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if not server.alive:
                server.start()
            try:
                await asyncio.to_thread(server.wait_ready)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                self.failed_starts += 1
                await asyncio.sleep(0.5)

    async def all_up(self) -> None:
        """Every server started and answering again (after the last kill)."""
        await asyncio.gather(*self.starting)
        await asyncio.gather(*(self.bring_up(s) for s in self.servers))


async def crash_run(config: RunConfig, work_dir: Path) -> RunReport:
    report = RunReport(config)
    started = time.monotonic()
    cluster = PgCluster()
    servers: list[ApiServer] = []
    zygote: Zygote | None = None
    try:
        await asyncio.to_thread(cluster.init)
        await asyncio.to_thread(cluster.start)
        await _create_database(cluster)
        url = cluster.url_of(DATABASE)
        zygote = Zygote(server_environment(url, work_dir / "hub-key.jwk"))
        token = await _prepare(url)  # while the factory imports the app
        await asyncio.to_thread(zygote.wait_ready)
        servers = [ApiServer(free_port(), zygote, work_dir / f"api-{n}.log")
                   for n in range(config.apis)]
        for server in servers:
            server.start()
        for server in servers:
            await asyncio.to_thread(server.wait_ready)

        def live() -> list[str]:
            return [s.base_url for s in servers if s.ready]

        report.phases["start"] = time.monotonic() - started
        tag = secrets.token_hex(3)
        main = Workload(live, await seed_population(servers[0].base_url, token, config, tag),
                        prefix=f"crash-{tag}", clients=config.clients, drop=config.drop,
                        new_keys=False, seed=config.seed)
        chaos = Chaos(cluster, servers, config.kill_every_s)
        ops, _ = await asyncio.gather(main.run(config.seconds, GRACE_S),
                                      chaos.run(config.seconds))
        report.api_kills = sum(s.kills for s in servers)
        report.postgres_kills = cluster.kills
        report.tally = {**asdict(main.tally), "failed_server_starts": chaos.failed_starts}
        report.phases["main"] = time.monotonic() - started - report.phases["start"]
        await chaos.all_up()
        report.recovered = await _every_server_answers(servers, main.population)
        db = open_database(url, 2)
        try:
            verdict = await check_run(db, ops, main.prefix)
            report.main, report.main_ok = verdict.to_dict(), verdict.ok
            control_tag = secrets.token_hex(3)
            control = Workload(live, await seed_population(servers[0].base_url, token, config,
                                                           control_tag),
                               prefix=f"crash-{control_tag}", clients=config.clients,
                               drop=config.drop, new_keys=True, seed=config.seed + 1)
            mark = time.monotonic()
            control_ops = await control.run(config.control_seconds, GRACE_S)
            report.phases["control"] = time.monotonic() - mark
            caught: Verdict = await check_run(db, control_ops, control.prefix)
            report.control = caught.to_dict()
            report.control_caught = not caught.check("each operation").ok
            mark = time.monotonic()
            report.journal = await _audit_journal(db, work_dir / "hub-key.jwk")
            report.phases["journal audit"] = time.monotonic() - mark
        finally:
            await db.dispose()
    finally:
        for server in servers:
            server.stop()
        if zygote is not None:
            zygote.stop()
        cluster.remove()
    report.seconds = time.monotonic() - started
    return report
