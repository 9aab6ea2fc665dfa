"""Whether the database keeps what it acknowledged: the settings a server refuses to start on.

An acknowledged posting must survive a crash of the database server (issue 16 item 1). On
PostgreSQL that needs `fsync` (flush the write-ahead log to disk), `synchronous_commit` not `off`
(a COMMIT returns only once its WAL is flushed) and `full_page_writes` (a page torn by a crash
mid-write can be rebuilt from the WAL). Each is read with SHOW on one of the server's own
connections, so a value set per database or per role counts as well. SQLite is opened with
`synchronous=FULL` by `engine.py` and has nothing to check here.
"""

from __future__ import annotations

from sqlalchemy import text

from ledger.db.engine import Database

# setting -> the value that breaks durability, and what it loses
_UNSAFE = {
    "fsync": ("off", "a crash of the machine can lose or corrupt committed transactions"),
    "synchronous_commit": ("off", "a crash of PostgreSQL loses transactions the API already "
                                  "acknowledged"),
    "full_page_writes": ("off", "a page torn by a crash mid-write cannot be repaired"),
}


async def durability_problems(db: Database) -> list[str]:
    """One line per setting that would lose acknowledged postings (empty: the store is safe)."""
    if not db.is_postgres:
        return []
    problems = []
    async with db.engine.connect() as conn:
        for name, (unsafe, loss) in _UNSAFE.items():
            value = str((await conn.execute(text(f"SHOW {name}"))).scalar_one())
            if value.lower() == unsafe:
                problems.append(f"PostgreSQL runs with {name} = {value}: {loss}; set {name} = "
                                "on (postgresql.conf, or ALTER SYSTEM / ALTER DATABASE / ALTER "
                                "ROLE ... RESET)")
    return problems
