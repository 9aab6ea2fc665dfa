"""A monitoring release as a Frictionless Data Package, and its integrity check.

A release is a folder (or the same files kept in the store):

    datapackage.json      the descriptor: resources, table schemas, provenance (`clmtv` key)
    data/monitoring.csv   one row per cell: origin, fund, month, measure, currency, value, margin
    data/measures.csv     one row per measure: definition, where the ledger knows it (or why
                          not), ε spent, caps and noise scales
    data/simulation.csv   optional: a simulator run's tables on the same axes (exact)
    release.jws           the hub's JWS over the files' SHA-256 (`manifest`): `clmtv verify`

The descriptor names each resource's `hash` (sha256) and `bytes`, so `frictionless validate`
checks the files against it; the JWS binds the descriptor itself. Amounts are integers in minor
units; ε and scales are decimal text (signed payloads carry integers only, ADR 0010).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.periods import Month
from ledger.stats.tables import MEASURES, Row

PROFILE = "tabular-data-package"
LICENSE = {"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
           "title": "Creative Commons Attribution 4.0"}
DESCRIPTOR = "datapackage.json"
SIGNATURE = "release.jws"
_PERIOD = re.compile(r"^(\d{4})-(?:Q([1-4])|(\d{2}))$")

MONITORING_FIELDS: list[dict[str, Any]] = [
    {"name": "origin", "type": "string", "description": "nationality, ISO 3166-1 alpha-2 "
     "(XX: any other)", "constraints": {"required": True, "pattern": "[A-Z]{2}"}},
    {"name": "fund", "type": "string", "description": "the fund the records belong to",
     "constraints": {"required": True}},
    {"name": "month", "type": "yearmonth", "constraints": {"required": True}},
    {"name": "measure", "type": "string", "description": "see data/measures.csv",
     "constraints": {"required": True}},
    {"name": "currency", "type": "string", "description": "ISO 4217; empty for counts"},
    {"name": "value", "type": "integer", "description": "a count, or minor units of currency",
     "constraints": {"required": True}},
    {"name": "margin_95", "type": "integer", "description": "the noise stays within ±margin "
     "with probability 0.95; empty for an exact table"},
    {"name": "flag", "type": "string", "description": "'small': |value| is within its margin "
     "(read as 'few or none')", "constraints": {"enum": ["", "small"]}},
]
MEASURE_FIELDS: list[dict[str, Any]] = [
    {"name": "measure", "type": "string", "constraints": {"required": True, "unique": True}},
    {"name": "unit", "type": "string"},
    {"name": "definition", "type": "string"},
    {"name": "month", "type": "string", "description": "which month a fact is filed under"},
    {"name": "released", "type": "boolean"},
    {"name": "ledger_source", "type": "string"},
    {"name": "not_known_because", "type": "string"},
    {"name": "epsilon", "type": "number"},
    {"name": "cells_max", "type": "integer"},
    {"name": "caps", "type": "string", "description": "currency:cap per worker and cell"},
    {"name": "scales", "type": "string", "description": "currency:discrete Laplace scale"},
]


SIMULATION_FIELDS: list[dict[str, Any]] = [
    {"name": "policy", "type": "string", "description": "the simulator's policy",
     "constraints": {"required": True}},
    *[f for f in MONITORING_FIELDS if f["name"] not in ("margin_95", "flag")],
]
SIMULATION = "data/simulation.csv"


def simulation_csv(text: str, months: set[str], origins: set[str], funds: set[str]) -> bytes:
    """A simulator's `monitoring.csv` (`clmtv simulate`), cut to a release's months, origins and
    funds: "what a policy would change" beside "what is". Simulated people are not people: the
    values are exact. A malformed file is refused naming its line and field."""
    reader = csv.DictReader(io.StringIO(text))
    wanted = [f["name"] for f in SIMULATION_FIELDS]
    if reader.fieldnames is None or [n for n in wanted if n not in reader.fieldnames]:
        raise DomainError(ErrorCode.INVALID_INPUT, "not a simulator monitoring.csv: its header "
                          f"must name {', '.join(wanted)}", field="simulation")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(wanted)
    for line, row in enumerate(reader, start=2):
        if row["month"] not in months or row["origin"] not in origins or row["fund"] not in funds:
            continue
        try:
            value = int(row["value"])
        except (TypeError, ValueError):
            raise DomainError(ErrorCode.INVALID_INPUT, f"line {line}: value {row['value']!r} is "
                              "not an integer", field="simulation.value", index=line) from None
        writer.writerow([row["policy"], row["origin"], row["fund"], row["month"],
                         row["measure"], row["currency"], value])
    return out.getvalue().encode()


def period_months(period: str) -> tuple[Month, ...]:
    """`2026-Q3` (a quarter) or `2026-09` (a month)."""
    match = _PERIOD.match(period)
    if match is None:
        raise DomainError(ErrorCode.INVALID_INPUT, f"period must be YYYY-Qn or YYYY-MM, got "
                          f"{period!r}", field="period")
    year = int(match.group(1))
    if match.group(2):
        first = Month(year, 3 * int(match.group(2)) - 2)
        return tuple(first.plus(i) for i in range(3))
    return (Month.parse(period, "period"),)


@dataclass(frozen=True, slots=True)
class MeasureNote:
    """What a release says about one measure beyond its rows."""

    name: str
    released: bool
    epsilon: str = ""
    caps: str = ""
    scales: str = ""


def monitoring_csv(rows: Sequence[Row], margins: Mapping[tuple[str, str], int] | None) -> bytes:
    """`margins`: (measure, currency) -> margin, or None for an exact table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f["name"] for f in MONITORING_FIELDS])
    for r in rows:
        month = f"{r.month // 100:04d}-{r.month % 100:02d}"
        margin = margins.get((r.measure, r.currency)) if margins is not None else None
        flag = "small" if margin is not None and abs(r.value) <= margin else ""
        writer.writerow([r.origin, r.fund, month, r.measure, r.currency, r.value,
                         "" if margin is None else margin, flag])
    return out.getvalue().encode()


