"""What a month costs the store: rows, bytes and WAL per table for a month of N workers.

    python -m bench.bench_scale --workers 200000 --months 3

For docs/scale.md (issue 18 item 3). A PostgreSQL cluster of the bench's own (initdb in a
temporary directory, another port, PostgreSQL's stock settings but for the cluster's size), so
that the WAL counted is this bench's alone: the shared server's WAL position moves with every
other session's work. On a fresh database: N workers registered in bulk (COPY, as
`bench.bench_import` does), then one Thai SSO 1-10 file a month for each month, imported by the
real CLI (`clmtv import`, the path a fund's monthly file takes). Before and after each month:
rows per table (count(*)), bytes per table (`pg_total_relation_size`: heap, indexes and TOAST,
summed over the partitions of a partitioned table) and the cluster's WAL position
(`pg_current_wal_lsn`). One JSON line per month, then a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import asyncpg
import numpy as np

import bench.common as common
from bench.bench_import import national_ids, register, run_cli, write_file
from ledger.db.tables import metadata
from ledger.domain.periods import Month
from tools.crashtest.cluster import PgCluster

TABLES = sorted(metadata.tables)


async def snapshot(url: str) -> dict[str, object]:
    """Rows and bytes per table, and the cluster's WAL position in bytes."""
    raw = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await raw.execute("CHECKPOINT")  # sizes of what is written, not of what is in flight
        rows, size = {}, {}
        for table in TABLES:
            rows[table] = int(await raw.fetchval(f'SELECT count(*) FROM "{table}"'))
            size[table] = int(await raw.fetchval(
                "SELECT pg_total_relation_size($1::regclass) + coalesce(("
                "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree($1::regclass) "
                "WHERE relid <> $1::regclass), 0)", table))
        wal = int(await raw.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"))
        return {"rows": rows, "bytes": size, "wal": wal}
    finally:
        await raw.close()


def delta(after: dict[str, object], before: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for part in ("rows", "bytes"):
        a, b = after[part], before[part]
        assert isinstance(a, dict)
        assert isinstance(b, dict)
        out[part] = {t: a[t] - b[t] for t in TABLES if a[t] != b[t]}
    wal_a, wal_b = after["wal"], before["wal"]
    assert isinstance(wal_a, int)
    assert isinstance(wal_b, int)
    out["wal"] = wal_a - wal_b
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=200_000,
                        help="workers, one file row each a month (at most 999,999)")
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    members = national_ids(args.workers)
    cluster = PgCluster({"shared_buffers": "128MB", "max_wal_size": "1GB"})
    cluster.init()
    cluster.start()
    common.ADMIN_URL = cluster.url.replace("+asyncpg", "")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with common.fresh_postgres() as (_, url):
                first = await snapshot(url)
                await register(url, members)
                registered = await snapshot(url)
                print(json.dumps({"step": "register", "workers": args.workers,
                                  **delta(registered, first)}), flush=True)
                previous = registered
                results = []
                for k in range(args.months):
                    month = Month(2026, 1 + k)
                    wages = rng.integers(165_000, 3_500_000, size=args.workers, dtype=np.int64)
                    path = Path(tmp) / f"sso-{month}.txt"
                    write_file(path, month, members, wages)
                    started = time.perf_counter()
                    run = run_cli(url, path)
                    seconds = time.perf_counter() - started
                    path.unlink()
                    now = await snapshot(url)
                    step = {"step": str(month), "workers": args.workers,
                            "seconds": round(seconds, 1), "run": run, **delta(now, previous)}
                    results.append(step)
                    print(json.dumps(step), flush=True)
                    previous = now
                total = delta(previous, first)
                print(json.dumps({"step": "total", **total}), flush=True)
    finally:
        cluster.remove()


if __name__ == "__main__":
    asyncio.run(main())
