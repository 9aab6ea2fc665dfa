"""Monitoring releases (docs/monitoring.md): list them, fetch one's descriptor and files.

The public release is everyone's, with or without a token; a fund's exact tables and a
ministry's private tables of its nationals are read with that fund's or ministry's token (and by
the hub's staff, who also get the ledger position a public release only commits to). A release
someone may not read is not found. Each file is served byte for byte as the hub signed it;
`release.jws` is the signature `clmtv verify` checks offline.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from ledger.api.deps import OptionalPrincipalDep, ServicesDep
from ledger.api.read_routing import routed
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.demo_data import DEMO_RELEASE
from ledger.domain.errors import DomainError, ErrorCode
from ledger.stats.package import SIGNATURE

router = APIRouter(tags=["statistics"], responses=PROBLEM_RESPONSES)

ReleaseId = Annotated[str, Path(max_length=96, openapi_examples={"demo": {"value": DEMO_RELEASE}})]
_MEDIA = {".csv": "text/csv; charset=utf-8", ".json": "application/json",
          ".jws": "application/jose"}


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "audience": row["audience"], "period": row["period"],
            "epsilon": row["epsilon"], "build_ms": row["build_ms"],
            "files": f"/v1/stats/releases/{row['id']}/files/"}


@router.get("/v1/stats/releases", summary="Monitoring releases this caller may read")
async def list_releases(svc: ServicesDep, principal: OptionalPrincipalDep
                        ) -> list[dict[str, Any]]:
    return [_summary(r) for r in await routed(svc, principal, None,
                                              lambda g: g.stats.releases(principal))]


@router.get("/v1/stats/releases/{release_id}",
            summary="A release: its data package descriptor and the hub's signature")
async def get_release(release_id: ReleaseId, svc: ServicesDep,
                      principal: OptionalPrincipalDep) -> dict[str, Any]:
    row = await routed(svc, principal, None, lambda g: g.stats.release(principal, release_id))
    out = {**_summary(row), "datapackage": json.loads(row["descriptor"]),
           "signature": row["token"]}
    if principal is not None and principal.sees_everything:
        # what the public descriptor commits to: sha256(id:transfers_seq:nonce)
        out["ledger_position"] = {"transfers_seq": row["position"],
                                  "nonce": row["position_nonce"]}
    return out


@router.get("/v1/stats/releases/{release_id}/files/{path:path}",
            summary="One file of a release, as signed (datapackage.json, data/*.csv, "
                    "release.jws)", response_model=None,
            # The file's own type: the document lists each, so a client knows what may come.
            responses={200: {"description": "The file, byte for byte as signed",
                             "content": {"text/csv": {"schema": {"type": "string"}},
                                         "application/json": {"schema": {"type": "object"}},
                                         "application/jose": {"schema": {"type": "string"}}}}})
async def get_release_file(
    release_id: ReleaseId,
    path: Annotated[str, Path(max_length=64, openapi_examples={
        "demo": {"value": "data/monitoring.csv"}})],
    svc: ServicesDep, principal: OptionalPrincipalDep,
) -> Response:
    files = await routed(svc, principal, None, lambda g: g.stats.files(principal, release_id))
    if path not in files:
        raise DomainError(ErrorCode.NOT_FOUND, f"release {release_id} has no file {path}; it "
                          f"has {', '.join(sorted(files))}", field="path")
    suffix = path[path.rfind("."):] if "." in path else ""
    media = _MEDIA.get(suffix, "application/octet-stream")
    name = SIGNATURE if path == SIGNATURE else path.rsplit("/", 1)[-1]
    return Response(files[path], media_type=media,
                    headers={"Content-Disposition": f'inline; filename="{name}"'})
