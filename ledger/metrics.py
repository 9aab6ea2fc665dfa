"""The service's Prometheus metrics: what they are, and the text a scrape of `/metrics` gets.

Owns every metric the hub exports (docs/operations.md lists them with their labels):

- `clmtv_http_requests_total{method,route,status}` and
  `clmtv_http_request_duration_seconds{method,route}`: by route *template*
  (`/v1/workers/{worker_id}/statement`), never the raw path, so a worker id never becomes a
  label and the series stay few;
- `clmtv_postings_total` (units, all-or-nothing groups of transfers, in the transactions the
  group committer committed; each unit's outcome is in its request's status) and
  `clmtv_group_commit_batch_units` (units per group-commit transaction);
- `clmtv_import_rows_total{fund,outcome}` (booked; rejected; not_booked: good rows of a file
  refused whole);
- `clmtv_inbox_messages_total{outcome}` (processed, failed, held, duplicate, refused);
- `clmtv_reads_total{source,reason}`: reads routed to the hot standby or the primary, and why
  (ADR 0058; only when a standby is configured);
- `clmtv_settlement_windows_total{state}` (windows reaching closed, settled, aborted: each
  counted by the process that moved it).

The posting path pays one `inc` and one `observe` per group-commit transaction, never per unit
or transfer (ADR 0046).

Several server processes (`clmtv serve --workers N`) each count on their own; with
`PROMETHEUS_MULTIPROC_DIR` set before this module is imported (serve does it), prometheus-client
writes each process's values to files there and a scrape sums them all, whichever process
answers.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

HTTP_REQUESTS = Counter("clmtv_http_requests", "HTTP requests answered",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("clmtv_http_request_duration_seconds",
                         "Time from the request's arrival to the end of its answer",
                         ["method", "route"], buckets=LATENCY_BUCKETS_S)
POSTED_UNITS = Counter("clmtv_postings", "Units (all-or-nothing groups of transfers) in the "
                       "transactions the group committer committed")
BATCH_UNITS = Histogram("clmtv_group_commit_batch_units",
                        "Units in one group-commit transaction", buckets=BATCH_BUCKETS)
IMPORT_ROWS = Counter("clmtv_import_rows", "Rows of declaration files, by outcome",
                      ["fund", "outcome"])
INBOX_MESSAGES = Counter("clmtv_inbox_messages", "Signed messages received, by outcome",
                         ["outcome"])
READS = Counter("clmtv_reads", "Reads routed between the primary and the hot standby, by the "
                "database that served them and why", ["source", "reason"])
SETTLEMENT_WINDOWS = Counter("clmtv_settlement_windows",
                             "Settlement windows reaching a state", ["state"])


def scrape() -> bytes:
    """The text exposition of every metric: this process's, or every process's in
    multi-process mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
