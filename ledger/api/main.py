"""`ledger.api.main:app` for ASGI servers started with an import string (uvicorn --workers N)."""

from __future__ import annotations

import sys

from ledger.api.app import create_app
from ledger.config import ConfigurationError, get_settings
from ledger.runtime import tune_gc

tune_gc()  # a worker process starts here (ADR 0025)
try:
    app = create_app(get_settings())
except ConfigurationError as refused:
    for problem in refused.problems:
        print(f"clmtv: refusing to serve: {problem}", file=sys.stderr)
    raise SystemExit(2) from None
