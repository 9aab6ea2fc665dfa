#!/usr/bin/env bash
# Renders the demo's /docs and /redoc with Debian's chromium inside a new network namespace that
# has only loopback: what a fund on a closed network sees (docs/screenshots/, ADR 0041).
# Needs root (unshare --net) and `apt-get install -y chromium fonts-noto-core`.
#   sudo bash tools/screenshot_docs_offline.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--inside" ]; then exec unshare --net bash "$0" --inside; fi
ip link set lo up
tmp=$(mktemp -d)
trap 'kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
python3 dev.py bootstrap
CLMTV_DATABASE_URL="sqlite+aiosqlite:///$tmp/demo.db" .venv/bin/clmtv demo --port 8765 \
  --no-access-log >"$tmp/demo.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
  .venv/bin/python -c "import httpx; httpx.get('http://127.0.0.1:8765/v1/health')" 2>/dev/null \
    && break
  sleep 1
done
for page in docs redoc; do
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --virtual-time-budget=15000 \
    --window-size=1280,1600 --screenshot="docs/screenshots/$page-offline.png" \
    "http://127.0.0.1:8765/$page" 2>>"$tmp/chromium.log"
done
