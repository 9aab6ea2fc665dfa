"""The web layer's front: static files, the start page, signing in and out, and error pages.

`install(app)` adds every page router and the static files to the application; the API's
`create_app` calls it. A page refused by the ledger (not signed in, not allowed, not found)
answers with an HTML page in the reader's language, never the API's problem+json.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Form
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledger.domain.errors import DomainError, ErrorCode
from ledger.web import session
from ledger.web.i18n import translations
from ledger.web.templating import STATIC_DIR, STATIC_PREFIX, render, request_language

router = APIRouter(include_in_schema=False)

_STATUS = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403,
           ErrorCode.UNKNOWN_WORKER: 404, ErrorCode.NOT_FOUND: 404}


def error_page(request: Request, error: DomainError) -> Response:
    """The refusal as a page: a translated title and the ledger's reason (in English: it names
    fields and ids a helper may need to quote)."""
    _ = translations(request_language(request).code).gettext
    status = _STATUS.get(error.code, 400)
    title = {401: _("Please sign in"), 403: _("You may not see this page"),
             404: _("Not found")}.get(status, _("This request was refused"))
    if status == 401:
        return render(request, "home.html", {"principal": None, "error": title}, status_code=401)
    return render(request, "error.html", {"title": title, "detail": error.message},
                  status_code=status)


@router.get("/web/")
async def home(request: Request) -> Response:
    try:
        principal = await session.principal(request)
    except DomainError:
        principal = None
    return render(request, "home.html", {"principal": principal, "error": None})


@router.get("/web")
async def home_without_slash() -> Response:
    return RedirectResponse("/web/", status_code=307)


@router.post("/web/login")
async def login(request: Request, token: str = Form(max_length=512)) -> Response:
    try:
        principal = await session.services(request).clients.authenticate(token.strip())
    except DomainError as refused:
        return error_page(request, refused)
    target = (f"/web/workers/{principal.scope}/statement" if principal.kind.value == "worker"
              else "/web/")
    response = RedirectResponse(target, status_code=303)
    session.remember(response, request, token.strip())
    return response


@router.post("/web/logout")
async def logout() -> Response:
    response = RedirectResponse("/web/", status_code=303)
    session.forget(response)
    return response


def install(app: FastAPI, routers: tuple[APIRouter, ...] = ()) -> None:
    """Mount the static files and the page routers (this module's first)."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="web-static")
    for page_router in (router, *routers):
        app.include_router(page_router)
