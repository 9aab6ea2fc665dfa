"""The scores file (docs/mutation.json) and the tables it renders into docs/testing.md.

The JSON keeps each module's latest run: counts, score, date, commit, run time, test files and
every survivor's diff. docs/testing.md holds the rendered table and the equivalent survivors
between marker comments; everything else in that page is left as written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
from typing import Any

from tools.mutation.equivalents import judged_equivalent
from tools.mutation.run import ROOT, ModuleRun
from tools.mutation.targets import TESTS_BY_MODULE

SCORES = ROOT / "docs" / "mutation.json"
PAGE = ROOT / "docs" / "testing.md"
TARGET = 0.90


def _git(*args: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise SystemExit("mutate: git is needed to name the commit a score was measured on")
    return subprocess.run(  # noqa: S603 (fixed arguments)
        [git, *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit() -> str:
    """HEAD's short hash, `+changes` when the module sources or tests differ from it."""
    head = _git("rev-parse", "--short", "HEAD")
    return f"{head}+changes" if _git("status", "--porcelain", "--", "ledger", "tests") else head


def fingerprint(module: str) -> dict[str, str]:
    """Hashes of the module's source and of its mapped tests: a run is stale when either moves."""
    tests = hashlib.sha256()
    for entry in TESTS_BY_MODULE[module]:
        path = ROOT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            tests.update(file.relative_to(ROOT).as_posix().encode() + b"\0" + file.read_bytes())
    source = hashlib.sha256((ROOT / module).read_bytes())
    return {"source_sha256": source.hexdigest()[:16], "tests_sha256": tests.hexdigest()[:16]}


def stale(scores: dict[str, dict[str, Any]]) -> list[str]:
    """Core modules whose code or tests changed since their recorded run (or that have none)."""
    return [
        module for module in TESTS_BY_MODULE
        if module not in scores
        or {k: scores[module].get(k) for k in ("source_sha256", "tests_sha256")}
        != fingerprint(module)
    ]


def load() -> dict[str, dict[str, Any]]:
    return json.loads(SCORES.read_text()) if SCORES.exists() else {}


def record(run: ModuleRun) -> None:
    scores = load()
    survivors = []
    for name, diff in run.survivors.items():
        entry = judged_equivalent(name, diff)
        reason = entry.reason if entry else None
        survivors.append({"mutant": name, "diff": diff, "equivalent": reason})
    scores[run.module] = {
        "mutants": run.mutants,
        "killed": run.killed,
        "score": round(run.killed / run.mutants, 4) if run.mutants else None,
        "statuses": dict(sorted(run.counts.items())),
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "commit": commit(),
        "seconds": round(run.seconds),
        "tests": list(run.tests),
        **fingerprint(run.module),
        "survivors": survivors,
    }
    ordered = {module: scores[module] for module in TESTS_BY_MODULE if module in scores}
    SCORES.write_text(json.dumps(ordered, indent=1, ensure_ascii=False) + "\n")


def table(scores: dict[str, dict[str, Any]]) -> str:
    rows = [
        "| module | mutants | killed | score | survivors judged equivalent | date | commit | run |",
        "|---|---:|---:|---:|---:|---|---|---:|",
    ]
    outdated = set(stale(scores))
    for module, s in scores.items():
        equivalent = sum(1 for v in s["survivors"] if v["equivalent"])
        score = f"{100 * s['score']:.1f}%" if s["score"] is not None else "–"
        mark = "" if s["score"] is None or s["score"] >= TARGET else " ✗"
        rows.append(
            f"| {module} | {s['mutants']} | {s['killed']} | {score}{mark} | {equivalent} "
            f"| {s['date']}{' (stale)' if module in outdated else ''} | {s['commit']} "
            f"| {_minutes(s['seconds'])} |"
        )
    return "\n".join(rows)


def equivalents(scores: dict[str, dict[str, Any]]) -> str:
    lines = []
    for module, s in scores.items():
        for v in s["survivors"]:
            if v["equivalent"]:
                change = " / ".join(
                    f"`{line.strip()}`" for line in v["diff"].splitlines() if line[:1] in "+-"
                )
                lines.append(f"- {module}, `{v['mutant']}`: {change}. {v['equivalent']}")
    return "\n".join(lines) if lines else "(none)"


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def rewrite_page(scores: dict[str, dict[str, Any]]) -> None:
    text = PAGE.read_text()
    for marker, body in (("mutation-table", table(scores)), ("equivalents", equivalents(scores))):
        begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
        head, sep, rest = text.partition(begin)
        if not sep:
            raise SystemExit(f"mutate: {PAGE} lacks the {begin} marker")
        _, sep, tail = rest.partition(end)
        if not sep:
            raise SystemExit(f"mutate: {PAGE} lacks the {end} marker")
        text = f"{head}{begin}\n{body}\n{end}{tail}"
    PAGE.write_text(text)
