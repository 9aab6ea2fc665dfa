"""What the conformance suite is parametrised over: every adapter folder with its samples, and
the golden files: each sample parsed (`<sample>.json`) and the findings on each broken variant
of it (`<sample>.malformed.json`, see `ledger/adapters/conformance/malformed.py`).

Regenerate the goldens after a deliberate format change, then review the diff:

    .venv/bin/python -m tests.adapters.conformance.support
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from ledger.adapters.conformance import malformed
from ledger.adapters.formats import DeclaredHeader, DeclaredRow, RowError
from ledger.adapters.registry import adapters, codec, get_adapter
from ledger.app.demo_imports import sample_files

GOLDEN = Path(__file__).parent / "golden"
FUNDS = sorted(adapters())
SAMPLES = [(fund, path) for fund in FUNDS for path in sample_files(fund)]


def golden_path(fund: str, sample: Path) -> Path:
    return GOLDEN / fund / f"{sample.name}.json"


def malformed_golden_path(fund: str, sample: Path) -> Path:
    return GOLDEN / fund / f"{sample.name}.malformed.json"


def malformed_as_json(fund: str, data: bytes) -> dict[str, list[str] | str]:
    """Per kind of broken file: the findings of the checks, or why the kind does not apply."""
    adapter, found = get_adapter(fund), codec(fund)
    return {
        v.kind: (malformed.findings(adapter, found, v) if isinstance(v, malformed.Variant)
                 else f"not applicable: {v.reason}")
        for v in malformed.variants(adapter, found, data)
    }


def parsed_as_json(fund: str, data: bytes) -> list[dict[str, Any]]:
    out = []
    for item in codec(fund).parse(iter(data.splitlines(keepends=True))):
        assert isinstance(item, DeclaredHeader | DeclaredRow | RowError)
        fields = dataclasses.asdict(item)
        out.append({"kind": type(item).__name__,
                    **{k: (str(v) if not isinstance(v, int | str | dict | list | tuple | None)
                           else v) for k, v in fields.items()}})
    return json.loads(json.dumps(out, ensure_ascii=False))  # tuples -> lists, as stored


def write_goldens() -> None:
    for fund, sample in SAMPLES:
        path = golden_path(fund, sample)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(parsed_as_json(fund, sample.read_bytes()), indent=1,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path}")
        path = malformed_golden_path(fund, sample)
        path.write_text(json.dumps(malformed_as_json(fund, sample.read_bytes()), indent=1,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    write_goldens()
