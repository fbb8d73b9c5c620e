"""The web app: signing in, CSRF, the language, search, and the Dutch catalogue."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from importlib import resources

import pytest
from babel.messages.extract import extract
from babel.support import NullTranslations
from fastapi.testclient import TestClient

from tests.factories import web_sign_in
from topmatch.errors import ConflictError, PermissionDeniedError
from topmatch.web import core, i18n, messages, reasons

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
    refused = web_sign_in(client, "nope")
    assert refused.status_code == 401
    assert "onbekend" in refused.text
    signed = web_sign_in(client, consultant_token, next="//evil.example", follow_redirects=False)
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
    web_sign_in(client, consultant_token)
    assert client.post("/uitloggen", data={}).status_code == 403
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/").text)
    assert csrf is not None
    out = client.post("/uitloggen", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303


def test_english_is_one_click_away(client: TestClient, consultant_token: str) -> None:
    web_sign_in(client, consultant_token)
    client.post("/taal", data={"lang": "en", "next": "/zoeken"})
    page = client.get("/zoeken")
    assert '<html lang="en">' in page.text
    assert "Search all bureaus" in page.text


def test_search_shows_ranked_openings_with_reasons(
    client: TestClient, consultant_token: str
) -> None:
    web_sign_in(client, consultant_token)
    page = client.get("/zoeken", params={"q": "magazijn", "place": "Nergensdorp"})
    assert page.status_code == 200
    assert 'role="alert"' in page.text  # an unknown place is explained, not a crash
    empty = client.get("/zoeken", params={"q": "magazijn"})
    assert "Niets gevonden" in empty.text or "openingen" in empty.text


def test_the_search_form_offers_dutch_occupation_names_not_an_isco_field(
    client: TestClient, consultant_token: str
) -> None:
    web_sign_in(client, consultant_token)
    page = client.get("/zoeken")
    assert '<select id="occupation" name="occupation">' in page.text
    assert '<option value="Orderpicker" >Orderpicker</option>' in page.text
    assert "ISCO" not in page.text
    picked = client.get("/zoeken", params={"occupation": "Kok"})
    assert picked.status_code == 200
    assert '<option value="Kok" selected>Kok</option>' in picked.text


# --- one language: times, hours, plurals, reasons, peers' errors, the icon ---------------


def test_moments_are_on_the_amsterdam_clock_and_name_it_when_asked() -> None:
    evening = datetime(2026, 12, 4, 17, 35, tzinfo=UTC)
    assert core.moment(evening) == "4 december 2026 18:35"
    assert core.moment(evening, zone=True) == "4 december 2026 18:35 (Nederlandse tijd)"
    assert core.moment(evening, language="en", zone=True) == "4 December 2026 18:35 (Dutch time)"
    summer = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)  # already the next day in Amsterdam
    assert core.moment(summer.isoformat()) == "2 juli 2026 00:30"
    assert core.datum(summer) == "2 juli 2026"
    assert core.datum(date(2026, 10, 1), language="en") == "1 October 2026"
    assert core.moment(None) == ""


def test_hours_and_counts_read_right_in_both_languages() -> None:
    dutch, english = i18n.translations("nl"), i18n.translations("en")
    assert messages.hours(16, 16, dutch) == "16 uur"
    assert messages.hours(16, 24, dutch) == "16–24 uur"
    assert messages.hours(1, 1, english) == "1 hour"
    assert messages.hours(16, 16, english) == "16 hours"
    assert messages.hours(None, None, dutch) == ""
    assert dutch.ngettext("%(num)s opening", "%(num)s openings", 1) % {"num": 1} == "1 opening"
    assert dutch.ngettext("%(num)s opening", "%(num)s openings", 2) % {"num": 2} == "2 openingen"


def test_match_reasons_are_shown_in_english_on_an_english_page() -> None:
    dutch = (
        "zelfde beroep (ISCO 9321); beroepsnaam komt overeen (1 van 2 woorden); "
        "vaardigheden: orderpicken, heftruck; 12 km van Tilburg; "
        "uren 24–32 passen deels bij minstens 30 uur; geen urenwens opgegeven; "
        "opleidingsniveau één onder de eis (NLQF 2, gevraagd 3); tekst past bij de zoekvraag; "
        "pas 1 week na de startdatum beschikbaar (−2); afstand onbekend"
    )
    assert reasons.in_language(dutch, "nl") == dutch
    assert reasons.in_language(dutch, "en") == (
        "same occupation (ISCO 9321); occupation name matches (1 of 2 words); "
        "skills: orderpicken, heftruck; 12 km from Tilburg; "
        "hours 24–32 partly fit at least 30 hours; no hours asked for; "
        "education level one below the requirement (NLQF 2, asked 3); text matches the search; "
        "available only 1 week after the start date (−2); distance unknown"
    )
    assert reasons.in_language("uren 16 passen bij 16 uur", "en") == "hours 16 fit 16 hours"
    assert reasons.in_language("verwant werk (ISCO 8344)", "en") == "related work (ISCO 8344)"
    assert reasons.in_language("iets nieuws", "en") == "iets nieuws"  # a newer peer's wording


def test_every_mismatch_reason_is_shown_in_english() -> None:
    dutch = (
        "38–40 uur, cliënt wil 36; 10–15 uur, cliënt wil hoogstens 8; 4 km verder dan de grens; "
        "reisafstand niet opgegeven; rijbewijs C/CE gevraagd; Nederlands B1 gevraagd; "
        "alleen doelgroepregister; "
        "voor het doelgroepregister; opleidingsniveau te laag (geen NLQF-niveau, gevraagd NLQF 3); "
        "opleidingsniveau één onder de eis (geen NLQF-niveau, gevraagd 1)"
    )
    assert reasons.in_language(dutch, "en") == (
        "38–40 hours, client wants 36; 10–15 hours, client wants at most 8; 4 km past the limit; "
        "travel distance not asked yet; driving licence C/CE required; Dutch B1 required; "
        "target group register only; for the target group register; "
        "education level too low (no NLQF level, asked NLQF 3); "
        "education level one below the requirement (no NLQF level, asked 1)"
    )


def test_a_peers_error_is_named_in_the_pages_language_with_the_raw_text_as_detail() -> None:
    dutch = i18n.translations("nl").gettext
    cases = {
        "werkpad: unreachable: All connection attempts failed": "niet bereikbaar",
        "werkpad: timed out (ReadTimeout)": "gaf niet op tijd antwoord",
        "werkpad: answered HTTP 503": "had een interne fout",
        "werkpad: response signature rejected: unknown key id": (
            "stuurde een antwoord waarvan de handtekening niet klopte"
        ),
        "werkpad: HTTP 409: already declined": "geweigerd",
        "werkpad: something new": "gaf geen bruikbaar antwoord",
    }
    for text, kind in cases.items():
        assert messages.peer_kind(text, dutch) == kind, text
    html = str(messages.peer_error_html("werkpad: unreachable: <refused>", dutch))
    assert html.startswith("niet bereikbaar <small")
    assert '<span lang="en">werkpad: unreachable: &lt;refused&gt;</span>' in html
    assert str(messages.peer_error_html(None, dutch)) == ""


def test_a_refusal_no_rule_knows_is_named_by_its_kind_with_the_detail_after_it() -> None:
    dutch = i18n.translations("nl").gettext
    known = PermissionDeniedError("this needs the role admin; your role is finance")
    assert messages.explain(known, dutch) == (
        "Met uw rol hebt u geen toegang tot deze pagina.",
        None,
    )
    unknown = ConflictError("introduction 1111 is already declined")
    assert messages.explain(unknown, dutch) == (
        "Dit botst met wat al is vastgelegd.",
        "introduction 1111 is already declined",
    )


def test_the_icon_and_an_unknown_page(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
    missing = client.get("/bestaat-niet")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Deze pagina bestaat niet." in missing.text
    assert (
        client.get("/api/v1/bestaat-niet")
        .headers["content-type"]
        .startswith("application/problem+json")
    )
