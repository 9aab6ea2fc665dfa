"""The monitoring dashboard: the latest public release charted in the reader's language, each
series linked to its data; a ministry signed in also sees its own; what is unknown is said."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ledger.api.app import create_app
from ledger.composition import Services, running_services
from ledger.config import Settings
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal, PrincipalKind
from tests.stats.test_releases import _seed

pytestmark = pytest.mark.anyio

OPERATOR = Principal("op", PrincipalKind.HUB_OPERATOR)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Services, str]]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/web.db",
                        hub_key_file=str(tmp_path / "hub.jwk"), dev_mode=True)
    async with running_services(settings) as services:
        await _seed(services)
        token = await services.clients.register("kh-ministry", PrincipalKind.MINISTRY, "KH")
        app = create_app(settings, services)
        app.state.services = services
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as http:
            yield http, services, token


async def test_without_a_release_the_page_says_so(site: tuple[httpx.AsyncClient, Services, str]
                                                  ) -> None:
    http, _, _ = site
    page = await http.get("/web/stats/?lang=en")
    assert page.status_code == 200 and "No release has been published yet." in page.text


async def test_the_public_release_in_thai_with_its_data_links(
        site: tuple[httpx.AsyncClient, Services, str]) -> None:
    http, services, _ = site
    built = await services.stats.build(OPERATOR, "2026-Q3")
    page = await http.get("/web/stats/?lang=th")
    assert page.status_code == 200 and '<html lang="th">' in page.text
    assert "สถิติการติดตามผล" in page.text  # Monitoring statistics
    assert "แรงงานที่ได้รับความคุ้มครอง" in page.text  # Workers covered
    assert "กรกฎาคม 2569" in page.text  # July 2026 in the Buddhist Era
    files = f"/v1/stats/releases/{built.release['id']}/files"
    for link in ("data/monitoring.csv", "data/measures.csv", "datapackage.json", "release.jws"):
        assert f'href="{files}/{link}"' in page.text
        assert (await http.get(f"{files}/{link}")).status_code == 200
    assert "<svg" in page.text and "<script" not in page.text
    assert "deadline_90_days_amount" in page.text  # what the ledger does not know, listed
    assert "ค่าธรรมเนียมของบริษัทจัดหางาน" in page.text  # agents' fees: not known, said so


async def test_a_ministry_signed_in_sees_its_own_release_others_do_not(
        site: tuple[httpx.AsyncClient, Services, str]) -> None:
    http, services, token = site
    await services.stats.build(OPERATOR, "2026-Q3")
    own = await services.stats.build(Principal("kh", PrincipalKind.MINISTRY, "KH"), "2026-Q3",
                                     "ministry:KH")
    address = f"/web/stats/?release={own.release['id']}&lang=en"
    signed_in = await http.get(address, headers={"Authorization": f"Bearer {token}"})
    assert signed_in.status_code == 200 and "ministry:KH" in signed_in.text
    anonymous = await http.get(address)
    assert anonymous.status_code == 404
    listing = await http.get("/web/stats/?lang=en")
    assert own.release["id"] not in listing.text


async def test_the_api_serves_each_reader_its_own_releases_and_files(
        site: tuple[httpx.AsyncClient, Services, str]) -> None:
    http, services, token = site
    public = await services.stats.build(OPERATOR, "2026-Q3")
    own = await services.stats.build(OPERATOR, "2026-Q3", "ministry:KH")
    ministry = {"Authorization": f"Bearer {token}"}
    anonymous = (await http.get("/v1/stats/releases")).json()
    assert [r["id"] for r in anonymous] == [public.release["id"]]
    signed_in = (await http.get("/v1/stats/releases", headers=ministry)).json()
    assert [r["id"] for r in signed_in] == [public.release["id"], own.release["id"]]
    address = f"/v1/stats/releases/{own.release['id']}"
    assert (await http.get(address)).status_code == 404
    fetched = (await http.get(address, headers=ministry)).json()
    assert fetched["signature"] == own.token
    assert fetched["datapackage"]["clmtv"]["audience"] == "ministry:KH"
    csv_file = await http.get(f"{address}/files/data/monitoring.csv", headers=ministry)
    assert csv_file.content == own.files["data/monitoring.csv"]
    assert csv_file.headers["content-type"].startswith("text/csv")
    missing = await http.get(f"{address}/files/data/nope.csv", headers=ministry)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert "ledger_position" not in fetched  # the commitment's opening is for the hub's staff
    operator = await services.clients.register("op", PrincipalKind.HUB_OPERATOR, None)
    opened = (await http.get(f"/v1/stats/releases/{public.release['id']}",
                             headers={"Authorization": f"Bearer {operator}"})).json()
    position = opened["ledger_position"]
    commitment = opened["datapackage"]["clmtv"]["ledger_position"]["commitment"]
    assert commitment == hashlib.sha256(
        f"{public.release['id']}:{position['transfers_seq']}:{position['nonce']}".encode()
    ).hexdigest()


async def test_a_ministry_client_names_a_country_a_fund_has(
        site: tuple[httpx.AsyncClient, Services, str]) -> None:
    _, services, _ = site
    for scope in ("FR", None):
        with pytest.raises(DomainError) as refused:
            await services.clients.register(f"m-{scope}", PrincipalKind.MINISTRY, scope)
        assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, "scope")


SIMULATION = """policy,origin,fund,month,measure,currency,value,margin_95,flag
clmtv-pilot,KH,JP-JPS,2026-07,workers_covered,,4000,,
clmtv-pilot,KH,JP-JPS,2026-08,workers_covered,,4100,,
clmtv-pilot,KH,JP-JPS,2027-01,workers_covered,,9999,,
no-agreement,KH,JP-JPS,2026-07,workers_covered,,3000,,
clmtv-pilot,KH,XX-NONE,2026-07,workers_covered,,7,,
"""


async def test_a_simulated_run_stands_beside_the_ledgers_numbers(
        site: tuple[httpx.AsyncClient, Services, str]) -> None:
    http, services, _ = site
    built = await services.stats.build(OPERATOR, "2026-Q3", simulation=SIMULATION)
    kept = built.files["data/simulation.csv"].decode().splitlines()
    assert kept == ["policy,origin,fund,month,measure,currency,value",
                    "clmtv-pilot,KH,JP-JPS,2026-07,workers_covered,,4000",
                    "clmtv-pilot,KH,JP-JPS,2026-08,workers_covered,,4100",
                    "no-agreement,KH,JP-JPS,2026-07,workers_covered,,3000"]  # the grid's only
    page = await http.get("/web/stats/?lang=en")
    assert "simulator: clmtv-pilot" in page.text and "simulator: no-agreement" in page.text
    assert "4,000" in page.text and "4,100" in page.text
    with pytest.raises(DomainError) as refused:
        await services.stats.build(OPERATOR, "2026-09", simulation="policy,origin\nx,KH\n")
    assert refused.value.field == "simulation"
    with pytest.raises(DomainError) as refused:
        await services.stats.build(OPERATOR, "2026-Q3", simulation=SIMULATION.replace(
            "4100", "many"))
    assert (refused.value.field, refused.value.index) == ("simulation.value", 3)
    assert [r["id"] for r in await services.stats.releases(None)] == [built.release["id"]]
