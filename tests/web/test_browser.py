"""The pages in a real browser: Debian's chromium driven by Playwright's Python client.

Never downloads a browser: `executable_path` is /usr/bin/chromium (or CLMTV_CHROMIUM). Skips,
saying why, when chromium or playwright is missing. Screenshots go to a temporary folder; to
refresh the ones in the docs (docs/web.md):

    CLMTV_SCREENSHOTS=docs/screenshots python3 dev.py test tests/web/test_browser.py
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from ledger.api.app import create_app
from ledger.composition import build_services
from ledger.config import Settings
from ledger.db.engine import open_database
from ledger.db.migrate import upgrade
from ledger.domain.principals import PrincipalKind
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey
from ledger.web import formats, i18n
from tests.web.seed import expected_jp_deadline, worker_with_a_deadline

CHROMIUM = os.environ.get("CLMTV_CHROMIUM", "/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (python3 dev.py bootstrap)")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no chromium at {CHROMIUM}: apt-get install chromium (CI installs it)",
                allow_module_level=True)

PHONE = {"width": 390, "height": 844}  # a common phone's CSS viewport
DESKTOP = {"width": 1100, "height": 900}


@dataclass
class Served:
    base: str
    worker: str
    worker_token: str


def _screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("CLMTV_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app behind uvicorn in a thread of its own, on a fresh SQLite file, with the seeded
    worker (tests/web/seed.py) and a worker token."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite+aiosqlite:///{folder}/pages.db"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ready = threading.Event()
    found: dict[str, Any] = {}

    async def serve() -> None:
        db = open_database(url)
        await upgrade(db)
        settings = Settings(database_url=url)
        services = build_services(settings, db=db, signer=HubSigner(SigningKey.generate(HUB)))
        services.committer.start()
        found["worker"] = await worker_with_a_deadline(services, "b0b0b0")
        found["token"] = await services.clients.register(
            "browser-worker", PrincipalKind.WORKER, found["worker"])
        app = create_app(settings, services)
        app.state.services = services
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        found["server"] = server
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        ready.set()
        await task
        await services.committer.stop()
        await db.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(60), "the server did not start"
    yield Served(f"http://127.0.0.1:{port}", found["worker"], found["token"])
    found["server"].should_exit = True
    thread.join(30)
    sock.close()


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


def _signed_in(browser: Any, served: Served, viewport: dict[str, int]) -> Any:
    """A new browser context signed in through the login form, as a worker would."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{served.base}/web/")
    page.fill("#token", served.worker_token)
    page.click("form.login button")
    page.wait_for_url(f"**/web/workers/{served.worker}/statement")
    return context, page


@pytest.mark.parametrize("code", [lang.code for lang in i18n.LANGUAGES])
def test_the_statement_in_each_language(browser: Any, served: Served, code: str,
                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    context, page = _signed_in(browser, served, DESKTOP)
    page.goto(f"{served.base}/web/workers/{served.worker}/statement?lang={code}")
    assert page.get_attribute("html", "lang") == code
    deadline = formats.day(expected_jp_deadline(), code)
    claim = page.locator('.claim[data-route="jp_lswp"] .deadline')
    assert deadline in claim.inner_text()
    warning = page.locator(f'.warning[data-deadline="{expected_jp_deadline().isoformat()}"]')
    assert warning.is_visible() and deadline in warning.inner_text()
    assert page.locator(".qr img").is_visible()
    page.screenshot(path=str(_screenshots(tmp_path_factory) / f"statement-{code}.png"),
                    full_page=True)
    # Remembered: the same page without ?lang= is still in this language (the cookie).
    page.goto(f"{served.base}/web/workers/{served.worker}/statement")
    assert page.get_attribute("html", "lang") == code
    context.close()


def test_the_statement_on_a_phone(browser: Any, served: Served,
                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    context, page = _signed_in(browser, served, PHONE)
    page.goto(f"{served.base}/web/workers/{served.worker}/statement?lang=km")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    button = page.locator("a.button", has_text="")  # the actions stay reachable
    assert button.first.is_visible()
    assert page.locator(".warning").first.bounding_box()["width"] <= PHONE["width"]
    page.screenshot(path=str(_screenshots(tmp_path_factory) / "statement-phone.png"),
                    full_page=True)
    context.close()


def test_the_printable_version_hides_the_navigation(browser: Any, served: Served) -> None:
    context, page = _signed_in(browser, served, DESKTOP)
    page.goto(f"{served.base}/web/workers/{served.worker}/statement?print=1&lang=th")
    assert not page.locator("header.site").is_visible()
    assert not page.locator(".actions").is_visible()
    assert page.locator(".qr img").is_visible() and page.locator(".claim").first.is_visible()
    context.close()


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["body"]["funds"][0]["months"] += 12
    forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{forged.decode().rstrip('=')}.{signature}"


def test_a_tampered_statement_is_invalid_in_the_browser_offline(
        browser: Any, served: Served, tmp_path_factory: pytest.TempPathFactory) -> None:
    context, page = _signed_in(browser, served, DESKTOP)
    token = page.input_value("#signed-statement")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{served.base}/web/verify?lang=vi")
    context.set_offline(True)  # the check needs nothing but the page and its embedded keys
    page.fill("#document", _tampered(token))
    page.click("#verify-form button")
    verdict = page.locator('#verdict [data-valid="false"]')
    verdict.wait_for()
    assert verdict.get_attribute("data-reason") == "signature_invalid"
    assert "Không hợp lệ" in verdict.inner_text()
    page.screenshot(path=str(_screenshots(tmp_path_factory) / "verify-tampered.png"))
    page.fill("#document", token)
    page.click("#verify-form button")
    page.locator('#verdict [data-valid="true"]').wait_for()
    assert served.worker in page.locator("#details").inner_text()
    assert posts == [], "the browser asked the server; it should have checked by itself"
    context.close()


def test_the_qr_code_opens_the_check_that_pins_the_printed_statement(
        browser: Any, served: Served) -> None:
    context, page = _signed_in(browser, served, DESKTOP)
    token = page.input_value("#signed-statement")
    qr = page.get_attribute(".qr img", "src")
    assert qr is not None and qr.startswith("data:image/svg+xml;base64,")
    import hashlib
    digest = hashlib.sha256(token.encode()).hexdigest()
    page.goto(f"{served.base}/web/verify#sha256={digest}&worker={served.worker}")
    page.fill("#document", token)
    page.click("#verify-form button")
    page.locator('#verdict [data-valid="true"]').wait_for()
    assert "It is the document whose QR code you scanned." in page.inner_text("#details")
    context.close()


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig's fc-list is absent")
@pytest.mark.parametrize("code", ["km", "lo", "my", "th", "ja"])
def test_the_system_has_a_font_for_each_script(code: str) -> None:
    """Without one the screenshots show empty boxes. CI installs them (.ci/run) and fails here
    if it could not; elsewhere the test skips and says what to install."""
    fonts = subprocess.run(["fc-list", f":lang={code}", "family"], capture_output=True,
                           text=True, check=True).stdout
    advice = f"no Noto font for {code}: apt-get install fonts-noto-core fonts-noto-cjk"
    if "Noto" not in fonts and os.environ.get("CI") != "true":
        pytest.skip(advice)
    assert "Noto" in fonts, advice
