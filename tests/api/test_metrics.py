"""`/metrics` after a few requests: the counters move (issue 17 item 6). Who may scrape, the
request id every answer carries, and the JSON log line that names the principal and never an
identity number."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledger.api.observability import JsonFormatter
from ledger.domain.periods import Month
from tests.api.conftest import Api
from tests.api.helpers import member_number, new_worker, thai_contribution
from tests.db.test_imports import JAN_2026, thai_file

pytestmark = pytest.mark.anyio


async def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await api.http.get("/metrics", headers=api.auth("auditor"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_counters_move_after_a_few_requests(api: Api, uid: str) -> None:
    before = await scrape(api)
    for _ in range(3):
        assert (await api.http.get("/v1/funds/TH-SSO")).status_code == 200
    worker = await new_worker(api, uid)
    posted = await api.http.post("/v1/contributions", json=thai_contribution(worker),
                                 headers={**api.auth("operator"), "Idempotency-Key": f"m-{uid}"})
    assert posted.status_code == 201, posted.text
    assert (await api.http.get(f"/v1/workers/{worker}x")).status_code in (401, 404)
    # A declaration file: one row booked; then a file refused whole for one bad row.
    number = member_number("TH-SSO", uid)
    booked = await api.http.post("/v1/funds/TH-SSO/declarations", headers=api.auth("th"),
                                 files={"file": ("sso.txt", thai_file(JAN_2026,
                                                                      [(number, 1_500_000)]))})
    assert booked.status_code == 201, booked.text
    bad = thai_file(Month(2026, 2), [(number, 1_500_000)], employee={0: 1})
    refused = await api.http.post("/v1/funds/TH-SSO/declarations", headers=api.auth("th"),
                                  files={"file": ("sso.txt", bad)})
    assert refused.status_code == 422
    after = await scrape(api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # By route template: the fund code is not a label, so the three calls are one series.
    route = {"method": "GET", "route": "/v1/funds/{fund}"}
    assert moved("clmtv_http_requests_total", **route, status="200") == 3
    assert moved("clmtv_http_request_duration_seconds_count", **route) == 3
    assert moved("clmtv_http_request_duration_seconds_sum", **route) > 0
    assert moved("clmtv_http_requests_total", method="POST", route="/v1/contributions",
                 status="201") == 1
    # The contribution is one unit in one group-commit transaction (at least: the worker's
    # registration posts nothing, other tests' units may share the process's counters).
    assert moved("clmtv_postings_total", outcome="created") >= 1
    assert moved("clmtv_group_commit_batch_units_count") >= 1
    assert moved("clmtv_import_rows_total", fund="TH-SSO", outcome="booked") == 1
    assert moved("clmtv_import_rows_total", fund="TH-SSO", outcome="rejected") == 1
    # No worker id ever becomes a label.
    assert not any(worker in str(labels) for _, labels in after)


async def test_only_the_hubs_operator_and_auditor_scrape(api: Api) -> None:
    assert (await api.http.get("/metrics")).status_code == 401
    assert (await api.http.get("/metrics", headers=api.auth("th"))).status_code == 403
    assert (await api.http.get("/metrics", headers=api.auth("operator"))).status_code == 200


async def test_every_answer_carries_a_request_id(api: Api) -> None:
    mine = await api.http.get("/v1/health", headers={"X-Request-ID": "req-abc.123"})
    assert mine.headers["x-request-id"] == "req-abc.123"
    for unfit in ("not ok <script>", "x" * 65, "line\tbreak"):
        made = await api.http.get("/v1/health", headers={"X-Request-ID": unfit})
        fresh = made.headers["x-request-id"]
        assert fresh != unfit and len(fresh) == 32 and int(fresh, 16) >= 0  # a new uuid4 hex
    missing = await api.http.get("/nowhere")
    assert missing.status_code == 404 and len(missing.headers["x-request-id"]) == 32


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_the_access_log_is_json_with_request_id_and_principal_never_a_number(
    api: Api, uid: str
) -> None:
    handler = _Lines()
    access = logging.getLogger("clmtv.access")
    level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        worker = await new_worker(api, uid)
        number = member_number("TH-SSO", uid)
        found = await api.http.post("/v1/funds/TH-SSO/members/search",
                                    json={"member_number": number},
                                    headers={**api.auth("th"), "X-Request-ID": f"r-{uid}"})
        assert found.status_code == 200, found.text
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    records = [json.loads(line) for line in handler.lines]
    search = next(r for r in records if r.get("request_id") == f"r-{uid}")
    assert search["route"] == "/v1/funds/{fund}/members/search"
    assert search["method"] == "POST" and search["status"] == 200
    assert search["principal"] == f"th-{uid}"  # the client's name, not its token
    assert search["level"] == "info" and search["duration_ms"] >= 0
    text = "\n".join(handler.lines)
    assert number not in text and worker not in text and api.tokens["th"] not in text
