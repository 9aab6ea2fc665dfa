"""/docs and /redoc work on a closed network: their pages name no external host, every asset they
load is served by the API itself, and the bundles do not fetch images from a CDN (ADR 0041)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.anyio

# Every URL an HTML page makes the browser load: src/href attributes and Swagger UI's spec `url`.
LOADED = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|\burl:\s*'([^']+)'""")
ANY_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+""")


def _loaded_urls(html: str) -> list[str]:
    return [a or b for a, b in LOADED.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_page_names_no_external_host(api: Api, page: str) -> None:
    response = await api.http.get(page)
    assert response.status_code == 200
    assert ANY_URL.findall(response.text) == [], f"{page} names an external host"
    urls = _loaded_urls(response.text)
    assert len(urls) >= 3, urls  # stylesheet or spec, script, icon: the scan sees them
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_every_asset_the_page_loads_is_served(api: Api, page: str) -> None:
    html = (await api.http.get(page)).text
    for url in _loaded_urls(html):
        asset = await api.http.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url


async def test_the_bundles_are_the_packaged_ones_with_their_licences(api: Api) -> None:
    swagger = await api.http.get("/docs/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in swagger.text
    redoc = await api.http.get("/redoc/redoc.standalone.js")
    # ReDoc's sidebar logo comes from cdn.redoc.ly unless the bundle is patched to a local file.
    assert "cdn.redoc.ly" not in redoc.text
    for licence in ("/docs/LICENSE", "/redoc/redoc.standalone.js.LICENSE.txt"):
        assert (await api.http.get(licence)).status_code == 200, licence


def test_the_scan_sees_an_external_asset() -> None:
    cdn = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
    page = f'<script src="{cdn}"></script>'
    assert ANY_URL.findall(page) == ["https://cdn.jsdelivr.net"]
    assert _loaded_urls(page) == [cdn]
