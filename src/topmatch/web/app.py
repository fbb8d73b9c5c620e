"""Mounting the web app on a node: its pages, its static files, its sign-in redirect."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from topmatch.web import clients, federation, finance, introductions, openings, pages
from topmatch.web.core import SignInRequired

ROUTERS = [
    pages.router,
    clients.router,
    finance.router,
    federation.router,
    openings.router,
    introductions.router,
]


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(packages=[("topmatch.web", "static")]), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/inloggen?next={quote(target, safe='')}", status_code=303)
