"""The API documentation pages work without internet: every script, style sheet and
icon they load comes from the node itself, under a strict content security policy."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


class _Assets(HTMLParser):
    """The URLs a page loads: script src, link href."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def _assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_same_origin_assets(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    urls = _assets(response.text)
    assert urls, "the page loads its viewer from somewhere"
    for url in urls:
        assert url.startswith("/"), f"{url} is not served by the node"
        assert not url.startswith("//"), f"{url} is protocol-relative, not same-origin"
        asset = client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rindex(".") :]
        assert EXPECTED_TYPES[suffix] in asset.headers["content-type"], url
    assert "http://" not in response.text
    assert "https://" not in response.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_have_a_strict_policy(client: TestClient, page: str) -> None:
    policy = client.get(page).headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no CDN
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "http" not in policy
    assert "*" not in policy


def test_swagger_ui_reads_this_nodes_openapi(client: TestClient) -> None:
    html = client.get("/docs").text
    assert 'data-openapi="/openapi.json"' in html
    assert "swagger-ui-bundle.js" in html
    assert 'spec-url="/openapi.json"' in client.get("/redoc").text
    assert client.get("/openapi.json").status_code == 200
