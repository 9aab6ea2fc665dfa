"""Fixtures for the signed-message tests; the helpers they use live in settlement_support.py."""

from __future__ import annotations

import pytest
from settlement_support import DAY, HUB, KH, NOW, TH, Forge, Parties, claims

from ledger.settlement.keys import SigningKey, TrustRegistry, Validity
from ledger.settlement.messages import MessageType, sign_message


@pytest.fixture
def parties() -> Parties:
    window = Validity(NOW - 30 * DAY, NOW + 365 * DAY)
    th = SigningKey.generate(TH, kid="th-2026-01", validity=window)
    kh = SigningKey.generate(KH, kid="kh-2026-01", validity=window)
    hub = SigningKey.generate(HUB, kid="hub-2026-01", validity=window)
    registry = TrustRegistry([th.trusted(), kh.trusted(), hub.trusted()])
    return Parties(th, kh, hub, registry)


@pytest.fixture
def forge(parties: Parties) -> Forge:
    return Forge(parties.th)


@pytest.fixture
def good_token(parties: Parties) -> str:
    return sign_message(
        parties.th,
        aud=HUB,
        typ=MessageType.TRANSFER_REQUEST,
        seq=1,
        body=claims()["body"],
        iat=NOW,
        jti="msg-0001",
    )
