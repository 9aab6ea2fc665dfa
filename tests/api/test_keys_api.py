"""Fund key registry: publish, use for verification, rotate with overlap, revoke for good."""

from __future__ import annotations

import time

import pytest

from ledger.domain.principals import Principal, PrincipalKind
from ledger.settlement.keys import Party, SigningKey, TrustRegistry, Validity
from ledger.settlement.messages import MessageRejected, MessageType, sign_message, verify_message
from tests.api.conftest import Api

pytestmark = pytest.mark.anyio


async def registry_from_api(api: Api) -> TrustRegistry:
    registry = TrustRegistry()
    for issuer, jwks in (await api.http.get("/v1/keys")).json().items():
        registry.load_jwks(Party(issuer), jwks)
    return registry


def signed_by(key: SigningKey, now: int) -> str:
    return sign_message(key, aud="HUB", typ=MessageType.TRANSFER_ACK, seq=1,
                        body={"ok": True}, iat=now)


async def test_publish_verify_rotate_revoke(api: Api, uid: str) -> None:
    now = int(time.time())
    old = SigningKey.generate(Party("TH-SSO"), kid=f"th-{uid}-1",
                              validity=Validity(now - 100, now + 3600))
    put = await api.http.put("/v1/keys/TH-SSO", headers=api.auth("th"),
                             json={"keys": [old.public_jwk()]})
    assert put.status_code == 200, put.text
    message = signed_by(old, now)
    assert verify_message(message, await registry_from_api(api), "HUB", now).iss == "TH-SSO"
    # Rotation with overlap: the new key joins while the old one is still valid.
    new = SigningKey.generate(Party("TH-SSO"), kid=f"th-{uid}-2")
    await api.http.put("/v1/keys/TH-SSO", headers=api.auth("th"),
                       json={"keys": [old.public_jwk(), new.public_jwk()]})
    registry = await registry_from_api(api)
    verify_message(message, registry, "HUB", now)
    verify_message(signed_by(new, now), registry, "HUB", now)
    revoked = await api.http.post(f"/v1/keys/TH-SSO/{old.kid}/revocation",
                                  headers=api.auth("th"), json={"at": now - 10})
    assert revoked.json()["revoked_at"] == now - 10
    with pytest.raises(MessageRejected) as rejected:
        verify_message(message, await registry_from_api(api), "HUB", now)
    assert rejected.value.reason.value == "key_revoked"
    # Publishing the old key again (without revoked_at) does not bring it back.
    await api.http.put("/v1/keys/TH-SSO", headers=api.auth("th"),
                       json={"keys": [old.public_jwk()]})
    with pytest.raises(MessageRejected):
        verify_message(message, await registry_from_api(api), "HUB", now)


async def test_a_fund_publishes_only_its_own_keys(api: Api, uid: str) -> None:
    key = SigningKey.generate(Party("JP-JPS"), kid=f"jp-{uid}")
    response = await api.http.put("/v1/keys/JP-JPS", headers=api.auth("th"),
                                  json={"keys": [key.public_jwk()]})
    assert response.status_code == 403


async def test_a_bad_key_set_is_refused_whole_naming_the_member(api: Api, uid: str) -> None:
    good = SigningKey.generate(Party("TH-SSO"), kid=f"th-{uid}-ok")
    leaked = SigningKey.generate(Party("TH-SSO"), kid=f"th-{uid}-bad").private_jwk()
    response = await api.http.put("/v1/keys/TH-SSO", headers=api.auth("th"),
                                  json={"keys": [good.public_jwk(), leaked]})
    assert response.status_code == 422
    assert response.json()["field"] == "keys[1].d"
    assert good.kid not in str((await api.http.get("/v1/keys")).json())


async def test_keys_are_capped_per_set_and_per_issuer(api: Api, uid: str) -> None:
    """Issue 25 finding 6: a fund published 20,000 keys in one PUT."""
    many = [SigningKey.generate(Party("TH-SSO"), kid=f"th-{uid}-cap-{i}").public_jwk()
            for i in range(9)]
    refused = await api.http.put("/v1/keys/TH-SSO", headers=api.auth("th"), json={"keys": many})
    assert refused.status_code in (413, 422), refused.text
    assert (refused.json()["code"], refused.json()["field"]) == ("batch_too_large", "keys")
    for start in range(0, 32, 8):  # 32 in four sets of 8: the issuer's most
        batch = [SigningKey.generate(Party("JP-JPS"), kid=f"jp-{uid}-{start + i}").public_jwk()
                 for i in range(8)]
        put = await api.http.put("/v1/keys/JP-JPS", headers=api.auth("operator"),
                                 json={"keys": batch})
        assert put.status_code == 200, put.text
    one_more = SigningKey.generate(Party("JP-JPS"), kid=f"jp-{uid}-33").public_jwk()
    refused = await api.http.put("/v1/keys/JP-JPS", headers=api.auth("operator"),
                                 json={"keys": [one_more]})
    assert refused.json()["code"] == "batch_too_large" and "at most 32" in refused.json()["detail"]


async def test_keys_carry_an_etag_and_answer_304_until_a_key_changes(api: Api, uid: str
                                                                    ) -> None:
    first = await api.http.get("/v1/keys")
    etag = first.headers["etag"]
    again = await api.http.get("/v1/keys", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    key = SigningKey.generate(Party("TH-SSO"), kid=f"th-{uid}-etag")
    await api.http.put("/v1/keys/TH-SSO", headers=api.auth("th"),
                       json={"keys": [key.public_jwk()]})
    changed = await api.http.get("/v1/keys", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert key.kid in changed.text


async def test_the_parsed_registry_is_reused_until_another_process_publishes(api: Api,
                                                                             uid: str) -> None:
    from ledger.services.keys import KeyService

    other_process = KeyService(api.services.db)  # its own cache, the same database
    first = await api.services.keys.registry()
    assert await api.services.keys.registry() is first  # no re-parse while nothing changed
    key = SigningKey.generate(Party("TH-SSO"), kid=f"th-{uid}-proc")
    await other_process.publish(Principal("op", PrincipalKind.HUB_OPERATOR), "TH-SSO",
                                {"keys": [key.public_jwk()]})
    refreshed = await api.services.keys.registry()
    assert refreshed is not first and refreshed.get(key.kid) is not None
