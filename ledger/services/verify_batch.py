"""Verifying a batch of signed messages off the event loop, on every core.

Owns how the inbox spreads `verify_message` over worker threads. An Ed25519 verification is
~90 µs of CPU on this project's reference machine, most of a batch's Python time; the
`cryptography` package releases the GIL while it checks a signature, so slices of a batch
verified in threads run on several cores at once, and the event loop keeps serving other
requests meanwhile (a batch of 1,000 would otherwise hold it for ~0.1 s).

Results are identical to verifying in a loop: each token's outcome is its VerifiedMessage or
the MessageRejected `verify_message` raised, in the tokens' order. The registry is only read.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ledger.limits import VERIFY_INLINE_MAX, VERIFY_THREADS_MAX
from ledger.settlement.keys import TrustRegistry
from ledger.settlement.messages import MessageRejected, VerifiedMessage, verify_message

Verdict = VerifiedMessage | MessageRejected

_pool: ThreadPoolExecutor | None = None


def _threads() -> int:
    return max(1, min(VERIFY_THREADS_MAX, os.cpu_count() or 1))


def _executor() -> ThreadPoolExecutor:
    # One pool per process, made on first use: threads are cheap to keep and costly to start.
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="clmtv-verify")
    return _pool


def verify_slice(tokens: Sequence[str], registry: TrustRegistry, audience: str,
                 now: int, lifetime_max_s: int | None = None) -> list[Verdict]:
    """Each token's verdict, in order (plain CPU work: callable from any thread)."""
    out: list[Verdict] = []
    for token in tokens:
        try:
            out.append(verify_message(token, registry, audience, now,
                                      lifetime_max_s=lifetime_max_s))
        except MessageRejected as exc:
            out.append(exc)
    return out


async def verify_all(tokens: Sequence[str], registry: TrustRegistry, audience: str,
                     now: int, lifetime_max_s: int | None = None) -> list[Verdict]:
    """Every token's verdict, in order. A small batch is verified inline (a thread hop costs
    more than it saves); a larger one in one slice per thread."""
    if len(tokens) <= VERIFY_INLINE_MAX:
        return verify_slice(tokens, registry, audience, now, lifetime_max_s)
    threads = _threads()
    size = -(-len(tokens) // threads)  # ceiling division: at most `threads` slices
    loop = asyncio.get_running_loop()
    slices = await asyncio.gather(*(
        loop.run_in_executor(_executor(), verify_slice, tokens[start:start + size], registry,
                             audience, now, lifetime_max_s)
        for start in range(0, len(tokens), size)))
    return [verdict for part in slices for verdict in part]
