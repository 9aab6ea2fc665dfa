"""Measuring whether work keeps the event loop free: a 5 ms ticker runs beside it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def with_tick_gaps(work: Awaitable[T]) -> tuple[T, list[float]]:
    """`work`'s result, and the gaps between the ticks of a task that asks to wake every 5 ms
    while it runs: work done on the event loop shows as one long gap."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        done.set()
        await task
    return result, gaps
