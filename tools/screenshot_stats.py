"""Screenshots of the monitoring dashboard in two languages (docs/screenshots/, docs/monitoring.md).

    .venv/bin/python tools/screenshot_stats.py http://127.0.0.1:8725 docs/screenshots

Drives Debian's /usr/bin/chromium through Playwright (no browser download); the fonts are the
system's Noto families (fonts-noto-core). The server is any clmtv holding a public release.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
LANGUAGES = ("en", "th")


def main(base: str, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        for code in LANGUAGES:
            page.goto(f"{base}/web/stats/?lang={code}", wait_until="networkidle")
            target = out / f"stats-dashboard-{code}.png"
            page.screenshot(path=str(target), full_page=True)
            print(target)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
