"""Process-wide runtime settings for the long-running and batch commands: the garbage collector.

Owns one decision (ADR 0025). CPython's cyclic collector runs a young-generation pass every 700
net allocations of container objects, and promotes survivors into generations that are scanned
again and again. A batch of 1,000 signed acknowledgements allocates millions of short-lived
tuples, dicts and dataclasses, and a server holds large long-lived structures (the account-id
cache, the adapters' parameters, keys): measured on the issue-4 benchmark, collection took
~55 µs of the ~225 µs of Python each message cost. Our objects are freed by reference counting;
the cyclic collector only has to find the rare cycle, so it can run far less often.

`tune_gc` is called once at a process's entry (`clmtv` commands, the ASGI module uvicorn
workers import), never by library code or tests: it changes the whole interpreter.
"""

from __future__ import annotations

import gc

GC_GEN0_THRESHOLD = 100_000  # allocations between young-generation passes (CPython: 700)


def tune_gc() -> None:
    """Collect less often, and never rescan what start-up built (`gc.freeze`: modules,
    settings, adapters, the app — alive for the life of the process)."""
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GC_GEN0_THRESHOLD), gen1, gen2)
    gc.freeze()
