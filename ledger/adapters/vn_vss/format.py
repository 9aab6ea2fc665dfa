"""Vietnam VSS D02-style contribution list: the CLMTV declaration CSV plus the D02-TS columns
(docs/formats.md)."""

from __future__ import annotations

from ledger.adapters.csv_declaration import VN_VSS, LayoutCodec

CODEC = LayoutCodec(VN_VSS, "d02-csv")
