"""Schemathesis against the OpenAPI document (issue 16 item 5): the server, seeded with the demo
and served by uvicorn on a database of the test's own, is called with cases generated from its
own document, as several principals, with every check on (no server error, every status,
header, content type and body as documented, schema-violating requests refused, a token
required where the document says so).

The suite's run is small and repeatable: a fixed seed, 2 examples per operation, the examples,
fuzzing and stateful phases, as the operator, a fund and a caller without a token, side by side.
`SCHEMATHESIS_LONG=1` is the longer run: every phase (the coverage phase adds each parameter's
boundary values), five principals (the worker and a payment channel too) and
`SCHEMATHESIS_EXAMPLES` examples (default 20); docs/security.md has its figures. Cases run are
printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from ledger.api.app import create_app
from ledger.app.demo import seed
from ledger.composition import build_services
from ledger.config import Settings
from ledger.demo_data import DEMO_TOKENS
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey
from tests.fresh_db import fresh_database

pytestmark = pytest.mark.anyio
SEED = 16
LONG = os.environ.get("SCHEMATHESIS_LONG") == "1"
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20" if LONG else "2"))
PHASES = "examples,coverage,fuzzing,stateful" if LONG else "examples,fuzzing,stateful"
# The hub's operator, a fund, the worker, a payment channel, and no token at all.
PRINCIPALS = ("operator", "th-sso", "worker", "channel", None) if LONG else (
    "operator", "th-sso", None)
RUN_TIMEOUT_S = 6 * 3600 if LONG else 900
SCHEMATHESIS = shutil.which("st", path=str(Path(sys.executable).parent))
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
async def demo_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(tmp_path) as db:
        settings = Settings(database_url=db.url, rate_limit_per_s=0)
        services = build_services(settings, db=db, signer=HubSigner(SigningKey.generate(HUB)))
        services.committer.start()
        await seed(services, say=lambda _: None)
        app = create_app(settings, services)
        app.state.services = services
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task
            sock.close()
            await services.committer.stop()


async def _run(url: str, who: str | None, report: Path) -> tuple[int, str]:
    assert SCHEMATHESIS is not None, "schemathesis is a dev dependency: python3 dev.py test"
    command = [SCHEMATHESIS, "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
               "--checks", "all",
               "--seed", str(SEED), "--max-examples", str(EXAMPLES), "--phases", PHASES,
               "--no-color",
               "--report", "junit", "--report-dir", str(report)]
    if who is not None:
        command += ["--header", f"Authorization: Bearer {DEMO_TOKENS[who]}"]
    await asyncio.to_thread(report.mkdir, parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(  # in its own folder: st keeps files there
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=report)
    out, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    return int(process.returncode or 0), out.decode(errors="replace")


async def test_the_server_answers_as_its_document_says_to_every_principal(
    demo_url: str, tmp_path: Path
) -> None:
    runs = await asyncio.gather(*(_run(demo_url, who, tmp_path / f"report-{who}")
                                  for who in PRINCIPALS))
    failed = {}
    cases = 0
    for who, (code, out) in zip(PRINCIPALS, runs, strict=True):
        found = re.search(r"(\d+) generated, (\d+) passed", out)
        cases += int(found.group(1)) if found else 0
        print(f"schemathesis as {who or 'no token'}: exit {code}; "
              f"{found.group(0) if found else 'no summary'}")
        if code != 0 or found is None:
            failed[who or "no token"] = out[-6000:]
    print(f"schemathesis: {cases} cases in all")
    assert failed == {}, "\n\n".join(f"== as {k}\n{v}" for k, v in failed.items())
    assert cases > 100 * len(PRINCIPALS)  # the runs reached the operations
