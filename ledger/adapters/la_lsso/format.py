"""Lao LSSO monthly declaration: the CLMTV declaration CSV (no LSSO e-filing format is in
funds.md §1.6; the layout is ours, documented in docs/formats.md)."""

from __future__ import annotations

from ledger.adapters.csv_declaration import Layout, LayoutCodec
from ledger.domain.money import Currency

CODEC = LayoutCodec(Layout("LA-LSSO", Currency.LAK), "clmtv-declaration-csv")