def measures_csv(notes: Mapping[str, MeasureNote], cells_max: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f["name"] for f in MEASURE_FIELDS])
    for m in MEASURES:
        note = notes.get(m.name, MeasureNote(m.name, False))
        writer.writerow([m.name, m.unit.value, m.definition, m.month,
                         "true" if note.released else "false", m.ledger or "", m.ledger_gap,
                         note.epsilon, m.cells_max if cells_max else "", note.caps, note.scales])
    return out.getvalue().encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def descriptor(name: str, files: Mapping[str, bytes], provenance: Mapping[str, Any],
               title: str) -> dict[str, Any]:
    schemas = {"data/monitoring.csv": MONITORING_FIELDS, "data/measures.csv": MEASURE_FIELDS,
               SIMULATION: SIMULATION_FIELDS}
    resources = []
    for path, data in files.items():
        resources.append({
            "name": Path(path).stem, "path": path, "profile": "tabular-data-resource",
            "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "bytes": len(data), "hash": f"sha256:{sha256(data)}",
            "schema": {"fields": schemas[path], "missingValues": [""]},
        })
    return {"profile": PROFILE, "name": name, "title": title, "licenses": [LICENSE],
            "created": provenance["built_at"], "resources": resources,
            "clmtv": dict(provenance)}


def descriptor_bytes(desc: Mapping[str, Any]) -> bytes:
    return (json.dumps(desc, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode()


def manifest(release_id: str, files: Mapping[str, bytes]) -> dict[str, Any]:
    """What the hub signs: every file of the package by its SHA-256 and size."""
    return {"release_id": release_id,
            "files": [{"path": p, "sha256": sha256(d), "bytes": str(len(d))}
                      for p, d in sorted(files.items())]}


def write(folder: Path, files: Mapping[str, bytes]) -> None:
    for path, data in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def check_files(folder: Path, signed: Mapping[str, Any]) -> list[str]:
    """The signed manifest against the files in `folder`: one line per problem, [] if all is
    as signed. A missing, changed or extra data file is a problem."""
    problems = []
    listed = {f["path"] for f in signed.get("files", [])}
    for entry in signed.get("files", []):
        path = folder / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']}: missing")
            continue
        data = path.read_bytes()
        if sha256(data) != entry["sha256"]:
            problems.append(f"{entry['path']}: changed since it was signed (sha256 differs)")
    data_dir = folder / "data"
    if data_dir.is_dir():
        for extra in sorted(data_dir.rglob("*")):
            name = extra.relative_to(folder).as_posix()
            if extra.is_file() and name not in listed:
                problems.append(f"{name}: not part of the signed release")
    return problems
