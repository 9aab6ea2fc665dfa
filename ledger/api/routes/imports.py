"""POST /v1/funds/{fund}/declarations: upload a fund's native declaration file.

The file is read as it was sent (the fund's own format and encoding, e.g. a TIS-620 SSO 1-10
text file), checked row by row and booked in one transaction. The answer is the import report:
201 when rows were booked, 200 with `replayed: true` when the same file had been imported before,
422 problem+json (code `import_rejected`, the full report under `details.report`) when nothing
was booked. `partial=true` books the good rows of a file with bad ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.responses import JSONResponse

from ledger.api.deps import PrincipalDep, ServicesDep
from ledger.api.schemas import PROBLEM_RESPONSES
from ledger.domain.errors import DomainError, ErrorCode

router = APIRouter(tags=["imports"], responses=PROBLEM_RESPONSES)

EXAMPLE_REPORT: dict[str, Any] = {
    "import_id": "imp_3f1c0d9e2b7a4c5d6e7f8091", "fund": "TH-SSO",
    "file_sha256": "9c1e...", "format": "sso-1-10", "status": "posted", "month": "2026-01",
    "employer": "1234567890", "rows_total": 3, "rows_parsed": 3, "rows_accepted": 3,
    "rows_rejected": 0, "rows_already_booked": 0, "contributions_booked": 3,
    "pooled_minor": {"s33-sickness": {"employee": "46725", "employer": "46725",
                                      "government": "46725"}},
    "header_read": True, "header_reconciled": True, "errors": [], "errors_not_listed": 0,
    "replayed": False,
}


@router.post(
    "/v1/funds/{fund}/declarations",
    status_code=201,
    summary="Import a declaration file in the fund's native format",
    responses={
        201: {"description": "Rows booked (status posted or partial)",
              "content": {"application/json": {"example": EXAMPLE_REPORT}}},
        200: {"description": "The same file was imported before: its original report"},
    },
)
async def import_declarations(
    fund: Annotated[str, Path(openapi_examples={"demo": {"value": "TH-SSO"}})],
    file: Annotated[UploadFile, File(description="The declaration file, as the fund defines it")],
    principal: PrincipalDep,
    services: ServicesDep,
    partial: Annotated[bool, Query(description="Book the good rows of a file with bad ones")
                       ] = False,
) -> JSONResponse:
    report = await services.imports.import_file(principal, fund, file.file, partial=partial)
    if not report.posted_anything():
        raise DomainError(ErrorCode.IMPORT_REJECTED, report.rejection(), field="file",
                          details={"report": report.to_dict()})
    return JSONResponse(report.to_dict(), status_code=200 if report.replayed else 201)
