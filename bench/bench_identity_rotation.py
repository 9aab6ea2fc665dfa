"""Identity key rotation on PostgreSQL (ADR 0055): numbers rotated per second.

    python3 dev.py bench identity_rotation [--workers N] [--batch B]

A fresh database gets N workers, each with an identity number and one membership (2N sealed
numbers), registered under one key pair through the bulk registration path; then
`identity_rotation.rotate` moves every number to a new pair. Prints one JSON line: rows,
seconds, rows per second, and the same for a second run that finds everything done.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import time

from bench.common import fresh_postgres
from ledger.domain.pii import PiiVault
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services import identity_rotation
from ledger.services.workers import NewWorker, WorkerService

OPERATOR = Principal("bench", PrincipalKind.HUB_OPERATOR)


def _pair() -> tuple[str, str]:
    return secrets.token_urlsafe(48), base64.b64encode(os.urandom(32)).decode()


async def main(workers: int, batch: int) -> dict[str, object]:
    old, new = _pair(), _pair()
    async with fresh_postgres() as (db, _):
        service = WorkerService(db, PiiVault(*old))
        for start in range(0, workers, 5000):
            await service.register_many(OPERATOR, [
                NewWorker("KH", [("VN-VSS", f"{n:010d}")], "passport", f"P{n:09d}")
                for n in range(start, min(workers, start + 5000))])
        vault = PiiVault(*new, previous=PiiVault(*old))
        started = time.perf_counter()
        report = await identity_rotation.rotate(db, vault, batch=batch)
        first = time.perf_counter() - started
        started = time.perf_counter()
        await identity_rotation.rotate(db, vault, batch=batch)
        again = time.perf_counter() - started
    rows = sum(t.rotated for t in report.tables)
    return {"bench": "identity_rotation", "workers": workers, "batch": batch, "rows": rows,
            "complete": report.complete, "seconds": round(first, 2),
            "rows_per_s": round(rows / first), "resume_scan_seconds": round(again, 2),
            "resume_rows_per_s": round(rows / again)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=identity_rotation.BATCH_ROWS)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.workers, args.batch))))
