"""Cambodia NSSF monthly declaration: the CLMTV declaration CSV (NSSF's e-filing format is
not public; the layout is ours, documented in docs/formats.md)."""

from __future__ import annotations

from ledger.adapters.csv_declaration import KH_NSSF, LayoutCodec

CODEC = LayoutCodec(KH_NSSF, "clmtv-declaration-csv")
