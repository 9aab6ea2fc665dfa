"""The capacity report of one run: `report.html` (one offline file, charts as inline SVG), CSV
tables and `summary.json`.

Owns the arithmetic from what Locust measured (`latency.json`: a latency histogram and failure
count per step and request type; `progress.ndjson`: steps, their verdicts; the CPU the runner
sampled per step) to the figures a capacity planner reads:

- per step and per request type: requests, failures, throughput, p50/p95/p99, and payments
  booked per second (a channel's batch request carries many: requests/s alone would hide them);
- the highest step that held the target (p99 at or under it, errors under the limit, and the
  generator offered what was asked: under 5% of send slots missed);
- where the CPU went in each step (API processes, PostgreSQL backends, Locust, the rest of the
  machine), in cores;
- how many workers of the shaped population that step serves: the busiest hour of the simulated
  month asks P_k actions/s of kind k for N workers; a rate R split by the mix m serves
  N x min_k(R m_k / P_k) workers (kinds not sent in this build are not counted, and say so);
- the audit.
"""

from __future__ import annotations

import csv
import json
import math
import platform
import time
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from ledger.app.loadtest.audit import Audit
from ledger.app.loadtest.prepare import Prepared
from ledger.app.loadtest.traffic import BATCH_KIND
from simulator.svg import lines, stacked_bars

CPU_GROUPS = ("api", "database", "load generator", "other")


