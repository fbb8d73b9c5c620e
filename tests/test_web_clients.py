"""My clients in the web app: list, create, a client's page with matches, edit, refusals;
and web/forms.py, which turns validation errors into a Dutch message per field."""

from __future__ import annotations

import io
import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from tests.factories import BSNS, FrozenClock, client_data, web_sign_in
from tests.fednodes import FakePeer, page, vacancy_body
from topmatch import db
from topmatch.audit import service as audit
from topmatch.cardbox.schemas import ClientCreate
from topmatch.errors import ConflictError, InputError
from topmatch.federation import replication
from topmatch.publishing.schemas import FeedPage
from topmatch.settings import Settings
from topmatch.web import forms, i18n

Headers = dict[str, str]
TODAY = {"consent_date": "2026-11-30"}  # the frozen clock's date: consent given on creation
WEB = resources.files("topmatch.web")
MINE = ("clients.html", "client_form.html", "client_fields.html", "client_page.html")


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, clock: FrozenClock) -> Settings:
    """A node with one peer, Werkpad, whose openings the matches section can show."""
    peers = tmp_path / "peers"
    FakePeer.make("werkpad", clock()).install(peers)
    return settings.model_copy(update={"peers_dir": peers})


def _token(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _sign_in(client: TestClient, headers: Headers) -> str:
    """Sign in through the form; the CSRF token of the session."""
    web_sign_in(client, _token(headers))
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/clienten/nieuw").text)
    assert found is not None
    return found.group(1)


def _form(**overrides: Any) -> dict[str, Any]:
    """client_data() as the browser posts it: strings, checkboxes only when ticked."""
    data = client_data()
    posted: dict[str, Any] = {
        key: value
        for key, value in data.items()
        if not isinstance(value, (bool, list)) and value is not None
    }
    posted |= {
        "hours_min": str(data["hours_min"]),
        "hours_max": str(data["hours_max"]),
        "max_travel_km": str(data["max_travel_km"]),
        "skills": ", ".join(data["skills"]),
        "languages": ", ".join(data["languages"]),
        "driving_licences": data["driving_licences"],
        "doelgroepregister": "true",
        "consent_share_profile": "true",
        "desired_occupations.0.label": "Magazijnmedewerker",
        "desired_occupations.0.isco08": "9321",
        "desired_occupations.1.label": "",
        "status": "active",
    }
    posted.update(overrides)
    return {k: v for k, v in posted.items() if v is not None}


def _count(client: TestClient, headers: Headers) -> int:
    total: int = client.get("/api/v1/clients", headers=headers).json()["total"]
    return total


def _create(client: TestClient, csrf: str, **overrides: Any) -> str:
    response = client.post("/clienten/nieuw", data={"csrf": csrf, **_form(**overrides)})
    assert response.status_code == 201, response.text
    return response.headers["content-location"].removeprefix("/clienten/")


# --- list and create ---------------------------------------------------------------------


def test_a_new_client_is_shown_at_once_and_then_listed(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    csrf = _sign_in(client, consultant)
    assert "Nog geen cliënten" in client.get("/clienten").text
    form = client.get("/clienten/nieuw").text
    assert 'autocomplete="given-name"' in form
    assert 'type="date"' in form
    assert re.search(r'<input type="checkbox" id="consent_share_profile"', form)
    assert all(f'<label for="{name}">' in form for name in ("bsn", "postcode", "notes"))

    created = client.post("/clienten/nieuw", data={"csrf": csrf, **_form()})
    assert created.status_code == 201
    assert "Opgeslagen" in created.text
    assert "Sanne van Dijk" in created.text
    assert "******333" in created.text
    assert BSNS[0] not in created.text  # the full BSN is never echoed into a page
    assert "Passende openingen bij alle bureaus" in created.text
    client_id = created.headers["content-location"].removeprefix("/clienten/")
    with db.transaction(engine) as session:
        events = audit.events(session=session, entity_id=client_id)
        assert [(e.action, e.actor) for e in events] == [("create", "jobcoach-anna")]

    listed = client.get("/clienten")
    assert f'href="/clienten/{client_id}"' in listed.text
    assert "Sanne van Dijk" in listed.text
    assert "Wajong" in listed.text
    assert "mag gedeeld worden" in listed.text
    assert "Sanne" in client.get("/clienten", params={"q": "dijk"}).text
    assert "Sanne" not in client.get("/clienten", params={"q": "jansen"}).text
    assert "Sanne" not in client.get("/clienten", params={"status": "placed"}).text


def test_the_list_pages(client: TestClient, consultant: Headers, clock: FrozenClock) -> None:
    csrf = _sign_in(client, consultant)
    for n, bsn in enumerate(BSNS[:3]):
        _create(client, csrf, bsn=bsn, first_name=f"Klant{n}")
        clock.advance(minutes=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("topmatch.web.clients.PAGE_SIZE", 2)
        first = client.get("/clienten").text
        second = client.get("/clienten", params={"pagina": "2"}).text
    assert "Cliënten: 3 · pagina 1 van 2" in first
    assert 'href="/clienten?pagina=2"' in first
    assert "Klant0" in second
    assert "Klant0" not in first  # newest change first
    assert 'rel="prev"' in second


def test_invalid_input_comes_back_with_a_dutch_message_under_each_field(
    client: TestClient, consultant: Headers
) -> None:
    csrf = _sign_in(client, consultant)
    bad = {
        "first_name": "",
        "bsn": "123456789",
        "date_of_birth": "31-02-1999",
        "email": "sanne-at-example",
        "phone": "bel me",
        "postcode": "51 JA",
        "municipality": "Walwijk",
        "hours_max": "99",
        "max_travel_km": "ver",
        "languages": "nl, nederlands",
        "desired_occupations.0.isco08": "93",
    }
    response = client.post("/clienten/nieuw", data={"csrf": csrf, **_form(**bad)})
    assert response.status_code == 422
    page_ = response.text
    expected = {
        "first_name": "Vul dit veld in.",
        "bsn": "Dit BSN voldoet niet aan de elfproef",
        "date_of_birth": "Vul een datum in, zoals 31-12-1990.",
        "email": "Vul een e-mailadres in",
        "phone": "Vul een telefoonnummer in",
        "postcode": "Vul een Nederlandse postcode in, zoals 1234 AB.",
        "municipality": "Onbekende gemeente. Bedoelt u: Waalwijk",
        "hours_max": "Vul hoogstens 60 in.",
        "max_travel_km": "Vul een heel getal in",
        "languages": "Gebruik taalcodes van twee letters",
        "desired_occupations.0.isco08": "Vul 4 cijfers in",
    }
    for field, message in expected.items():
        error = re.search(rf'<p class="error" id="err-{re.escape(field)}">([^<]*)</p>', page_)
        assert error is not None, field
        assert message in error.group(1), (field, error.group(1))
        tag = re.search(rf'<input id="{re.escape(field)}"[^>]*>', page_)
        assert tag is not None, field
        assert 'aria-invalid="true"' in tag.group(0)
        assert re.search(rf'aria-describedby="[^"]*err-{re.escape(field)}', tag.group(0))
    assert 'role="alert"' in page_
    assert 'href="#municipality"' in page_  # the summary links to the field
    assert "Gemeente: Onbekende gemeente" in page_
    for kept in ('value="Walwijk"', 'value="51 JA"', 'value="bel me"', 'value="Dijk"'):
        assert kept in page_
    assert _count(client, consultant) == 0


def test_a_service_refusal_is_shown_under_its_field(
    client: TestClient, consultant: Headers
) -> None:
    csrf = _sign_in(client, consultant)
    _create(client, csrf)
    again = client.post("/clienten/nieuw", data={"csrf": csrf, **_form(first_name="Tweede")})
    assert again.status_code == 409
    assert re.search(r'id="err-bsn">Er staat al een cliënt met dit BSN', again.text)
    future = client.post(
        "/clienten/nieuw",
        data={"csrf": csrf, **_form(bsn=BSNS[1], date_of_birth="2030-01-01")},
    )
    assert future.status_code == 422
    assert 'id="err-date_of_birth">Vul een datum in het verleden in.' in future.text
    assert _count(client, consultant) == 1


def test_a_form_without_the_csrf_token_stores_nothing(
    client: TestClient, consultant: Headers
) -> None:
    _sign_in(client, consultant)
    assert client.post("/clienten/nieuw", data=_form()).status_code == 403
    assert client.post("/clienten/nieuw", data={"csrf": "0" * 40, **_form()}).status_code == 403
    assert _count(client, consultant) == 0


# --- a client's page ---------------------------------------------------------------------


def _peer_opening(engine: Engine, now: datetime) -> None:
    body = vacancy_body(
        "werkpad",
        f"v-{1:024x}",
        1,
        now,
        title="Magazijnmedewerkers gezocht",
        place={"municipality": "Waalwijk"},
    )
    with db.transaction(engine) as session:
        feed = page("werkpad", 0, [{"seq": 1, "op": "upsert", "summary": body}])
        replication.apply_page(session, FeedPage.model_validate(feed), now)


def test_the_client_page_shows_openings_at_every_bureau_with_introduce_buttons(
    client: TestClient, consultant: Headers, engine: Engine, clock: FrozenClock
) -> None:
    _peer_opening(engine, clock())
    csrf = _sign_in(client, consultant)
    client_id = _create(client, csrf)
    page_ = client.get(f"/clienten/{client_id}")
    assert page_.status_code == 200
    assert "Passende openingen bij alle bureaus" in page_.text
    assert "Magazijnmedewerkers gezocht" in page_.text
    assert 'action="/voorstellen/nieuw"' in page_.text
    assert f'name="client_id" value="{client_id}"' in page_.text
    assert 'name="peer" value="werkpad"' in page_.text
    assert "******333" in page_.text
    assert BSNS[0] not in page_.text
    with db.transaction(engine) as session:
        actions = [e.action for e in audit.events(session=session, entity_id=client_id)]
    assert actions == ["read", "create"]  # reading the page is audited


def test_without_consent_there_are_no_introduce_buttons_and_a_note_why(
    client: TestClient, consultant: Headers, engine: Engine, clock: FrozenClock
) -> None:
    _peer_opening(engine, clock())
    csrf = _sign_in(client, consultant)
    client_id = _create(client, csrf, consent_share_profile=None)
    page_ = client.get(f"/clienten/{client_id}").text
    assert "Magazijnmedewerkers gezocht" in page_
    assert "/voorstellen/nieuw" not in page_
    assert "geen toestemming gegeven om een anoniem profiel te delen" in page_


def test_an_unknown_client_is_a_dutch_404(client: TestClient, consultant: Headers) -> None:
    _sign_in(client, consultant)
    missing = client.get("/clienten/bestaat-niet")
    assert missing.status_code == 404
    assert "Niet gevonden" in missing.text


# --- editing -----------------------------------------------------------------------------


def test_editing_stores_the_change_and_refuses_a_stale_version(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    csrf = _sign_in(client, consultant)
    client_id = _create(client, csrf)
    form = client.get(f"/clienten/{client_id}/bewerken").text
    assert 'name="version" value="1"' in form
    assert 'value="Waalwijk"' in form
    assert BSNS[0] not in form  # typed only to change it
    url = f"/clienten/{client_id}/bewerken"
    edited = client.post(
        url,
        data={"csrf": csrf, "version": "1", **_form(bsn="", city="Sprang-Capelle", **TODAY)},
    )
    assert edited.status_code == 200
    assert "Opgeslagen" in edited.text
    assert "Sprang-Capelle" in edited.text
    with db.transaction(engine) as session:
        update = next(
            e for e in audit.events(session=session, entity_id=client_id) if e.action == "update"
        )
    assert update.detail == {"fields": ["city"]}  # only what the form changed

    stale = client.post(
        url, data={"csrf": csrf, "version": "1", **_form(bsn="", city="Tilburg", **TODAY)}
    )
    assert stale.status_code == 409
    assert "Iemand anders heeft dit intussen gewijzigd" in stale.text
    assert 'value="Tilburg"' in stale.text  # what was typed is kept
    assert f'href="/clienten/{client_id}/bewerken"' in stale.text
    current = client.get(f"/api/v1/clients/{client_id}", headers=consultant).json()
    assert (current["city"], current["version"]) == ("Sprang-Capelle", 2)

    invalid = client.post(url, data={"csrf": csrf, "version": "2", **_form(bsn="", last_name="")})
    assert invalid.status_code == 422
    assert 'id="err-last_name">Vul dit veld in.' in invalid.text
    assert client.post(url, data={"version": "2", **_form(bsn="")}).status_code == 403


def test_withdrawing_and_giving_consent_again_records_today(
    client: TestClient, consultant: Headers
) -> None:
    csrf = _sign_in(client, consultant)
    client_id = _create(client, csrf, consent_date="2026-01-05")
    url = f"/clienten/{client_id}/bewerken"
    client.post(
        url, data={"csrf": csrf, "version": "1", **_form(bsn="", consent_share_profile=None)}
    )
    given = client.post(
        url, data={"csrf": csrf, "version": "2", **_form(bsn="", consent_date="2026-11-30")}
    )
    assert given.status_code == 200
    current = client.get(f"/api/v1/clients/{client_id}", headers=consultant).json()
    assert (current["consent_share_profile"], current["consent_date"]) == (True, "2026-11-30")


# --- who may --------------------------------------------------------------------------------


def test_finance_is_refused_and_an_admin_is_let_in(
    client: TestClient, consultant: Headers, finance: Headers, admin: Headers
) -> None:
    csrf = _sign_in(client, consultant)
    client_id = _create(client, csrf)
    client.cookies.clear()
    web_sign_in(client, _token(finance))
    csrf_finance = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/clienten").text)
    assert csrf_finance is not None
    pages = (
        "/clienten",
        "/clienten/nieuw",
        f"/clienten/{client_id}",
        f"/clienten/{client_id}/bewerken",
    )
    for path in pages:
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "geen toegang" in refused.text
    posted = client.post(
        "/clienten/nieuw", data={"csrf": csrf_finance.group(1), **_form(bsn=BSNS[1])}
    )
    assert posted.status_code == 403
    assert _count(client, consultant) == 1
    client.cookies.clear()
    web_sign_in(client, _token(admin))
    assert client.get("/clienten").status_code == 200


# --- forms.py ------------------------------------------------------------------------------


def _msgids() -> set[str]:
    found: set[str] = set()
    for name in MINE:
        source = (WEB / "templates" / name).read_bytes()
        options = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}
        for _, message, _, _ in extract(
            "jinja2.ext:babel_extract", io.BytesIO(source), options=options
        ):
            found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    for name in ("forms.py", "clients.py"):
        source = (WEB / name).read_bytes()
        for _, message, _, _ in extract("python", io.BytesIO(source), keywords={"N_": None}):
            found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


def test_every_text_of_these_pages_and_messages_has_a_dutch_translation() -> None:
    dutch: dict[str, str] = {}
    for item in (WEB / "locales" / "nl" / "LC_MESSAGES").iterdir():
        if item.name.endswith(".po"):
            catalog = read_po(io.BytesIO(item.read_bytes()), locale="nl")
            dutch |= {str(m.id): str(m.string) for m in catalog if m.id and m.string}
    ids = _msgids()
    assert len(ids) > 100
    assert sorted(ids - set(dutch)) == []


def _dutch() -> forms.Gettext:
    return i18n.translations("nl").gettext


def test_prepare_turns_blanks_into_missing_or_none_and_reads_dutch_dates() -> None:
    from datetime import date  # noqa: PLC0415

    class Dated(BaseModel):
        born: date
        when: date | None = None
        rate: float | None = None
        note: str = "x"

    prepared = forms.prepare(
        Dated, {"born": "7-3-1990", "when": " ", "rate": "12,5", "note": "", "other": ""}
    )
    assert prepared == {"born": "1990-03-07", "when": None, "rate": "12.5", "other": ""}
    model, errors = forms.validate(Dated, {"born": ""}, _dutch())
    assert model is None
    assert errors == {"born": "Vul dit veld in."}


def test_pydantic_errors_map_to_the_form_field_with_dutch_messages() -> None:
    data = client_data(
        skills=["ok", ""], driving_licences=["Z"], first_name="x" * 101, benefit_type="zz"
    )
    with pytest.raises(ValidationError) as caught:
        ClientCreate.model_validate(data)
    errors = forms.errors_of(caught.value, _dutch(), fields={"skills", "driving_licences"})
    assert errors == {
        "first_name": "Gebruik hoogstens 100 tekens.",
        "benefit_type": "Kies een van de mogelijkheden.",
        "skills": "Vul dit veld in.",
        "driving_licences": "Kies een van de mogelijkheden.",
    }


def test_service_errors_are_explained_under_their_field() -> None:
    gettext = _dutch()
    known = ConflictError("a client with this BSN is already in the card-box", field="bsn_index")
    assert forms.explain(known, gettext) == {
        "bsn": "Er staat al een cliënt met dit BSN in de kaartenbak."
    }
    ambiguous = InputError(
        "'Bergen' is ambiguous (2 places); say which: 'Bergen (L.)' or 'Bergen (NH.)'"
    )
    assert forms.explain(ambiguous, gettext) == {
        "": "Meer gemeenten hebben deze naam; schrijf een van: 'Bergen (L.)', 'Bergen (NH.)'."
    }
    odd = InputError("something new", field="x")
    assert forms.explain(odd, gettext) == {
        "x": 'Niet geaccepteerd: <span lang="en">something new</span>'
    }
    assert forms.translate("no client with id abc", gettext).startswith("Niet gevonden")
    assert forms.translate("unheard of", gettext) == "unheard of"
    assert forms.rows({"o.1.a": "x", "o.0.a": " ", "o.0.b": "", "o.2.b": "y"}, "o", ["a", "b"]) == [
        {"a": "x", "b": ""},
        {"a": "", "b": "y"},
    ]
    assert forms.split_list("a, b;\nc,,") == ["a", "b", "c"]


def test_the_summary_keeps_english_marked_and_escapes_the_rest() -> None:
    from topmatch.web import clients as client_pages  # noqa: PLC0415

    gettext = i18n.translations("nl").gettext
    errors = {
        "phone": "<b>te kort</b>",
        "notes": forms.not_accepted("<script>x</script>", gettext),
    }
    texts = {item["anchor"]: str(item["text"]) for item in client_pages._summary(errors, gettext)}
    assert texts["phone"] == "Telefoon: &lt;b&gt;te kort&lt;/b&gt;"
    assert texts["notes"].endswith('<span lang="en">&lt;script&gt;x&lt;/script&gt;</span>')
