"""Import throughput: a million-row Thai SSO 1-10 file through `clmtv import`, on PostgreSQL.

    python -m bench.bench_import --rows 999999

(999,999, not 1,000,000: the SSO 1-10 header's employee count is six digits, so one file holds
at most 999,999 workers.)

On a fresh database: registers the file's workers in bulk (COPY; enrolment is not what is
measured), writes two monthly files (January and February 2026, wages drawn between the s33 floor
and twice the ceiling, contributions from the adapter's rules), then runs the real CLI in a
subprocess for each and reports wall time (process start to exit, so parsing, checking, staging,
booking and commit are all inside), rows/s, the subprocess's peak RSS, and the CPU time of the
subprocess and of its PostgreSQL backends (which varies far less than wall time on a machine
whose cores and disk are shared):

1. January: first file for these workers (member accounts are created);
2. February: the steady state (accounts exist);
3. February again, byte for byte: recognised by its hash;
4. February with another header (a resubmitted file): every row recognised as already booked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import numpy as np

from bench.common import fresh_postgres, postgres_backend_ticks
from ledger.adapters.formats import DeclaredHeader, DeclaredRow
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso import format as sso
from ledger.adapters.th_sso.ids import national_id_check_digit
from ledger.config import get_settings
from ledger.domain.funds import Payer
from ledger.domain.money import Currency
from ledger.domain.periods import Month
from ledger.domain.pii import PiiVault

RENDER_CHUNK = 50_000


def national_ids(count: int) -> list[str]:
    out = []
    for i in range(count):
        body = f"1{i:011d}"
        out.append(body + str(national_id_check_digit(body)))
    return out


def write_file(path: Path, month: Month, members: list[str], wages: np.ndarray,
               employer_name: str = "Bench Co") -> None:
    adapter = get_adapter("TH-SSO")
    employee = np.zeros(len(wages), dtype=np.int64)
    for scheme in adapter.DECLARATION_SCHEMES:
        employee += adapter.contribution_arrays(scheme, month, wages)[Payer.EMPLOYEE]
    header = DeclaredHeader(
        employer_account="1234567890", branch="000000", month=month, currency=Currency.THB,
        employee_count=len(members), total_wages_minor=int(wages.sum()),
        total_employee_minor=int(employee.sum()), total_employer_minor=int(employee.sum()),
        rate_basis_points=500, employer_name=employer_name)
    record = sso.RECORD_BYTES + 2
    with path.open("wb") as out:
        for start in range(0, len(members), RENDER_CHUNK):
            rows = [DeclaredRow(line=start + k + 2, member_number=m, month=month,
                                wage_minor=int(w), employee_minor=int(e),
                                first_name="Aung", last_name="Kyaw")
                    for k, (m, w, e) in enumerate(zip(
                        members[start:start + RENDER_CHUNK],
                        wages[start:start + RENDER_CHUNK].tolist(),
                        employee[start:start + RENDER_CHUNK].tolist(), strict=True))]
            data = sso.render(header, rows)
            out.write(data if start == 0 else data[record:])


async def register(url: str, members: list[str]) -> None:
    settings = get_settings()
    vault = PiiVault(settings.pii_hmac_key, settings.pii_encryption_key)
    raw = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        ids = [f"wkr_imp{i:08d}" for i in range(len(members))]
        await raw.copy_records_to_table(
            "workers", records=[(w, "MM", 0) for w in ids],
            columns=["id", "nationality", "created_at_us"])
        # The ciphertext is a placeholder: sealing a million numbers is enrolment's cost.
        await raw.copy_records_to_table(
            "memberships",
            records=[(w, "TH-SSO", vault.lookup_hash("TH-SSO", m), b"bench", 0)
                     for w, m in zip(ids, members, strict=True)],
            columns=["worker_id", "fund", "member_number_hmac", "member_number_ciphertext",
                     "created_at_us"])
    finally:
        await raw.close()


async def server_counters(url: str) -> tuple[int, int]:
    """The server's WAL position (kB) and its checkpoints so far: an import's WAL volume, and
    how often the stock `max_wal_size` made PostgreSQL checkpoint during it (each checkpoint
    makes the next change to every page write the whole page to the WAL again)."""
    raw = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        row = await raw.fetchrow(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint / 1024, "
            "checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
        assert row is not None
        return int(row[0]), int(row[1])
    finally:
        await raw.close()


def run_cli(url: str, path: Path) -> dict[str, object]:
    env = {**os.environ, "CLMTV_DATABASE_URL": url}
    database = url.rsplit("/", 1)[1]
    started = time.perf_counter()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kb = 0
    backend_ticks: dict[int, int] = {}  # last reading per backend: they exit with the child
    polls = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "import", "TH-SSO", str(path), "--json"],
            env=env, stdout=out, stderr=err)
        # The child's own high-water mark (VmHWM of its address space). getrusage/wait4 would
        # report at least this process's size at fork time, which Linux carries over.
        while child.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(child.pid))
            if polls % 4 == 0:  # a walk of /proc every 0.2 s: the backends' CPU so far
                backend_ticks.update(postgres_backend_ticks(database) or {})
            polls += 1
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        raise SystemExit(f"import failed ({child.returncode}):\n{stderr}\n{stdout[:2000]}")
    report = json.loads(stdout)
    client_cpu = (children.ru_utime + children.ru_stime
                  - children_before.ru_utime - children_before.ru_stime)
    # CPU time holds better than wall time on a shared machine whose disk is shared too.
    # The backends' last 0.2 s before they exit may be missed (well under 1% of a run).
    return {"seconds": round(elapsed, 2), "peak_rss_mb": round(peak_kb / 1024, 1),
            "client_cpu_s": round(client_cpu, 2),
            "backend_cpu_s": round(sum(backend_ticks.values()) / os.sysconf("SC_CLK_TCK"), 2),
            "status": report["status"], "replayed": report["replayed"],
            "rows": report["rows_total"], "booked": report["contributions_booked"],
            "already_booked": report["rows_already_booked"]}


def _vm_hwm_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class _DiscardingStore:
    """Takes staged records and drops them: measures the Python side alone."""

    rows = 0
    copy_text = True  # build the COPY text as the PostgreSQL import does

    async def stage(self, rows: list[tuple[object, ...]], items: list[tuple[object, ...]],
                    copy_text: tuple[bytes, bytes, bytes] | None = None,
                    short_term: bool = True) -> None:
        self.rows += len(rows)


async def python_only(path: Path) -> None:
    """Parse, check, HMAC and build staging records for every row, with no database."""
    from ledger.adapters.registry import codec
    from ledger.services.imports import ImportReport, ImportService, _Errors, _lines

    settings = get_settings()
    service = ImportService(None, PiiVault(settings.pii_hmac_key,  # type: ignore[arg-type]
                                           settings.pii_encryption_key))
    store = _DiscardingStore()
    report = ImportReport("bench", "TH-SSO", "", "sso-1-10", "rejected")
    started = time.perf_counter()
    with path.open("rb") as source:
        await service._stage_file(store, get_adapter("TH-SSO"),  # type: ignore[arg-type]
                                  codec("TH-SSO").parse(_lines(source, 0, None)), report,
                                  _Errors())
    elapsed = time.perf_counter() - started
    print(f"python side only: {store.rows:,} rows in {elapsed:.1f} s -> "
          f"{store.rows / elapsed:,.0f} rows/s", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=999_999,
                        help="rows per file (at most 999,999: the header count is 6 digits)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--python-only", action="store_true",
                        help="time parse + check + staging records with no database")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    members = national_ids(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for month in (Month(2026, 1), Month(2026, 2)):
            wages = rng.integers(165_000, 3_500_000, size=args.rows, dtype=np.int64)
            path = Path(tmp) / f"sso-{month}.txt"
            write_file(path, month, members, wages)
            files[month] = (path, wages)
        resubmitted = Path(tmp) / "sso-2026-02-resubmitted.txt"
        write_file(resubmitted, Month(2026, 2), members, files[Month(2026, 2)][1],
                   employer_name="Bench Co (resubmitted)")
        size_mb = files[Month(2026, 1)][0].stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size_mb:.0f} MB per file", flush=True)
        if args.python_only:
            await python_only(files[Month(2026, 2)][0])
            return
        async with fresh_postgres(keep=args.keep) as (_, url):
            if args.keep:
                print(f"database kept: {url.rsplit('/', 1)[1]} (bench.explain_import_chunk "
                      "explains a chunk in it)", flush=True)
            await register(url, members)
            runs = [
                ("january (accounts created)", files[Month(2026, 1)][0]),
                ("february (steady state)", files[Month(2026, 2)][0]),
                ("february again (same bytes)", files[Month(2026, 2)][0]),
                ("february resubmitted (all rows known)", resubmitted),
            ]
            for name, path in runs:
                before = await server_counters(url)
                result = run_cli(url, path)
                after = await server_counters(url)
                rate = args.rows / float(str(result["seconds"]))
                cpu = [float(str(result[k])) * 1e6 / args.rows
                       for k in ("client_cpu_s", "backend_cpu_s")]
                wal_kb, checkpoints = ((a - b) for a, b in zip(after, before, strict=True))
                print(f"{name}: {result} -> {rate:,.0f} rows/s; CPU a row: "
                      f"{cpu[0]:.1f} us client, {cpu[1]:.1f} us backends; WAL "
                      f"{wal_kb * 1024 / args.rows:,.0f} bytes a row, {checkpoints} "
                      "checkpoints (the whole server's)", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
