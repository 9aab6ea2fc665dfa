"""Monitoring releases from a real ledger, on the suite's store but in a database of their own (a
release reads the whole ledger, so it cannot share the suite's): exact fund tables, private
public and ministry tables, the budget kept across releases, who reads what, the signed package,
`clmtv stats` and `verify`.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from ledger import cli
from ledger.cli.verify import verify_release
from ledger.composition import Services, running_services
from ledger.config import Settings, get_settings
from ledger.domain.contributions import ContributionInput
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.signing import HubSigner
from ledger.services.workers import NewWorker
from ledger.stats import package
from tests.api.helpers import member_number
from tests.conftest import TEST_DB

pytestmark = pytest.mark.anyio

OPERATOR = Principal("op", PrincipalKind.HUB_OPERATOR)
JPS = Principal("jps", PrincipalKind.FUND, "JP-JPS")
KH_MINISTRY = Principal("kh", PrincipalKind.MINISTRY, "KH")
MM_MINISTRY = Principal("mm", PrincipalKind.MINISTRY, "MM")
PEOPLE = [("KH", 4), ("VN", 3), ("PH", 1)]  # nationality, workers
MONTHS = ("2026-07", "2026-08", "2026-09")


async def _seed(svc: Services) -> None:
    n = 0
    for nationality, count in PEOPLE:
        for _ in range(count):
            n += 1
            uid = f"{n:010x}"
            worker = (await svc.workers.create(OPERATOR, NewWorker(
                nationality, [("JP-JPS", member_number("JP-JPS", uid))]))).id
            inputs = [ContributionInput(worker, "JP-JPS", "epi", month,
                                        Money(300_000, Currency.JPY),
                                        [("employee", Money(27_450, Currency.JPY)),
                                         ("employer", Money(27_450, Currency.JPY))])
                      for month in MONTHS]
            results = await svc.contributions.post(
                await svc.contributions.validate(OPERATOR, inputs))
            assert not [r.error for r in results if r.error]


@asynccontextmanager
async def own_database(tmp_path: Path) -> AsyncIterator[str]:
    """A new empty database on the suite's store: a SQLite file, or a PostgreSQL database
    dropped afterwards."""
    if TEST_DB == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/stats.db"
        return
    name = f"clmtv_stats_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(TEST_DB.replace("+asyncpg", ""))
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield TEST_DB.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Services]:
    async with own_database(tmp_path) as url:
        settings = Settings(database_url=url, hub_key_file=str(tmp_path / "hub.jwk"),
                            dev_mode=True)
        async with running_services(settings) as services:
            await _seed(services)
            yield services


def _rows(files: dict[str, bytes]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files["data/monitoring.csv"].decode())))


def _cell(rows: list[dict[str, str]], measure: str, origin: str, month: str = "2026-07",
          fund: str = "JP-JPS") -> int:
    (row,) = [r for r in rows if (r["measure"], r["origin"], r["fund"], r["month"])
              == (measure, origin, fund, month)]
    return int(row["value"])


async def test_a_funds_tables_are_exact_and_only_its_members(svc: Services) -> None:
    built = await svc.stats.build(JPS, "2026-Q3", "fund:JP-JPS")
    rows = _rows(built.files)
    assert {r["fund"] for r in rows} == {"JP-JPS"}
    assert _cell(rows, "workers_covered", "KH") == 4
    assert _cell(rows, "workers_covered", "XX", "2026-09") == 1  # PH: no fund's country
    assert _cell(rows, "contributions_employer", "VN", "2026-08") == 3 * 27_450
    assert all(r["margin_95"] == "" for r in rows)
    assert built.release["epsilon"] == "0"
    provenance = json.loads(built.files["datapackage.json"])["clmtv"]
    assert provenance["privacy"]["exact"] is True
    assert provenance["ledger_position"]["transfers_seq"] == built.release["position"] > 0


async def test_public_releases_spend_the_budget_and_the_third_is_refused(svc: Services) -> None:
    first = await svc.stats.build(OPERATOR, "2026-Q3")
    assert first.release["id"] == "stats-public-2026-q3-1"
    assert Decimal(first.release["epsilon"]) <= Decimal("1.0")
    second = await svc.stats.build(OPERATOR, "2026-09")  # one month of the same data
    with pytest.raises(DomainError) as refused:
        await svc.stats.build(OPERATOR, "2026-Q3")  # September has spent ~2.0
    assert refused.value.code is ErrorCode.BUDGET_EXHAUSTED
    assert refused.value.details["months"] == ["2026-09"]
    assert [r["id"] for r in await svc.stats.releases(None)] == [
        first.release["id"], second.release["id"]]  # the refused one stored nothing
    # July and August still have room for one more; a ministry keeps a budget of its own
    await svc.stats.build(OPERATOR, "2026-07")
    await svc.stats.build(KH_MINISTRY, "2026-Q3", "ministry:KH")


async def test_a_public_release_commits_to_its_ledger_position_without_publishing_it(
        svc: Services) -> None:
    built = await svc.stats.build(OPERATOR, "2026-Q3")
    provenance = json.loads(built.files["datapackage.json"])["clmtv"]
    row = built.release
    expected = hashlib.sha256(
        f"{row['id']}:{row['position']}:{row['position_nonce']}".encode()).hexdigest()
    assert provenance["ledger_position"] == {
        "commitment": expected, "note": provenance["ledger_position"]["note"]}
    privacy = provenance["privacy"]
    assert privacy["epsilon"] == row["epsilon"] and privacy["delta"] == "0"
    assert privacy["library"].startswith("OpenDP ")
    rows = _rows(built.files)
    assert len(rows) == len({(r["origin"], r["fund"], r["month"], r["measure"], r["currency"])
                             for r in rows})  # one row per cell of the public grid
    assert all(r["margin_95"] for r in rows)


async def test_a_ministry_reads_its_nationals_and_nothing_else(svc: Services) -> None:
    built = await svc.stats.build(KH_MINISTRY, "2026-Q3", "ministry:KH")
    assert {r["origin"] for r in _rows(built.files)} == {"KH"}
    public = await svc.stats.build(OPERATOR, "2026-Q3")
    release_id = built.release["id"]
    assert (await svc.stats.release(KH_MINISTRY, release_id))["audience"] == "ministry:KH"
    for stranger in (MM_MINISTRY, JPS, None):
        with pytest.raises(DomainError) as hidden:
            await svc.stats.release(stranger, release_id)
        assert hidden.value.code is ErrorCode.UNKNOWN_RELEASE
        assert [r["id"] for r in await svc.stats.releases(stranger)] == [public.release["id"]]
    for not_yours in ((MM_MINISTRY, "ministry:KH"), (JPS, "public"), (JPS, "fund:TH-SSO"),
                      (KH_MINISTRY, "public")):
        with pytest.raises(DomainError) as forbidden:
            await svc.stats.build(not_yours[0], "2026-Q3", not_yours[1])
        assert forbidden.value.code is ErrorCode.FORBIDDEN


async def test_bad_periods_and_audiences_are_refused(svc: Services) -> None:
    for period in ("2026-Q5", "2026Q3", "2026-13"):
        with pytest.raises(DomainError) as refused:
            await svc.stats.build(OPERATOR, period)
        assert (refused.value.code, refused.value.field) in (
            (ErrorCode.INVALID_INPUT, "period"), (ErrorCode.INVALID_MONTH, "period"))
    with pytest.raises(DomainError) as refused:
        await svc.stats.build(OPERATOR, "2026-Q3", "ministry:FR")
    assert refused.value.field == "audience"


async def test_the_package_validates_and_its_signature_binds_every_file(
        svc: Services, tmp_path: Path) -> None:
    frictionless = pytest.importorskip("frictionless")
    simulation = ("policy,origin,fund,month,measure,currency,value,margin_95,flag\n"
                  "clmtv-pilot,KH,JP-JPS,2026-07,contributions_employee,JPY,109800,,\n")
    built = await svc.stats.build(OPERATOR, "2026-Q3", simulation=simulation)
    assert "data/simulation.csv" in built.files
    folder = tmp_path / "release"
    package.write(folder, {**built.files, package.SIGNATURE: built.token.encode()})
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(svc.signer.jwks()))
    message, problems = verify_release(str(folder), str(jwks), audience="public")
    assert problems == [] and message.body["release_id"] == built.release["id"]
    csv_file = folder / "data" / "monitoring.csv"
    csv_file.write_bytes(csv_file.read_bytes().replace(b"\nKH,", b"\nMM,", 1))
    (folder / "data" / "extra.csv").write_text("a\n1\n")
    _, problems = verify_release(str(folder), str(jwks))
    assert problems == ["data/monitoring.csv: changed since it was signed (sha256 differs)",
                        "data/extra.csv: not part of the signed release"]
    assert not frictionless.validate(str(folder / "datapackage.json")).valid  # hash differs


def test_clmtv_stats_release_then_verify_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("CLMTV_DATABASE_URL", url)
    monkeypatch.setenv("CLMTV_HUB_KEY_FILE", str(tmp_path / "hub.jwk"))
    get_settings.cache_clear()
    try:
        assert cli.main(["hub-key", "create"]) == 0
        asyncio.run(_seed_at(get_settings()))
        out = tmp_path / "q3"
        assert cli.main(["stats", "release", "--period", "2026-Q3", "--out", str(out)]) == 0
        assert "release stats-public-2026-q3-1: public 2026-Q3" in capsys.readouterr().out
        jwks = tmp_path / "jwks.json"
        jwks.write_text(json.dumps(HubSigner.from_file(tmp_path / "hub.jwk").jwks()))
        assert cli.main(["verify", str(out), "--jwks", str(jwks), "--audience", "public"]) == 0
        assert "valid: stats.release from HUB to public" in capsys.readouterr().out
        assert cli.main(["stats", "release", "--period", "2026-Q3", "--epsilon", "-1"]) == 2
        assert cli.main(["stats", "export", "stats-public-2026-q3-1", "--out",
                         str(tmp_path / "again")]) == 0
        assert (tmp_path / "again" / "data" / "monitoring.csv").read_bytes() == (
            out / "data" / "monitoring.csv").read_bytes()
        (out / "datapackage.json").write_text("{}")
        assert cli.main(["verify", str(out), "--jwks", str(jwks)]) == 1
        assert "datapackage.json: changed since it was signed" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


async def _seed_at(settings: Settings) -> None:
    async with running_services(settings) as services:
        await _seed(services)
