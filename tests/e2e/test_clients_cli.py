"""Token lifecycle through `clmtv clients`: expiry, revocation, rotation, listing; every fund the
registry knows gets clients; a worker client needs an existing worker (issue 16 item 3, issue 22
item 4)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import cli
from ledger.composition import build_services
from ledger.config import Settings
from ledger.db.engine import open_database
from ledger.db.migrate import upgrade
from ledger.domain.errors import DomainError
from ledger.domain.principals import PrincipalKind
from ledger.services.clients import ClientService
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey


@pytest.fixture
def ledger_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path}/clients.db"
    monkeypatch.setenv("CLMTV_DATABASE_URL", url)
    from ledger.config import get_settings

    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _token(out: str) -> str:
    return out.strip().splitlines()[-1]


async def _who(url: str, token: str) -> str:
    db = open_database(url, 1)
    try:
        return (await ClientService(db).authenticate(token)).name
    finally:
        await db.dispose()


def test_revoke_and_rotate_stop_the_old_token(ledger_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["clients", "add", "th-ops", "--kind", "fund", "--scope", "TH-SSO"]) == 0
    first = _token(capsys.readouterr().out)
    assert asyncio.run(_who(ledger_url, first)) == "th-ops"
    assert cli.main(["clients", "rotate", "th-ops"]) == 0
    second = _token(capsys.readouterr().out)
    with pytest.raises(DomainError, match="unknown bearer token"):
        asyncio.run(_who(ledger_url, first))
    assert asyncio.run(_who(ledger_url, second)) == "th-ops"
    assert cli.main(["clients", "revoke", "th-ops"]) == 0
    with pytest.raises(DomainError, match="revoked"):
        asyncio.run(_who(ledger_url, second))
    assert cli.main(["clients", "list"]) == 0
    listed = capsys.readouterr().out
    assert "th-ops" in listed and "revoked 20" in listed and second not in listed


def test_an_expired_token_is_refused(ledger_url: str) -> None:
    async def scenario() -> None:
        db = open_database(ledger_url, 1)
        services = build_services(Settings(database_url=ledger_url), db=db,
                                  signer=HubSigner(SigningKey.generate(HUB)))
        await upgrade(db)
        token = await services.clients.register("brief", PrincipalKind.AUDITOR, None,
                                                expires_in_s=1)
        assert (await services.clients.authenticate(token)).name == "brief"
        await asyncio.sleep(1.1)
        with pytest.raises(DomainError, match="expired"):
            await ClientService(db).authenticate(token)
        await db.dispose()

    asyncio.run(scenario())


@pytest.mark.parametrize(("args", "said"), [
    (["clients", "add", "w", "--kind", "worker"], "a worker client needs a scope"),
    (["clients", "add", "w", "--kind", "worker", "--scope", "wkr_nobody01"], "no worker"),
    (["clients", "add", "f", "--kind", "fund"], "a fund client needs a scope"),
    (["clients", "add", "e", "--kind", "employer", "--scope", "TH-SSO"],
     "an employer client needs its employer number"),
    (["clients", "add", "f", "--kind", "fund", "--scope", "TH-SSO", "--employer", "1"],
     "a fund client takes no employer number"),
])
def test_a_client_without_its_scope_is_refused(ledger_url: str,
                                               capsys: pytest.CaptureFixture[str],
                                               args: list[str], said: str) -> None:
    assert cli.main(args) == 2
    assert said in capsys.readouterr().err


def test_every_fund_the_registry_knows_gets_clients(ledger_url: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["clients", "add", "socso", "--kind", "fund", "--scope", "MY-SOCSO"]) == 0
    assert "created" in capsys.readouterr().out


def test_an_employer_client_is_bound_to_its_number(ledger_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["clients", "add", "acme", "--kind", "employer", "--scope", "TH-SSO",
                     "--employer", "12-34-567890"]) == 0
    assert "created" in capsys.readouterr().out
    assert cli.main(["clients", "list"]) == 0
    (line,) = [r for r in capsys.readouterr().out.splitlines() if r.startswith("acme ")]
    assert "TH-SSO/1234567890" in line  # kept as letters and digits
