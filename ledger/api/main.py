"""`ledger.api.main:app` for ASGI servers started with an import string (uvicorn --workers N)."""

from __future__ import annotations

from ledger.api.app import create_app
from ledger.config import get_settings

app = create_app(get_settings())
