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

from topmatch.accounts.models import User
from topmatch.errors import InputError, TopmatchError
from topmatch.web import clients, federation, finance, introductions, openings, pages
from topmatch.web.core import SECURITY_HEADERS, SignInRequired, error_page, signed_in

ROUTERS = [
    pages.router,
    clients.router,
    finance.router,
    federation.router,
    openings.router,
    introductions.router,
]
NOT_WEB = ("/api/", "/federation/", "/docs", "/redoc", "/openapi.json", "/healthz", "/metrics")


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


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(packages=[("topmatch.web", "static")]), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> RedirectResponse:
        # the path only: a query string may hold a name someone searched for
        target = quote(request.url.path, safe="")
        return RedirectResponse(f"/inloggen?next={target}", status_code=303)

    domain = app.exception_handlers[TopmatchError]
    invalid = app.exception_handlers[RequestValidationError]

    async def _domain(request: Request, error: Exception) -> Response:
        if is_web(request) and isinstance(error, TopmatchError):
            return error_page(request, error, user=_visitor(request))
        return await _answer(domain, request, error)

    async def _invalid(request: Request, error: Exception) -> Response:
        if is_web(request) and isinstance(error, RequestValidationError):
            first = error.errors()[0] if error.errors() else {}
            field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
            message = str(first.get("msg", "invalid input")).removeprefix("Value error, ")
            return error_page(request, InputError(message, field=field), user=_visitor(request))
        return await _answer(invalid, request, error)

    app.add_exception_handler(TopmatchError, _domain)
    app.add_exception_handler(RequestValidationError, _invalid)

    @app.middleware("http")
    async def _headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if is_web(request):  # pages, redirects, downloads and static files alike
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response
