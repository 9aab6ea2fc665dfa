"""Concurrent lookups merged into one query: `ledger/services/coalesce.py` (issue 15)."""

from __future__ import annotations

import asyncio

import pytest

from ledger.services.coalesce import CoalescingLookup

pytestmark = pytest.mark.anyio


class _Store:
    """A fetch that records each query and holds it until released."""

    def __init__(self, existing: set[str]) -> None:
        self.existing = existing
        self.queries: list[list[str]] = []
        self.release = asyncio.Event()

    async def fetch(self, keys: list[str]) -> set[str]:
        self.queries.append(sorted(keys))
        await self.release.wait()
        return {k for k in keys if k in self.existing}


async def test_a_lone_caller_is_answered_by_its_own_query_at_once() -> None:
    store = _Store({"a"})
    store.release.set()
    lookup = CoalescingLookup(store.fetch)
    assert await lookup.find(["a", "b", "a"]) == {"a"}
    assert store.queries == [["a", "b"]]
    assert await lookup.find([]) == set() and lookup.fetches == 1


async def test_callers_arriving_while_a_query_runs_share_the_next_one() -> None:
    store = _Store({"a", "c", "d"})
    lookup = CoalescingLookup(store.fetch)
    first = asyncio.create_task(lookup.find(["a"]))
    await asyncio.sleep(0)  # the first query is running
    later = [asyncio.create_task(lookup.find(keys)) for keys in (["b", "c"], ["c"], ["d", "e"])]
    await asyncio.sleep(0)
    store.release.set()
    assert await first == {"a"}
    assert [await t for t in later] == [{"c"}, {"c"}, {"d"}]  # each its own keys only
    assert store.queries == [["a"], ["b", "c", "d", "e"]]


async def test_a_failed_query_reaches_its_callers_and_the_next_query_runs() -> None:
    calls = 0

    async def flaky(keys: list[str]) -> set[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database gone")
        return set(keys)

    lookup = CoalescingLookup(flaky)
    with pytest.raises(ConnectionError):
        await lookup.find(["a"])
    assert await lookup.find(["b"]) == {"b"}
