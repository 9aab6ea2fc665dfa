"""Myanmar SSB monthly declaration: the CLMTV declaration CSV plus `registered_at_60_or_over` (no
SSB e-filing format was found; the layout is ours, documented in docs/formats.md)."""

from __future__ import annotations

from ledger.adapters.csv_declaration import MM_SSB, LayoutCodec

CODEC = LayoutCodec(MM_SSB, "clmtv-declaration-csv")
