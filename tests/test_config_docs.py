"""The configuration is one table in docs/operations.md, generated from the settings class:
complete (every setting, each described) and never stale."""

from __future__ import annotations

from ledger.config import PREFIX, Settings
from tools import config_docs


def test_every_setting_is_described() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == [], f"settings without a description: {missing}"


def test_the_table_lists_every_setting_and_is_current() -> None:
    page = config_docs.PAGE.read_text(encoding="utf-8")
    assert config_docs.render(page) == page, "stale: run python3 dev.py config-docs"
    block = page.split(config_docs.START)[1].split(config_docs.END)[0]
    for name in Settings.model_fields:
        assert f"| `{PREFIX}{name.upper()}` |" in block, name


def test_a_stale_table_is_noticed() -> None:
    page = config_docs.PAGE.read_text(encoding="utf-8")
    stale = page.replace(f"`{PREFIX}LOG_FORMAT`", f"`{PREFIX}LOG_FORMATS`")
    assert config_docs.render(stale) != stale
