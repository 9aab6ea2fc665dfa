"""Names the demo seeds, so that API examples and the demo agree ("Try it out" works on them).

Every value here is fictitious. Tokens are printed by `clmtv demo` and only ever seeded by it.
"""

from __future__ import annotations

DEMO_WORKER = "wkr_demo0001"  # a Cambodian worker: Thailand, then Japan, then home
# A migrant's 0-prefixed Thai number (valid check digit). Not 1101700234568: that is the Thai
# sample file's Thai national, whose month would otherwise land in the demo worker's story.
DEMO_WORKER_TH_ID = "0007654321015"
DEMO_WORKER_JP_NUMBER = "1234-567890"
DEMO_WORKER_KH_NUMBER = "NSSF-000123"
DEMO_SECOND_WORKER = "wkr_demo0002"  # a Myanmar worker in Thailand
DEMO_SECOND_TH_ID = "0001234567890"

DEMO_TOKENS = {
    "operator": "demo-operator-token",  # hub operator: sees and does everything
    "auditor": "demo-auditor-token",  # reads everything, writes nothing
    "th-sso": "demo-th-sso-token",  # the Thai fund: its own members only
    "jp-jps": "demo-jp-jps-token",
    "kh-nssf": "demo-kh-nssf-token",
    "worker": "demo-worker-token",  # DEMO_WORKER themself
}

EXAMPLE_MONTH = "2026-10"  # not seeded, so the first "Try it out" creates it (201)
