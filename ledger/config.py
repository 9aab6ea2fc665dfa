"""Settings (prefix CLMTV_): the only module that reads the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///clmtv.db"
# Development-only keys: the demo and tests use them; `clmtv serve` warns when they are in use
# and says how to make real ones (ledger/cli/serving.py).
DEV_PII_HMAC_KEY = "dev-only-hmac-key-change-me-0000000000000000"
DEV_PII_ENCRYPTION_KEY = "ZGV2LW9ubHktYWVzLWtleS1jaGFuZ2UtbWUtMDAwMDA="  # 32 bytes, base64


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLMTV_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL: sqlite+aiosqlite:///FILE or "
        "postgresql+asyncpg://USER@HOST:PORT/DB",
    )
    pii_hmac_key: str = Field(DEV_PII_HMAC_KEY, description="Key for identity-number lookups")
    pii_encryption_key: str = Field(
        DEV_PII_ENCRYPTION_KEY, description="base64 of a 32-byte AES-256-GCM key"
    )
    hub_key_file: str = Field(
        "clmtv-hub-key.jwk",
        description="The hub's private signing key (JWK). Dev-only storage: created on first use",
    )
    db_pool_size: int = Field(10, ge=1, le=200)
    group_commit_max: int = Field(
        512, ge=1, description="Most units one group-commit transaction takes"
    )
    log_level: str = "info"

    def uses_dev_keys(self) -> bool:
        return (
            self.pii_hmac_key == DEV_PII_HMAC_KEY
            or self.pii_encryption_key == DEV_PII_ENCRYPTION_KEY
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
