"""`python -m ledger.cli`: the same front door as the `clmtv` console script."""

import sys

from ledger.cli import run

sys.exit(run())
