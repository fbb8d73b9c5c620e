"""The web app: signing in, CSRF, the language, search, and the Dutch catalogue."""

from __future__ import annotations

import io
import re
from importlib import resources

import pytest
from babel.messages.extract import extract
from babel.support import NullTranslations
from fastapi.testclient import TestClient

from topmatch.web import i18n

TEMPLATES = resources.files("topmatch.web") / "templates"


@pytest.fixture
def consultant_token(consultant: dict[str, str]) -> str:
    return consultant["Authorization"].removeprefix("Bearer ")


Message = str | tuple[str, str]  # a msgid, or the singular and plural of an ngettext


def _template_messages() -> dict[Message, set[str]]:
    found: dict[Message, set[str]] = {}
    for item in TEMPLATES.iterdir():
        if not item.name.endswith(".html"):
            continue
        for _lineno, message, _comments, _context in extract(
            "jinja2.ext:babel_extract",
            io.BytesIO(item.read_bytes()),
            options={"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"},
        ):
            key: Message = (message[0], message[1]) if isinstance(message, tuple) else message
            if key:
                found.setdefault(key, set()).add(item.name)
    return found


def translated(catalogue: NullTranslations, message: Message) -> bool:
    """Whether the catalogue has ``message`` (for a plural: its plural form)."""
    if isinstance(message, tuple):
        return catalogue.ngettext(message[0], message[1], 2) != message[1]
    return catalogue.gettext(message) != message


def test_every_text_in_the_templates_has_a_dutch_translation() -> None:
    dutch = i18n.translations("nl")
    missing = {
        message: sorted(names)
        for message, names in _template_messages().items()
        if not translated(dutch, message) and message not in {"Topmatch", "Contract"}
    }
    assert missing == {}


def test_pages_need_a_session_and_sign_in_sets_a_safe_cookie(
    client: TestClient, consultant_token: str
) -> None:
    page = client.get("/zoeken", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/inloggen?next=%2Fzoeken")
    refused = client.post("/inloggen", data={"token": "nope", "next": "/"})
    assert refused.status_code == 401
    assert "onbekend" in refused.text
    signed = client.post(
        "/inloggen",
        data={"token": consultant_token, "next": "//evil.example"},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/"  # never off-site
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    home = client.get("/")
    assert home.status_code == 200
    assert '<html lang="nl">' in home.text
    assert "Zoeken bij alle bureaus" in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]


def test_forms_without_the_csrf_token_are_refused(
    client: TestClient, consultant_token: str
) -> None:
    client.post("/inloggen", data={"token": consultant_token})
    assert client.post("/uitloggen", data={}).status_code == 403
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/").text)
    assert csrf is not None
    out = client.post("/uitloggen", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303


def test_english_is_one_click_away(client: TestClient, consultant_token: str) -> None:
    client.post("/inloggen", data={"token": consultant_token})
    client.post("/taal", data={"lang": "en", "next": "/zoeken"})
    page = client.get("/zoeken")
    assert '<html lang="en">' in page.text
    assert "Search all bureaus" in page.text


def test_search_shows_ranked_openings_with_reasons(
    client: TestClient, consultant_token: str
) -> None:
    client.post("/inloggen", data={"token": consultant_token})
    page = client.get("/zoeken", params={"q": "magazijn", "place": "Nergensdorp"})
    assert page.status_code == 200
    assert 'role="alert"' in page.text  # an unknown place is explained, not a crash
    empty = client.get("/zoeken", params={"q": "magazijn"})
    assert "Niets gevonden" in empty.text or "openingen" in empty.text
