"""What a load test measured, per step and request type, and what the ledger acknowledged.

Owns `Recorder`: a log-bucketed latency histogram (2% wide buckets), the failure count and the
payments booked (one request may carry many: a channel's batch) for each (step, request name),
plus each kind's offered and missed send slots (`pacing.py`). Each Locust
worker drains it into its periodic report to the master, which merges the reports; the master
(or a lone local process) writes the result as `latency.json` at the end. Percentiles are read
from the buckets (within 2%), as Locust's own statistics round times too.

Owns `AckLog`: one JSON line per thing the ledger acknowledged (an import, a flow posted, a
window settled, a contribution batch), one file per process, flushed line by line, so that the
audit can check each is in the ledger exactly once even if the process dies.
"""

from __future__ import annotations

import json
import math
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BUCKET_RATIO = 1.02
FLOOR_MS = 0.01
_LOG = math.log(BUCKET_RATIO)


def bucket(ms: float) -> int:
    return max(0, int(math.log(max(ms, FLOOR_MS) / FLOOR_MS) / _LOG))


def bucket_ms(index: int) -> float:
    """The middle of a bucket (geometric)."""
    return float(FLOOR_MS * BUCKET_RATIO ** (index + 0.5))


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) of a histogram, None when it is empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return bucket_ms(index)
    return bucket_ms(max(histogram))


class Recorder:
    def __init__(self) -> None:
        # step -> name -> {"n", "failures", "payments", "h": {bucket: count},
        #                  "errors": {text: count}}
        self.steps: dict[str, dict[str, dict[str, Any]]] = {}
        self.pacing: dict[str, dict[str, dict[str, float]]] = {}  # step -> kind -> counters

    def _entry(self, step: str, name: str) -> dict[str, Any]:
        by_name = self.steps.setdefault(step, {})
        entry = by_name.get(name)
        if entry is None:
            entry = by_name[name] = {"n": 0, "failures": 0, "payments": 0, "h": {},
                                     "errors": {}}
        return entry

    def add(self, step: str, name: str, ms: float, error: str | None, payments: int = 0
            ) -> None:
        entry = self._entry(step, name)
        entry["n"] += 1
        entry["payments"] += payments
        b = bucket(ms)
        entry["h"][b] = entry["h"].get(b, 0) + 1
        if error is not None:
            entry["failures"] += 1
            text = error[:200]
            if text in entry["errors"] or len(entry["errors"]) < 20:
                entry["errors"][text] = entry["errors"].get(text, 0) + 1

    def add_pacing(self, step: str, counters: Mapping[str, Mapping[str, float]]) -> None:
        kinds = self.pacing.setdefault(step, {})
        for kind, values in counters.items():
            into = kinds.setdefault(kind, {"offered": 0, "missed": 0.0})
            for key, value in values.items():
                into[key] = into.get(key, 0) + value

    def drain(self) -> dict[str, Any]:
        """Everything since the last drain, as JSON-safe data (bucket keys become strings)."""
        out = {"steps": {s: {n: {**e, "h": {str(k): v for k, v in e["h"].items()}}
                             for n, e in names.items()} for s, names in self.steps.items()},
               "pacing": self.pacing}
        self.steps, self.pacing = {}, {}
        return out

    def merge(self, data: Mapping[str, Any]) -> None:
        for step, names in data.get("steps", {}).items():
            for name, other in names.items():
                entry = self._entry(step, name)
                entry["n"] += other["n"]
                entry["failures"] += other["failures"]
                entry["payments"] += other.get("payments", 0)
                for k, v in other["h"].items():
                    entry["h"][int(k)] = entry["h"].get(int(k), 0) + v
                for text, count in other.get("errors", {}).items():
                    entry["errors"][text] = entry["errors"].get(text, 0) + count
        for step, kinds in data.get("pacing", {}).items():
            self.add_pacing(step, kinds)

    def summary(self, step: str) -> dict[str, Any]:
        """All request types of one step together: n, failures, payments, p50/p95/p99."""
        merged: dict[int, int] = {}
        n = failures = payments = 0
        for entry in self.steps.get(step, {}).values():
            n += entry["n"]
            failures += entry["failures"]
            payments += entry.get("payments", 0)
            for k, v in entry["h"].items():
                merged[k] = merged.get(k, 0) + v
        return {"n": n, "failures": failures, "payments": payments,
                "p50_ms": percentile(merged, 0.50),
                "p95_ms": percentile(merged, 0.95), "p99_ms": percentile(merged, 0.99)}

    def to_json(self) -> dict[str, Any]:
        return {"steps": {s: {n: {**e, "h": {str(k): v for k, v in sorted(e["h"].items())}}
                              for n, e in names.items()} for s, names in self.steps.items()},
                "pacing": self.pacing}


class AckLog:
    """Acknowledged items of this process: `acks/<host>-<pid>.ndjson` under the output dir."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{socket.gethostname()}-{os.getpid()}.ndjson"
        self._handle = self.path.open("a", buffering=1)  # line-buffered: one flush a line

    def record(self, kind: str, ident: str, **extra: Any) -> None:
        self._handle.write(json.dumps({"kind": kind, "id": ident, **extra}) + "\n")

    def close(self) -> None:
        self._handle.close()

