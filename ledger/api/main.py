"""`ledger.api.main:app` for ASGI servers started with an import string (uvicorn --workers N)."""

from __future__ import annotations

from ledger.api.app import create_app
from ledger.config import get_settings
from ledger.runtime import tune_gc

tune_gc()  # a worker process starts here (ADR 0025)
app = create_app(get_settings())
