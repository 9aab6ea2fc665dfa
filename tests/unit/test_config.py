"""A server refuses development or short identity keys, a missing hub key and misspelt CLMTV_
variables, at every entry point, unless development mode is explicit (issue 25, finding 1)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import cli
from ledger.config import (
    DEV_PII_ENCRYPTION_KEY,
    DEV_PII_HMAC_KEY,
    ConfigurationError,
    Settings,
    unknown_variables,
)
from ledger.services.signing import HubSigner

REAL_HMAC = "k" * 32
REAL_AES = base64.b64encode(b"\x01" * 32).decode()
ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    key_file = tmp_path / "hub.jwk"
    HubSigner.from_file(key_file, create=True)
    values: dict[str, object] = {"pii_hmac_key": REAL_HMAC, "pii_encryption_key": REAL_AES,
                                 "hub_key_file": str(key_file)}
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


def test_real_keys_and_a_hub_key_may_serve(tmp_path: Path) -> None:
    assert _settings(tmp_path).serving_problems({}) == []


def test_the_development_keys_are_refused_outside_dev_mode(tmp_path: Path) -> None:
    settings = _settings(tmp_path, pii_hmac_key=DEV_PII_HMAC_KEY,
                         pii_encryption_key=DEV_PII_ENCRYPTION_KEY)
    with pytest.raises(ConfigurationError) as refused:
        settings.require_servable({})
    assert refused.value.problems[:2] == [
        "CLMTV_PII_HMAC_KEY is the public development key",
        "CLMTV_PII_ENCRYPTION_KEY is the public development key"]
    assert "secrets.token_bytes(32)" in refused.value.problems[-1]  # says how to make real ones
    assert settings.model_copy(update={"dev_mode": True}).serving_problems({}) == []


def test_a_short_hmac_key_or_a_bad_aes_key_is_refused_even_in_dev_mode(tmp_path: Path) -> None:
    short = _settings(tmp_path, pii_hmac_key="x" * 31, dev_mode=True)
    assert short.serving_problems({}) == ["CLMTV_PII_HMAC_KEY is shorter than 32 bytes"]
    bad = _settings(tmp_path, pii_encryption_key=base64.b64encode(b"x" * 16).decode(),
                    dev_mode=True)
    assert bad.serving_problems({}) == ["CLMTV_PII_ENCRYPTION_KEY is not the base64 of 32 bytes"]


def test_a_misspelt_variable_is_named_with_the_one_meant() -> None:
    assert unknown_variables({"CLMTV_PII_HMAC_KEYS": "x", "CLMTV_DATABASE_URL": "y",
                              "CLMTV_TEST_DATABASE_URL": "z", "PATH": "/bin"}) == [
        "unknown variable CLMTV_PII_HMAC_KEYS (did you mean CLMTV_PII_HMAC_KEY?)"]


def test_a_missing_hub_key_is_refused_and_never_created_by_a_server(tmp_path: Path) -> None:
    missing = tmp_path / "none.jwk"
    settings = _settings(tmp_path, hub_key_file=str(missing))
    assert settings.serving_problems({})[0].startswith(
        f"the hub's signing key file {missing} does not exist")
    with pytest.raises(FileNotFoundError):
        HubSigner.from_file(missing)
    assert not missing.exists()


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLMTV_")}
    env.update({"CLMTV_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/serve.db",
                "CLMTV_HUB_KEY_FILE": str(tmp_path / "hub.jwk"), **extra})
    return env


@pytest.mark.parametrize("entry", [
    [sys.executable, "-m", "ledger.cli", "serve", "--port", "1"],
    [sys.executable, "-m", "uvicorn", "ledger.api.main:app", "--port", "1"],
])
def test_every_entry_point_refuses_to_start_with_the_defaults(tmp_path: Path,
                                                              entry: list[str]) -> None:
    done = subprocess.run(entry, env=_clean_env(tmp_path, CLMTV_PII_HMAC_KEYS=REAL_HMAC),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "CLMTV_PII_HMAC_KEY is the public development key" in done.stderr
    assert "unknown variable CLMTV_PII_HMAC_KEYS (did you mean CLMTV_PII_HMAC_KEY?)" in done.stderr
    assert "does not exist" in done.stderr and not (tmp_path / "hub.jwk").exists()
    assert "Traceback" not in done.stderr


def test_hub_key_create_makes_one_key_and_never_overwrites(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    path = tmp_path / "hub.jwk"
    assert cli.main(["hub-key", "create", "--file", str(path)]) == 0
    first = path.read_bytes()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert cli.main(["hub-key", "create", "--file", str(path)]) == 2
    assert path.read_bytes() == first
    assert "keeps its identity" in capsys.readouterr().err
