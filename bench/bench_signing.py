"""How many settlement messages we sign and verify per second (~1 KB body).

Run: .venv/bin/python bench/bench_signing.py [--n 20000] [--processes 2]

`verify_message` is the whole check an inbox runs per message: base64url, header policy, key
lookup and window, Ed25519 signature, strict JSON parse, RFC 8785 canonical-form check, claims.
Later the hub must verify-and-apply >= 5,000 messages/s in a batch, so verify alone must be well
above that. Single-core numbers first; `--processes` shows verification spread over cores (each
worker loads the published JWKS, as an API worker would).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from multiprocessing import Pool
from typing import Any

from ledger.settlement.canonical import canonicalize
from ledger.settlement.keys import HUB, Party, SigningKey, TrustRegistry, Validity
from ledger.settlement.messages import MessageType, sign_message, verify_message

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
FUND = Party("TH-SSO")

_worker_registry = TrustRegistry()


def body_1kb() -> dict[str, object]:
    """A transfer request shaped like the real one, about 1 KB of canonical JSON."""
    periods = [
        {"month": f"2025-{m:02d}", "scheme": "old-age", "kind": "compulsory",
         "amount_minor": str(75_000 + m), "currency": "THB"}
        for m in range(1, 10)
    ]
    return {
        "transfer_id": "tr_01JH8Z6M3V4Q9K2R7T5W0X1Y2Z",
        "worker_id": "wkr_5f3a9c1e7b2d4f60",
        "from_fund": "TH-SSO",
        "to_fund": "KH-NSSF",
        "amount": {"amount_minor": "675045", "currency": "THB"},
        "periods": periods,
    }


def _init_worker(jwks: dict[str, Any]) -> None:
    _worker_registry.load_jwks(FUND, jwks)


def _verify_chunk(tokens: list[str]) -> int:
    for token in tokens:
        verify_message(token, _worker_registry, HUB, NOW)
    return len(tokens)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=0, help="also verify on N processes")
    args = parser.parse_args()
    n: int = args.n

    key = SigningKey.generate(FUND, validity=Validity(NOW - 86_400, NOW + 86_400 * 90))
    registry = TrustRegistry([key.trusted()])
    for i in range(20):  # a realistic registry: other funds' keys are there too
        registry.add(SigningKey.generate(Party(f"F{i}")).trusted())
    body = body_1kb()

    start = time.perf_counter()
    tokens = [
        sign_message(key, aud=HUB, typ=MessageType.TRANSFER_REQUEST, seq=i + 1, body=body,
                     iat=NOW, jti=f"m{i}")
        for i in range(n)
    ]
    sign_s = time.perf_counter() - start

    start = time.perf_counter()
    for token in tokens:
        verify_message(token, registry, HUB, NOW)
    verify_s = time.perf_counter() - start

    print(f"python {platform.python_version()} on {platform.machine()}, n={n}")
    print(f"body {len(canonicalize(body))} B canonical, token {len(tokens[0])} chars")
    print(f"sign   {n / sign_s:10,.0f} messages/s  ({sign_s / n * 1e6:6.1f} us each, one core)")
    print(f"verify {n / verify_s:10,.0f} messages/s  ({verify_s / n * 1e6:6.1f} us each, one core)")

    if args.processes:
        procs: int = args.processes
        chunks = [tokens[i::procs * 4] for i in range(procs * 4)]
        with Pool(procs, _init_worker, ({"keys": [key.public_jwk()]},)) as pool:
            pool.map(_verify_chunk, [tokens[:100]] * procs)  # warm up workers
            start = time.perf_counter()
            done = sum(pool.map(_verify_chunk, chunks))
            elapsed = time.perf_counter() - start
        print(f"verify {done / elapsed:10,.0f} messages/s  on {procs} processes "
              f"({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
