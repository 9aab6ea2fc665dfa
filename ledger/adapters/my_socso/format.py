"""Malaysia SOCSO monthly declaration: the CLMTV declaration CSV (SOCSO's ASSIST upload format is
not public; the layout is ours, documented in docs/formats.md)."""

from __future__ import annotations

from ledger.adapters.csv_declaration import Layout, LayoutCodec
from ledger.domain.money import Currency

CODEC = LayoutCodec(Layout("MY-SOCSO", Currency.MYR), "clmtv-declaration-csv")
