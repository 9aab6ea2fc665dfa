"""Settings (prefix CLMTV_): the only module that reads the environment.

A server (every entry point: `clmtv serve`, `uvicorn ledger.api.main:app`) starts only with real
identity keys, an existing hub signing key and no misspelt CLMTV_ variable, unless development
mode is explicit (`CLMTV_DEV_MODE=1`; `clmtv demo` sets it itself). Demos and tests need no
configuration.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///clmtv.db"
# Development-only keys: the demo and tests use them; a server refuses them outside dev mode.
DEV_PII_HMAC_KEY = "dev-only-hmac-key-change-me-0000000000000000"
DEV_PII_ENCRYPTION_KEY = "ZGV2LW9ubHktYWVzLWtleS1jaGFuZ2UtbWUtMDAwMDA="  # 32 bytes, base64
HMAC_KEY_MIN_BYTES = 32  # as long as the SHA-256 output: shorter keys are guessable offline
PREFIX = "CLMTV_"
# CLMTV_ variables read by tools around the server, not by it: allowed beside the settings.
TOOL_VARIABLES = frozenset({
    "CLMTV_TEST_DATABASE_URL",  # tests: which store (dev.py test)
    "CLMTV_PG_ADMIN_URL",  # dev.py: where to create test databases
    "CLMTV_REPLAY_TOKEN",  # simulate --replay URL: the operator's token
    "CLMTV_FUND_TOKEN",  # clmtv fund: the fund's bearer token
})
KEY_HOWTO = (
    "generate real keys with: python3 -c \"import base64, secrets; "
    "print(base64.b64encode(secrets.token_bytes(32)).decode())\" (once for "
    "CLMTV_PII_HMAC_KEY, once for CLMTV_PII_ENCRYPTION_KEY; keep them in a secret store), or "
    "set CLMTV_DEV_MODE=1 for a development server"
)


class ConfigurationError(Exception):
    """The settings cannot run a server; `problems` says each reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL: sqlite+aiosqlite:///FILE or "
        "postgresql+asyncpg://USER@HOST:PORT/DB",
    )
    database_read_url: str | None = Field(
        None, description="A PostgreSQL streaming-replication hot standby of CLMTV_DATABASE_URL "
        "for statements, balances, reports and the worker page (ADR 0058, docs/operations.md); "
        "unset: every read goes to the primary. Ignored, with a warning, beside SQLite or when "
        "it is not a PostgreSQL URL"
    )
    database_read_wait_s: float = Field(
        0.2, ge=0, le=10, description="How long a read that must see a recent write waits for "
        "the standby to replay it before it goes to the primary instead"
    )
    database_read_after: Literal["all-writes", "own-writes"] = Field(
        "all-writes", description="all-writes: a read from the standby sees every write the "
        "primary had committed when the read began, whichever process made it (one more round "
        "trip to the primary per read); own-writes: only the writes this server process made "
        "for the same principal or worker (right for one process, or sessions pinned to one)"
    )
    pii_hmac_key: str = Field(
        DEV_PII_HMAC_KEY, description="Key for identity-number look-ups, 32 bytes or more (the "
        "default is the public development key: refused outside development mode)"
    )
    pii_encryption_key: str = Field(
        DEV_PII_ENCRYPTION_KEY, description="base64 of a 32-byte AES-256-GCM key for identity "
        "numbers (the default is the public development key, as above)"
    )
    pii_previous_hmac_key: str | None = Field(
        None, description="During an identity key rotation only (ADR 0055): the HMAC key "
        "being replaced, with CLMTV_PII_PREVIOUS_ENCRYPTION_KEY. Remove both once "
        "`clmtv db rotate-identity-keys` reports nothing left"
    )
    pii_previous_encryption_key: str | None = Field(
        None, description="During a rotation only: the encryption key being replaced"
    )
    hub_key_file: str = Field(
        "clmtv-hub-key.jwk",
        description="The hub's private signing key (JWK). Must exist for a server; created by "
        "`clmtv demo` (dev mode) or `clmtv hub-key create`",
    )
    dev_mode: bool = Field(
        False, description="Development mode: the development identity keys are accepted and a "
        "missing hub key file is created. Never in production"
    )
    db_pool_size: int = Field(
        10, ge=1, le=200, description="Database connections each server process keeps open"
    )
    group_commit_max: int = Field(
        512, ge=1, description="Most units one group-commit transaction takes"
    )
    log_level: str = Field(
        "info", description="Least severe log records written: critical, error, warning, "
        "info (the access log) or debug"
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="json: one JSON object per line with the request id and the "
        "principal's name; text: plain lines for a terminal"
    )
    metrics_dir: str | None = Field(
        None, description="Where several server processes (`serve --workers N`) keep their "
        "Prometheus metrics files, emptied at start; default: a new temporary directory"
    )
    journal_seal_interval_s: float = Field(
        1.0, ge=0, description="Seconds between two seals of the tamper-evident journal's two "
        "logs, transfers and period changes, by a server (ADR 0050, 0059); 0: this server does "
        "not seal (another process or `clmtv audit seal` does)"
    )
    stats_epsilon: str = Field(
        "1.0", pattern=r"^\d+(\.\d{1,6})?$",
        description="ε of one public monitoring release (docs/monitoring.md, ADR 0052)",
    )
    stats_budget_per_month: str = Field(
        "2.0", pattern=r"^\d+(\.\d{1,6})?$",
        description="The most ε all releases of one audience may spend on one month of data",
    )
    rate_limit_per_s: float = Field(
        100.0, ge=0, description="Requests per second each principal may make, sustained, per "
        "server process (0: no limit; ADR 0053)"
    )
    rate_limit_burst: int = Field(
        200, ge=1, description="Requests a principal may make at once before the rate applies"
    )

    def read_url_problem(self) -> str | None:
        """Why CLMTV_DATABASE_READ_URL is ignored (None: it is used, or it is not set)."""
        if self.database_read_url is None:
            return None
        if not self.database_url.startswith(("postgresql", "postgres://")):
            return ("CLMTV_DATABASE_READ_URL is ignored: the primary (CLMTV_DATABASE_URL) is "
                    "not PostgreSQL, and only a PostgreSQL primary has a streaming standby; "
                    "every read goes to the primary")
        if not self.database_read_url.startswith(("postgresql", "postgres://")):
            return ("CLMTV_DATABASE_READ_URL is ignored: it is not a PostgreSQL URL "
                    "(postgresql://USER@HOST:PORT/DB); every read goes to the primary")
        return None

    def uses_dev_keys(self) -> bool:
        return (
            self.pii_hmac_key == DEV_PII_HMAC_KEY
            or self.pii_encryption_key == DEV_PII_ENCRYPTION_KEY
        )

    def warn_if_dev_keys(self) -> None:
        if self.uses_dev_keys():
            warnings.warn(
                "CLMTV_PII_HMAC_KEY / CLMTV_PII_ENCRYPTION_KEY are the development defaults: "
                f"identity numbers are NOT protected. {KEY_HOWTO}.",
                stacklevel=2,
            )

    def serving_problems(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Why a server must not start with these settings (empty: it may)."""
        environ = os.environ if environ is None else environ
        problems = unknown_variables(environ)
        if len(self.pii_hmac_key.encode()) < HMAC_KEY_MIN_BYTES:
            problems.append(f"CLMTV_PII_HMAC_KEY is shorter than {HMAC_KEY_MIN_BYTES} bytes")
        if not _is_aes_256_key(self.pii_encryption_key):
            problems.append("CLMTV_PII_ENCRYPTION_KEY is not the base64 of 32 bytes")
        problems.extend(self.previous_key_problems())
        if not self.dev_mode:
            if self.pii_hmac_key == DEV_PII_HMAC_KEY:
                problems.append("CLMTV_PII_HMAC_KEY is the public development key")
            if self.pii_encryption_key == DEV_PII_ENCRYPTION_KEY:
                problems.append("CLMTV_PII_ENCRYPTION_KEY is the public development key")
            if not Path(self.hub_key_file).is_file():
                problems.append(f"the hub's signing key file {self.hub_key_file} does not exist "
                                "(create one with `clmtv hub-key create`, or point "
                                "CLMTV_HUB_KEY_FILE at it)")
        return problems

    def previous_key_problems(self) -> list[str]:
        """A rotation names both previous keys or neither, each well formed and not the
        current one."""
        hmac_key, encryption_key = self.pii_previous_hmac_key, self.pii_previous_encryption_key
        if hmac_key is None and encryption_key is None:
            return []
        if hmac_key is None or encryption_key is None:
            return ["CLMTV_PII_PREVIOUS_HMAC_KEY and CLMTV_PII_PREVIOUS_ENCRYPTION_KEY go "
                    "together: set both during a rotation, neither after it"]
        problems = []
        if len(hmac_key.encode()) < HMAC_KEY_MIN_BYTES:
            problems.append(f"CLMTV_PII_PREVIOUS_HMAC_KEY is shorter than {HMAC_KEY_MIN_BYTES} "
                            "bytes")
        if not _is_aes_256_key(encryption_key):
            problems.append("CLMTV_PII_PREVIOUS_ENCRYPTION_KEY is not the base64 of 32 bytes")
        if (hmac_key, encryption_key) == (self.pii_hmac_key, self.pii_encryption_key):
            problems.append("the previous identity keys are the current ones: a rotation "
                            "needs new CLMTV_PII_HMAC_KEY and CLMTV_PII_ENCRYPTION_KEY")
        return problems

    def require_servable(self, environ: Mapping[str, str] | None = None) -> None:
        problems = self.serving_problems(environ)
        if problems:
            if any("development key" in p for p in problems):
                problems.append(KEY_HOWTO)
            raise ConfigurationError(problems)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A CLMTV_ variable that no setting reads is a mistake (a misspelt key name would
    otherwise silently leave the default in place)."""
    known = {PREFIX + name.upper() for name in Settings.model_fields} | TOOL_VARIABLES
    problems = []
    for name in sorted(n for n in environ if n.upper().startswith(PREFIX)):
        if name.upper() not in known:
            close = difflib.get_close_matches(name.upper(), sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"unknown variable {name}{hint}")
    return problems


def _is_aes_256_key(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