def _percentile(histogram: dict[str, int], q: float) -> float | None:
    """As loadtests/recorder.py: 2%-wide log buckets from 0.01 ms, the middle of the bucket."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank, seen = max(1, math.ceil(q * total)), 0
    for key in sorted(histogram, key=int):
        seen += histogram[key]
        if seen >= rank:
            return float(0.01 * 1.02 ** (int(key) + 0.5))
    return None


def _merge(histograms: Sequence[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for h in histograms:
        for k, v in h.items():
            out[k] = out.get(k, 0) + v
    return out


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def step_table(latency: dict[str, Any], events: list[dict[str, Any]],
               cpu: dict[str, dict[str, float]]) -> tuple[list[dict[str, Any]],
                                                           list[dict[str, Any]]]:
    """(one row per step, one row per step and request type)."""
    starts = [(e["step"], e["t"], e.get("target", sum(e.get("rates", {}).values())))
              for e in events if e["event"] == "step"]
    ends = {e["event"]: e["t"] for e in events if e["event"] in ("end", "quit")}
    verdicts = {str(e["step"]): e for e in events if e["event"] == "verdict"}
    steps, requests = [], []
    for index, (step, at, target) in enumerate(starts):
        if step.startswith("wait-"):
            continue
        until = starts[index + 1][1] if index + 1 < len(starts) else ends.get(
            "end", ends.get("quit", at))
        seconds = max(until - at, 1e-9)
        names = latency.get("steps", {}).get(step, {})
        merged = _merge([e["h"] for e in names.values()])
        n = sum(e["n"] for e in names.values())
        failures = sum(e["failures"] for e in names.values())
        payments = sum(e.get("payments", 0) for e in names.values())
        pacing = latency.get("pacing", {}).get(step, {})
        offered = sum(v.get("offered", 0) for v in pacing.values())
        missed = sum(v.get("missed", 0) for v in pacing.values())
        used = cpu.get(step, {})
        wall = used.get("wall") or seconds
        row = {"step": step, "target_actions_per_s": round(float(target), 3),
               "seconds": round(seconds, 1), "requests": n, "failures": failures,
               "actions_per_s": round(offered / seconds, 2),
               "requests_per_s": round(n / seconds, 2),
               "payments_per_s": round(payments / seconds, 2),
               "error_pct": round(100 * failures / n, 4) if n else 0.0,
               "p50_ms": _ms(_percentile(merged, 0.5)), "p95_ms": _ms(_percentile(merged, 0.95)),
               "p99_ms": _ms(_percentile(merged, 0.99)),
               "offered": offered, "missed": round(missed, 1),
               "held": verdicts[step]["held"] if step in verdicts else None}
        for group in CPU_GROUPS:
            row[f"cpu_{group.replace(' ', '_')}_cores"] = (
                round(used[group] / wall, 3) if group in used else None)
        steps.append(row)
        for name, e in sorted(names.items()):
            requests.append({
                "step": step, "request": name, "requests": e["n"], "failures": e["failures"],
                "requests_per_s": round(e["n"] / seconds, 2),
                "payments_per_s": round(e.get("payments", 0) / seconds, 2),
                "p50_ms": _ms(_percentile(e["h"], 0.5)), "p95_ms": _ms(_percentile(e["h"], 0.95)),
                "p99_ms": _ms(_percentile(e["h"], 0.99)),
                "max_ms": _ms(max((0.01 * 1.02 ** (int(k) + 0.5) for k in e["h"]), default=None)),
                "errors": "; ".join(f"{t} ({c})" for t, c in sorted(e["errors"].items())[:3])})
    return steps, requests


def served_workers(rate: float, mix: dict[str, float], shape: dict[str, Any]) -> int | None:
    """Workers of the shaped population whose busiest hour a total `rate` split by `mix`
    carries: N x min over kinds of (rate x share / the peak's rate of that kind). Payments
    sent as batches count as the voluntary payments they are."""
    mix = payment_shares(mix)
    peak = shape.get("peak", {})
    total = float(peak.get("total", 0))
    ratios = [rate * share / (total * float(peak["mix"][k]))
              for k, share in mix.items() if float(peak.get("mix", {}).get(k, 0)) > 0]
    if not ratios or total <= 0:
        return None
    return int(float(shape["population"]["workers"]) * min(ratios))


def payment_shares(mix: dict[str, float]) -> dict[str, float]:
    """The mix with batched payments counted as voluntary payments."""
    out = {k: v for k, v in mix.items() if k != BATCH_KIND}
    if BATCH_KIND in mix:
        out["voluntary_payment"] = out.get("voluntary_payment", 0.0) + mix[BATCH_KIND]
    return out


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        path.write_text("")
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_report(out: Path, options: Any, command: str, prepared: Prepared | None,
                 shape: dict[str, Any], mix: dict[str, float], followed: Any,
                 audited: Audit | None, broken: str | None, started: float,
                 kept_db: str | None) -> tuple[dict[str, Any], Path]:
    latency_path = out / "latency.json"
    latency = json.loads(latency_path.read_text()) if latency_path.exists() else {}
    steps, requests = step_table(latency, followed.events, followed.cpu)
    mode = "month" if options.month_minutes is not None else "steps"
    held = [r for r in steps if r["held"]]
    best = max(held, key=lambda r: r["target_actions_per_s"]) if held else None
    capacity: dict[str, Any] = {"step": None}
    if best is not None:
        capacity = {"step": best["step"], "actions_per_s": best["target_actions_per_s"],
                    "requests_per_s": best["requests_per_s"],
                    "payments_per_s": best["payments_per_s"], "p99_ms": best["p99_ms"],
                    "workers_served": served_workers(best["target_actions_per_s"], mix, shape)}
    summary = {
        "mode": mode, "command": command, "started": time.strftime(
            "%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
        "wall_s": round(time.time() - started, 1),
        "machine": {"cpus": _cpus(), "python": platform.python_version(),
                    "load_average_at_end": _loadavg()},
        "options": {"api_processes": options.api_processes,
                    "locust_workers": options.locust_workers,
                    "step_seconds": options.step_seconds, "rates": options.steps_in_bound,
                    "p99_ms": options.p99_ms, "error_pct": options.error_pct,
                    "time_bound_s": options.time_bound_s, "month_minutes": options.month_minutes,
                    "month_workers": options.month_workers,
                    **({"batch": {"size": options.batch_size,
                                  "window_ms": options.batch_window_ms,
                                  "resend_share": options.batch_resend_share}}
                       if BATCH_KIND in mix else {})},
        "population": None if prepared is None else {
            "workers": prepared.workers, "month": prepared.month, "readers": prepared.readers,
            "uploads": prepared.uploads, "upload_rows": prepared.upload_rows,
            "exits": prepared.exits, "prepare_s": round(prepared.seconds, 1)},
        "shape_peak": shape.get("peak"), "mix": mix,
        "capacity": capacity, "steps": steps,
        "audit": audited.to_dict() if audited is not None else None,
        "broken": broken, "database_kept": kept_db,
    }
    _write_csv(out / "steps.csv", steps)
    _write_csv(out / "requests.csv", requests)
    report = out / "report.html"
    report.write_text(_html(summary, requests))
    return summary, report


def _cpus() -> int | None:
    import os

    return os.cpu_count()


def _loadavg() -> list[float] | None:
    import os

    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(r.get(c)))}</td>" for c in columns)
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _charts(steps: list[dict[str, Any]], target_ms: float) -> list[str]:
    if not steps:
        return []
    first, last = f"step {steps[0]['step']}", f"step {steps[-1]['step']}"
    charts = [
        lines([("actions asked (target)", [float(r["target_actions_per_s"]) for r in steps]),
               ("actions sent", [float(r["actions_per_s"]) for r in steps]),
               ("requests answered", [float(r["requests_per_s"]) for r in steps]),
               ("payments booked", [float(r.get("payments_per_s") or 0) for r in steps])],
              first, last, "Throughput per step (an action may be several requests)", "/s"),
        lines([("p50", [float(r["p50_ms"] or 0) for r in steps]),
               ("p95", [float(r["p95_ms"] or 0) for r in steps]),
               ("p99", [float(r["p99_ms"] or 0) for r in steps]),
               ("target", [target_ms for _ in steps])],
              first, last, "Latency per step (all request types)", "ms"),
    ]
    groups = [g.replace(" ", "_") for g in CPU_GROUPS]
    if any(r.get(f"cpu_{g}_cores") is not None for r in steps for g in groups):
        charts.append(stacked_bars(
            [(f"step {r['step']}", [100 * float(r.get(f"cpu_{g}_cores") or 0) for g in groups])
             for r in steps], list(CPU_GROUPS), "CPU per step, % of one core"))
    return charts


STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
         "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
         "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
         ".bad{color:#b00020}.good{color:#1b7e3b}code{background:#f3f3f3;padding:1px 3px}")


def _html(summary: dict[str, Any], requests: list[dict[str, Any]]) -> str:
    s = summary
    cap = s["capacity"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>clmtv capacity report"
             f"</title><style>{STYLE}</style></head><body>",
             "<h1>clmtv capacity report</h1>",
             f"<p><code>{escape(s['command'])}</code><br>started {escape(s['started'])}, "
             f"{s['wall_s']} s; {s['machine']['cpus']} CPUs, load average at the end "
             f"{escape(str(s['machine']['load_average_at_end']))}</p>"]
    if s["broken"]:
        parts.append(f"<p class='bad'><b>The run broke:</b> {escape(s['broken'])}</p>")
    if s["mode"] == "steps":
        if cap["step"] is None:
            parts.append("<p class='bad'><b>No step held the target.</b></p>")
        else:
            served = cap["workers_served"]
            parts.append(
                f"<p class='good'><b>Highest step that held</b> (p99 ≤ {s['options']['p99_ms']}"
                f" ms, errors &lt; {s['options']['error_pct']}%): step {cap['step']}, "
                f"{cap['actions_per_s']:,} actions/s ({cap['requests_per_s']:,} requests/s, "
                f"{cap.get('payments_per_s') or 0:,} payments booked/s), "
                f"p99 {cap['p99_ms']} ms. "
                + (f"That is the busiest hour of <b>{served:,} workers</b> of the shaped "
                   "population." if served is not None else "") + "</p>")
    pop = s["population"]
    if pop:
        parts.append(f"<p>Population: {pop['workers']:,} simulated workers registered in bulk "
                     f"({pop['prepare_s']} s), month {escape(pop['month'])}; "
                     f"{pop['readers']:,} statement readers, {pop['uploads']:,} uploads "
                     f"({pop['upload_rows']:,} rows), {pop['exits']:,} exits to message.</p>")
    mix = ", ".join(f"{k} {v:.1%}" for k, v in s["mix"].items())
    parts.append(f"<p>Mix of each step: {escape(mix)}; in each step a settlement window closes"
                 " and each channel sends a day file. The workers-served figure counts only the "
                 "kinds sent.</p>")
    batch = s["options"].get("batch")
    if batch:
        parts.append(f"<p>{BATCH_KIND}: each action is one payment (a worker's tap); each "
                     f"channel's server gathers taps for {batch['window_ms']:g} ms or "
                     f"{batch['size']} payments and sends them as one batch request; "
                     f"{batch['resend_share']:.0%} of batches are sent again whole. "
                     "<code>payments_per_s</code> counts the payments booked, "
                     "<code>requests_per_s</code> the batch requests.</p>")
    parts += _charts(s["steps"], float(s["options"]["p99_ms"]))
    parts.append("<h2>Steps</h2>")
    parts.append(_table(s["steps"], list(s["steps"][0]) if s["steps"] else []))
    parts.append("<h2>Per request type</h2>")
    parts.append(_table(requests, list(requests[0]) if requests else []))
    parts.append("<h2>Audit</h2>")
    audit = s["audit"]
    if audit is None:
        parts.append("<p class='bad'>Not audited (the run broke before the audit).</p>")
    else:
        rows = [{"check": c["name"], "checked": c["checked"],
                 "result": "pending" if c.get("pending") else ("ok" if c["ok"] else "FAILED"),
                 "detail": c.get("pending") or "; ".join(c["problems"])}
                for c in audit["checks"]]
        parts.append(_table(rows, ["check", "checked", "result", "detail"]))
    parts.append("<p>CSV: <code>steps.csv</code>, <code>requests.csv</code>; everything: "
                 "<code>summary.json</code>.</p></body></html>")
    return "".join(parts)
