"""The hub's key file: created once, private, and the same key for every server process, even
when the processes start together and race to create it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey


def _kid(signer: HubSigner) -> str:
    return str(signer.jwks()["keys"][0]["kid"])


def test_created_once_private_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "hub.jwk"
    first = HubSigner.from_file(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _kid(HubSigner.from_file(path)) == _kid(first)
    assert sorted(p.name for p in path.parent.iterdir()) == ["hub.jwk"]


def test_the_loser_of_a_race_uses_the_winners_key(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hub.jwk"
    winner = SigningKey.generate(HUB)
    real_link = os.link

    def link_after_the_other_process(source: str, target: str) -> None:
        path.write_text(json.dumps(winner.private_jwk()))  # the other process got there first
        real_link(source, target)

    monkeypatch.setattr(os, "link", link_after_the_other_process)
    signer = HubSigner.from_file(path, create=True)
    assert _kid(signer) == winner.kid
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub.jwk"]  # no temporary left
