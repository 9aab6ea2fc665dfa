"""Names the demo seeds, so that API examples and the demo agree ("Try it out" works on them).

Every value here is fictitious. Tokens are printed by `clmtv demo` and only ever seeded by it.
"""

from __future__ import annotations

from datetime import UTC, datetime

DEMO_WORKER = "wkr_demo0001"  # a Cambodian worker: Thailand, then Japan, then home
# A migrant's 0-prefixed Thai number (valid check digit). Not 1101700234568: that is the Thai
# sample file's Thai national, whose month would otherwise land in the demo worker's story.
DEMO_WORKER_TH_ID = "0007654321015"
DEMO_WORKER_JP_NUMBER = "1234-567890"
DEMO_WORKER_KH_NUMBER = "NSSF-000123"
DEMO_SECOND_WORKER = "wkr_demo0002"  # a Myanmar worker in Thailand
DEMO_SECOND_TH_ID = "0001234567890"

# The Thai sample file's employer (its SSO account number); the demo registers its Thai
# employees (both demo workers) so that an employer's token may declare for them.
DEMO_EMPLOYER = "1234567890"

DEMO_THIRD_WORKER = "wkr_demo0003"  # a Vietnamese worker in Thailand, paying voluntary SI home
DEMO_THIRD_VN_NUMBER = "7912345680"

# The demo's payment channel (channels/mekong-wallet-th.yaml) and what it did on one past day.
# The demo's public monitoring release (docs/monitoring.md): seeded once, whatever the reruns.
DEMO_STATS_PERIOD = "2026-Q3"
DEMO_RELEASE = "stats-public-2026-q3-1"
DEMO_CHANNEL = "mekong-wallet-th"
DEMO_CHANNEL_DAY = "2026-12-01"  # a day the demo replays with its clock set to it
DEMO_PAYMENT_REF = "mw-demo-0001"  # voluntary SI for December 2026, reconciled in the day file
DEMO_REFUND_REF = "mw-demo-0002"  # voluntary SI paid ahead for June 2031: the refund example
DEMO_DECLARED_INCOME = "5000000"  # VND a month: 22% is 1,100,000 VND

DEMO_TOKENS = {
    "operator": "demo-operator-token",  # hub operator: sees and does everything
    "auditor": "demo-auditor-token",  # reads everything, writes nothing
    "th-sso": "demo-th-sso-token",  # the Thai fund: its own members only
    "jp-jps": "demo-jp-jps-token",
    "kh-nssf": "demo-kh-nssf-token",
    "worker": "demo-worker-token",  # DEMO_WORKER themself
    "channel": "demo-mekong-wallet-token",  # the channel DEMO_CHANNEL: its own payments only
}

# Japan's lump sum the demo sends home through the NSSF (demo_settlement.py).
DEMO_LSWP_FLOW = "pt-demo-lswp"
# The inbox's OpenAPI example is a message from this fund, signed with this key when the
# document is read (ledger/api/examples.py). Only the demo publishes the key: its private half
# is here, in the open, so that "Try it out" works; a hub that does not publish it refuses it.
DEMO_EXAMPLE_FUND = "KH-NSSF"
DEMO_EXAMPLE_KID = "kh-nssf-demo-example"
DEMO_EXAMPLE_KEY_SEED = "Y2xtdHYgZGVtbyBleGFtcGxlIGtleSwgcHVibGljISE"  # 32 bytes, base64url

EXAMPLE_MONTH = "2026-10"  # not seeded, so the first "Try it out" creates it (201)


def example_voluntary_month() -> str:
    """The month a "Try it out" payment pays: next month (voluntary SI takes no past months),
    worked out when the API starts, so the docs' example stays payable."""
    today = datetime.now(UTC).date()
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year:04d}-{month:02d}"
