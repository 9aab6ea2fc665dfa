"""Pages generated from the code (docs/cli.md, docs/architecture.md, docs/operations.md'
settings table): write one, or with `--check` say whether it is stale, in one place."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_or_check(page: Path, text: str, argv: list[str], task: str) -> int:
    """Write `text` to `page`; with `--check`, exit code 1 and a hint when the page differs."""
    if "--check" in argv:
        if not page.exists() or page.read_text(encoding="utf-8") != text:
            print(f"{page.relative_to(ROOT)} is stale: run python3 dev.py {task}",
                  file=sys.stderr)
            return 1
        return 0
    page.write_text(text, encoding="utf-8")
    print(f"wrote {page.relative_to(ROOT)}")
    return 0
