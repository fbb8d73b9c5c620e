"""Mounting the web app on a node: its pages, its static files, and how its errors look.

The API answers errors in problem+json; a person in a browser gets a page. Rather than
each page catching what a dependency raises, the node's error handlers are wrapped once
here: a request for a web page (not ``/api``, ``/federation``, the API docs or the
node's own endpoints) gets the error page; every other request goes to the handler that
was there before (problem+json, with its metrics).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from topmatch.accounts.models import User
from topmatch.errors import InputError, NotFoundError, TopmatchError
from topmatch.web import (
    clients,
    federation,
    finance,
    forms,
    i18n,
    introductions,
    messages,
    openings,
    pages,
)
from topmatch.web.core import (
    SECURITY_HEADERS,
    SignInRequired,
    error_page,
    language_of,
    signed_in,
)

ROUTERS = [
    pages.router,
    clients.router,
    finance.router,
    federation.router,
    openings.router,
    introductions.router,
]
NO_SUCH_PAGE = forms.N_("This page does not exist. Check the address, or start again.")
NOT_WEB = (
    "/api/",
    "/federation/",
    "/.well-known/",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/healthz",
    "/metrics",
)


async def _answer(handler: Callable[..., object], request: Request, error: Exception) -> Response:
    result = handler(request, error)
    answer = await result if inspect.isawaitable(result) else result
    assert isinstance(answer, Response)  # noqa: S101 - what an exception handler returns
    return answer


def is_web(request: Request) -> bool:
    return not request.url.path.startswith(NOT_WEB)


def _visitor(request: Request) -> User | None:
    """Who sees the error page, if signed in: the layout then keeps its menu."""
    try:
        return signed_in(request)
    except SignInRequired:
        return None


def _invalid_page(request: Request, error: RequestValidationError) -> Response:
    """Bad input to a page: the first problem in the page's language, the raw one as detail."""
    first = error.errors()[0] if error.errors() else None
    if first is None:
        return error_page(request, InputError("invalid input"), user=_visitor(request))
    field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
    raw = str(first.get("msg", "invalid input")).removeprefix("Value error, ")
    gettext = i18n.translations(language_of(request)).gettext
    return error_page(
        request,
        InputError(raw, field=field),
        user=_visitor(request),
        message=forms.describe(first, gettext),
        detail=InputError(raw, field=field).diagnostics(),
    )


def _http_page(request: Request, error: StarletteHTTPException) -> Response:
    """A web address that does not exist (404) or cannot be used so (405...): a page."""
    gettext = i18n.translations(language_of(request)).gettext
    missing = error.status_code == 404  # noqa: PLR2004
    problem: TopmatchError = (
        NotFoundError(f"no page {request.url.path}")
        if missing
        else InputError(f"HTTP {error.status_code}: {error.detail}")
    )
    message = gettext(NO_SUCH_PAGE if missing else messages.SOMETHING_WENT_WRONG)
    page = error_page(
        request, problem, user=_visitor(request), message=message, detail=problem.diagnostics()
    )
    page.status_code = error.status_code
    return page


def _wrap_error_handlers(app: FastAPI) -> None:
    """Web requests get a page for every error; the rest keep the handler they had."""
    domain = app.exception_handlers[TopmatchError]
    invalid = app.exception_handlers[RequestValidationError]
    http = app.exception_handlers[StarletteHTTPException]

    async def _http(request: Request, error: Exception) -> Response:
        if is_web(request) and isinstance(error, StarletteHTTPException):
            return _http_page(request, error)
        return await _answer(http, request, error)

    async def _domain(request: Request, error: Exception) -> Response:
        if is_web(request) and isinstance(error, TopmatchError):
            return error_page(request, error, user=_visitor(request))
        return await _answer(domain, request, error)

    async def _invalid(request: Request, error: Exception) -> Response:
        if is_web(request) and isinstance(error, RequestValidationError):
            return _invalid_page(request, error)
        return await _answer(invalid, request, error)

    app.add_exception_handler(TopmatchError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(packages=[("topmatch.web", "static")]), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> RedirectResponse:
        # the path only: a query string may hold a name someone searched for
        target = quote(request.url.path, safe="")
        return RedirectResponse(f"/inloggen?next={target}", status_code=303)

    _wrap_error_handlers(app)

    @app.middleware("http")
    async def _headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if is_web(request):  # pages, redirects, downloads and static files alike
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response
