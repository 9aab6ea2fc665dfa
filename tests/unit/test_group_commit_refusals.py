"""The group committer's one refusal: `submit_all` (a channel's batch of payments, ADR 0057)
takes no job with an idempotency claim, since it cannot answer a claim already in flight per
job as `submit` does; the refusal queues nothing and starts nothing."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.services.group_commit import GroupCommitter
from ledger.services.posting import IdempotencyClaim, Job

pytestmark = pytest.mark.anyio


async def test_submit_all_refuses_a_job_with_an_idempotency_claim() -> None:
    engine: Any = object()  # never reached: the refusal comes first
    committer = GroupCommitter(engine)
    claimed = Job([], claim=IdempotencyClaim("channel:x", "key-1", "hash"))
    with pytest.raises(ValueError, match="without idempotency claims"):
        await committer.submit_all([Job([]), claimed])
    assert committer._queue == [] and committer._task is None
