"""The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, served offline.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a node without internet
they are blank, and a CDN script is a script we do not control. The JS and CSS come from
the ``fastapi-offline`` package instead (installed with the node, updated with its
version) and are served by the node under ``/docs/assets``. Swagger UI is started by a
small script of our own at ``/docs/start.js``, so neither page has an inline script and
the policy can say ``script-src 'self'``. ReDoc writes its styles into ``<style>``
elements at run time and builds its search worker from a ``blob:`` URL: those two, and
nothing from elsewhere, are what its policy adds.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"

_COMMON = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "font-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)
SWAGGER_CSP = f"{_COMMON}; style-src 'self'"
# ReDoc (styled-components) injects <style> elements and starts its search worker from a blob.
REDOC_CSP = f"{_COMMON}; style-src 'self' 'unsafe-inline'; worker-src blob:"

_START = """\
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
"""

_SWAGGER = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="{root}{assets}/swagger-ui.css">
<link rel="icon" href="{root}{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi="{root}{openapi}"></div>
<script src="{root}{assets}/swagger-ui-bundle.js"></script>
<script src="{root}/docs/start.js"></script>
</body>
</html>
"""

_REDOC = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - ReDoc</title>
<link rel="icon" href="{root}{assets}/favicon.png">
</head>
<body>
<redoc spec-url="{root}{openapi}"></redoc>
<script src="{root}{assets}/redoc.standalone.js"></script>
</body>
</html>
"""


def _headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def _page(template: str, request: Request, app: FastAPI) -> str:
    return template.format(
        title=escape(app.title),
        root=escape(str(request.scope.get("root_path", ""))),
        assets=ASSETS,
        openapi=escape(app.openapi_url or "/openapi.json"),
    )


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` from the node itself. The app must be built with
    ``docs_url=None, redoc_url=None`` so that FastAPI's CDN pages are not registered."""
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return HTMLResponse(_page(_SWAGGER, request, app), headers=_headers(SWAGGER_CSP))

    @app.get("/docs/start.js", include_in_schema=False)
    def swagger_start() -> Response:
        return Response(_START, media_type="text/javascript", headers=_headers(SWAGGER_CSP))

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return HTMLResponse(_page(_REDOC, request, app), headers=_headers(REDOC_CSP))
