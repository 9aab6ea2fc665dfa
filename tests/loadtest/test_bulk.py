"""Bulk registration through the services layer: the same checks as one at a time, one
transaction per batch, all or none, and a bad item named by its index."""

from __future__ import annotations

import pytest

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.workers import NewWorker
from tests.api.conftest import Api
from tests.api.helpers import member_number

pytestmark = pytest.mark.anyio
OPERATOR = Principal("bulk-test", PrincipalKind.HUB_OPERATOR)


def _workers(uid: str, n: int) -> list[NewWorker]:
    return [NewWorker("kh", [("TH-SSO", member_number("TH-SSO", f"{uid}{k:x}"))],
                      id=f"wkr_{uid}b{k}") for k in range(n)]


async def _exists(api: Api, worker: str) -> bool:
    response = await api.http.get(f"/v1/workers/{worker}", headers=api.auth("operator"))
    return response.status_code == 200


async def test_many_workers_in_one_go_with_their_memberships(api: Api, uid: str) -> None:
    new = _workers(uid, 3)
    assert await api.services.workers.register_many(OPERATOR, new) == [w.id for w in new]
    response = await api.http.get(f"/v1/workers/{new[2].id}", headers=api.auth("operator"))
    body = response.json()
    assert body["nationality"] == "KH"
    assert body["memberships"][0]["member_number"] == new[2].memberships[0][1]


async def test_a_bad_worker_is_named_and_nothing_of_the_batch_is_kept(api: Api,
                                                                       uid: str) -> None:
    new = _workers(uid, 4)
    new[2].nationality = "Cambodia"
    with pytest.raises(DomainError) as caught:
        await api.services.workers.register_many(OPERATOR, new)
    assert (caught.value.field, caught.value.index) == ("workers[2].nationality", 2)
    assert not await _exists(api, str(new[0].id))


async def test_a_clash_with_a_registered_worker_keeps_nothing(api: Api, uid: str) -> None:
    first = _workers(uid, 2)
    await api.services.workers.register_many(OPERATOR, first[:1])
    again = [NewWorker("KH", [], id=f"wkr_{uid}fresh"), NewWorker("KH", [], id=first[0].id)]
    with pytest.raises(DomainError) as caught:
        await api.services.workers.register_many(OPERATOR, again)
    assert caught.value.code is ErrorCode.ID_CONFLICT
    assert not await _exists(api, f"wkr_{uid}fresh")


async def test_a_fund_registers_only_its_own_members(api: Api, uid: str) -> None:
    fund = Principal("jp", PrincipalKind.FUND, "JP-JPS")
    with pytest.raises(DomainError) as caught:
        await api.services.workers.register_many(fund, _workers(uid, 1))
    assert caught.value.code is ErrorCode.FORBIDDEN


async def test_many_clients_and_their_tokens(api: Api, uid: str) -> None:
    worker = _workers(uid, 1)[0]
    await api.services.workers.register_many(OPERATOR, [worker])
    tokens = await api.services.clients.register_many([
        (f"{uid}-c0", PrincipalKind.EMPLOYER, "TH-SSO", "9000000001"),
        (f"{uid}-c1", PrincipalKind.WORKER, worker.id)])
    first = await api.services.clients.authenticate(tokens[0])
    second = await api.services.clients.authenticate(tokens[1])
    assert (first.kind, first.scope, first.employer) == (PrincipalKind.EMPLOYER, "TH-SSO",
                                                         "9000000001")
    assert (second.kind, second.scope) == (PrincipalKind.WORKER, worker.id)
    with pytest.raises(DomainError) as caught:
        await api.services.clients.register_many([(f"{uid}-c2", PrincipalKind.FUND, "TH-SSO"),
                                                  (f"{uid}-c3", PrincipalKind.FUND, "XX-NONE")])
    assert caught.value.field == "clients[1].scope"
    with pytest.raises(DomainError) as caught:
        await api.services.clients.register_many([(f"{uid}-c4", PrincipalKind.AUDITOR, None),
                                                  (f"{uid}-c0", PrincipalKind.AUDITOR, None)])
    assert caught.value.code is ErrorCode.ID_CONFLICT
    # Neither refused batch left a client behind: their names are still free.
    await api.services.clients.register(f"{uid}-c2", PrincipalKind.FUND, "TH-SSO")
    await api.services.clients.register(f"{uid}-c4", PrincipalKind.AUDITOR, None)
