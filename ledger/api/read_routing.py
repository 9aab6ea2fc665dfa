"""Read routing at the HTTP edge (ADR 0058): which requests read from the hot standby, and the
write marks that keep read-your-writes.

- `routed(...)`: a read route runs its service calls through the service graph's `ReadRouter`
  with the reader's keys (the principal, and the worker the read is about) and the answer says
  which database served it in `X-Clmtv-Read-From` (`standby` or `primary`; absent without a
  standby);
- `ReadYourWrites` (pure ASGI, inside `RequestObserver`): when a request that may write (any
  method but GET, HEAD, OPTIONS) is answered below 400, it asks the primary for its WAL position
  before the answer leaves and remembers it under the principal and each worker the request
  named (its `worker_id` path parameter, and those a route noted with `wrote_for_worker`). The
  position is read after the route has returned, so after its commit. Only with
  `own-writes`: under `all-writes` every routed read asks the primary's position itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.observability import current
from ledger.composition import Services
from ledger.domain.principals import Principal
from ledger.services.read_routing import ReadGraph, principal_key, worker_key

T = TypeVar("T")
READ_FROM_HEADER = b"x-clmtv-read-from"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def read_keys(principal: Principal | None, worker_id: str | None = None) -> list[str]:
    keys = [] if principal is None else [principal_key(principal.name)]
    return keys if worker_id is None else [*keys, worker_key(worker_id)]


async def routed(svc: Services, principal: Principal | None, worker_id: str | None,
                 run: Callable[[ReadGraph], Awaitable[T]]) -> T:
    """`run` on the primary or the standby, as the router decides for this reader."""
    found, source = await svc.reads.read(read_keys(principal, worker_id), run)
    context = current()
    if context is not None and svc.reads.enabled:
        context.read_from = source
    return found


def wrote_for_worker(*worker_ids: str) -> None:
    """A route whose body names the workers it wrote for (a contribution, a payment): their
    next reads must see it."""
    context = current()
    if context is not None:
        context.wrote_for.extend(worker_ids)


class ReadYourWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        writes = scope["method"] not in _SAFE_METHODS

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                context = current()
                services = getattr(scope["app"].state, "services", None)
                reads = services.reads if services is not None else None
                if writes and message["status"] < 400 and reads is not None \
                        and reads.marks_writes and context is not None:
                    await reads.note_write(_written_keys(scope, context.principal,
                                                         context.wrote_for))
                if context is not None and context.read_from is not None:
                    message["headers"] = [*message.get("headers", []),
                                          (READ_FROM_HEADER, context.read_from.encode())]
            await send(message)

        await self.app(scope, receive, marked)


def _written_keys(scope: Scope, principal: str | None, workers: list[str]) -> list[str]:
    keys = [] if principal is None else [principal_key(principal)]
    in_path = scope.get("path_params", {}).get("worker_id")
    named = [*workers, in_path] if isinstance(in_path, str) else workers
    return [*keys, *(worker_key(w) for w in named)]
