"""Writes docs/calibration.md from simulator/calibration/targets.yaml and the fitted values
(`simulator.calibration.present.markdown`). `python3 dev.py calibration-docs` rewrites the page;
tests/simulator/test_calibration.py fails when it is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from simulator.calibration.present import calibrated, markdown

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "calibration.md"


def render() -> str:
    c = calibrated()
    if c is None:
        raise SystemExit("no fitted values: run python3 dev.py clmtv calibrate baseline-2012")
    return markdown(c)


def main() -> int:
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
