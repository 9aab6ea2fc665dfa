#!/usr/bin/env bash
# Renders the simulator's report with Debian's chromium inside a new network namespace that has
# only loopback (nothing can be fetched: the report must stand alone), into docs/screenshots/:
# the top of the report (policies, headline, why it moves), its charts, and its calibration
# section (the same HTML with everything else hidden). Needs root (unshare --net) and
# `apt-get install -y chromium fonts-noto-core fonts-noto-cjk`.
#   sudo bash tools/screenshot_report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--inside" ]; then
  python3 dev.py bootstrap  # may install the lock: before the network goes
  exec unshare --net bash "$0" --inside
fi
ip link set lo up
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/clmtv simulate default --policy no-agreement --policy clmtv-pilot \
  --policy bilateral-refund-assistance --workers 20000 --years 30 --seed 1 \
  --out "$tmp/simulation" --no-progress >/dev/null
shot() {  # shot NAME HEIGHT FILE
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --disable-background-networking --window-size="1100,$2" \
    --screenshot="docs/screenshots/$1.png" "file://$3" 2>>"$tmp/chromium.log"
}
shot simulator-report 2600 "$tmp/simulation/report.html"
# The charts: the same page from "What became of the money" to "Over time".
sed 's|</style>|body>:not(h1):not(.charts){display:none}</style>|; s|<h2>What became|<div class="charts"><h2>What became|; s|<h2>Over time|</div><h2>Over time|' \
  "$tmp/simulation/report.html" >"$tmp/charts.html"
shot simulator-report-charts 4200 "$tmp/charts.html"
sed 's|</style>|body>:not(#calibration){display:none}</style>|' \
  "$tmp/simulation/report.html" >"$tmp/calibration.html"
shot simulator-report-calibration 3000 "$tmp/calibration.html"
ls -l docs/screenshots/simulator-report*.png
