"""One language per page: every page of the web app, in Dutch and in English, holds no
text of the other language; and the catalogue translates every message the app uses.

A page's visible text (text nodes and the ``title``, ``aria-label``, ``placeholder`` and
``alt`` attributes) is compared with the catalogue: in Dutch no English msgid whose Dutch
differs may appear, in English no Dutch translation. Text inside an element that names
another language (``lang="en"``: a peer's raw error as secondary detail; ``lang="nl"``:
the printable Dutch statement) is what it says it is and is not checked. In Dutch,
common English words that Dutch never uses catch English that is in no catalogue (a
service's message shown as is).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from pprint import pformat
from typing import Any

import httpx
import pytest
import respx
from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.factories import FrozenClock, client_data, vacancy_data, web_sign_in
from tests.test_web_finance import ledger_q4, settings, werkpad  # noqa: F401 - fixtures
from tests.test_web_work import incoming, vacancy  # noqa: F401 - fixtures
from topmatch.settlement import exports
from topmatch.vocabulary import ContractType
from topmatch.web import i18n

Headers = dict[str, str]
WEB = resources.files("topmatch.web")
LOCALES = WEB / "locales" / "nl" / "LC_MESSAGES"
CHECKED_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
#: English words no Dutch sentence uses: English in a Dutch page that no catalogue knows
ENGLISH_WORDS = frozenset(
    [
        "the",
        "and",
        "not",
        "has",
        "have",
        "with",
        "this",
        "that",
        "yet",
        "your",
        "you",
        "cannot",
        "must",
        "should",
        "been",
        "from",
        "for",
        "to",
        "which",
        "would",
        "could",
        "there",
        "their",
        "no",
        "needs",
        "role",
        "period",
        "started",
        "unreachable",
        "failed",
        "refused",
        "timed",
        "error",
        "invalid",
        "unknown",
        "expected",
        "characters",
        "answered",
    ]
)
#: Dutch words no English sentence uses: Dutch in an English page (besides the data)
DUTCH_WORDS = frozenset(
    [
        "de",
        "het",
        "een",
        "niet",
        "geen",
        "nog",
        "voor",
        "naar",
        "bij",
        "wordt",
        "zijn",
        "uur",
        "passen",
        "zelfde",
        "beroep",
        "afstand",
        "onbekend",
        "opgegeven",
        "minstens",
        "hoogstens",
        "deels",
    ]
)
#: the same text in both languages, or names that are not translated
SAME_IN_BOTH = frozenset(
    {"Topmatch", "Contract", "Nederlands", "English", "Postcode"}
    | {"WW", "Wajong", "WIA/WGA", "Participatiewet"}  # Dutch benefits: names, not words
)


# --- the catalogue -----------------------------------------------------------------------


def catalogues() -> list[Catalog]:
    return [
        read_po(io.BytesIO(item.read_bytes()), locale="nl")
        for item in LOCALES.iterdir()
        if item.name.endswith(".po")
    ]


def pairs() -> list[tuple[str, str]]:
    """(English, Dutch) of every message, singular and plural forms alike."""
    found: list[tuple[str, str]] = []
    for catalogue in catalogues():
        for message in catalogue:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            texts = message.string if isinstance(message.string, tuple) else (message.string,)
            found.extend(zip(ids, texts, strict=False))
    return found


def test_every_message_in_the_catalogue_is_translated() -> None:
    untranslated = [
        message.id
        for catalogue in catalogues()
        for message in catalogue
        if message.id
        and (
            message.fuzzy
            or not all(message.string if isinstance(message.string, tuple) else [message.string])
        )
    ]
    assert untranslated == []


def _python_messages() -> set[str | tuple[str, str]]:
    """Every msgid the web app's Python code marks (``N_``, ``gettext``, ``ngettext``)."""
    found: set[str | tuple[str, str]] = set()
    for item in WEB.iterdir():
        if not item.name.endswith(".py"):
            continue
        for _, message, _, _ in extract(
            "python",
            io.BytesIO(item.read_bytes()),
            keywords={"N_": None, "gettext": None, "ngettext": (1, 2), "_": None},
        ):
            found.add((message[0], message[1]) if isinstance(message, tuple) else message)
    return found


def _template_messages() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    for item in (WEB / "templates").iterdir():
        for _, message, _, _ in extract(
            "jinja2.ext:babel_extract",
            io.BytesIO(item.read_bytes()),
            options={"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"},
        ):
            found.add((message[0], message[1]) if isinstance(message, tuple) else message)
    return found


def test_every_message_the_app_uses_is_in_the_dutch_catalogue() -> None:
    dutch = i18n.translations("nl")
    missing = set()
    for message in _python_messages() | _template_messages():
        if isinstance(message, tuple):
            if dutch.ngettext(message[0], message[1], 2) == message[1]:
                missing.add(message)
        elif message and message not in SAME_IN_BOTH and dutch.gettext(message) == message:
            missing.add(message)
    assert missing == set()


# --- reading a page ----------------------------------------------------------------------


@dataclass
class _Text(HTMLParser):
    """The visible texts of a page, leaving out elements in another language."""

    own: str
    texts: list[str] = field(default_factory=list)
    _stack: list[tuple[str, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def _skipping(self) -> bool:
        return any(skip for _, skip in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang")
        other = lang is not None and lang != self.own
        if tag not in VOID:
            self._stack.append((tag, other or tag in ("script", "style")))
        if not (other or self._skipping()):
            self.texts.extend(v for k, v in attrs if k in CHECKED_ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skipping():
            self.texts.append(text)


VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)


def visible_texts(page: str, language: str) -> list[str]:
    parser = _Text(own=language)
    parser.feed(page)
    return parser.texts


def _pattern(text: str) -> re.Pattern[str]:
    """A message as a pattern: each placeholder stands for any text."""
    parts = re.split(r"%\(\w+\)[sd]", text)
    return re.compile(".+?".join(re.escape(" ".join(part.split())) for part in parts))


@dataclass(frozen=True)
class Foreign:
    """The texts of the other language, as patterns."""

    whole: tuple[tuple[str, re.Pattern[str]], ...]  # single words: only a whole text
    inside: tuple[tuple[str, re.Pattern[str]], ...]  # several words: anywhere in a text

    @classmethod
    def of(cls, language: str) -> Foreign:
        whole, inside = [], []
        for english, dutch in pairs():
            if english == dutch or english in SAME_IN_BOTH:
                continue
            other = english if language == "nl" else dutch
            if other in SAME_IN_BOTH:
                continue
            literal = re.sub(r"%\(\w+\)[sd]", "", other).strip(" .:,()")
            if not literal:
                continue
            target = inside if " " in literal and len(literal) > 6 else whole
            target.append((other, _pattern(other)))
        if language == "en":  # Dutch the services hand out as values, not via the catalogue
            for dutch in (*exports.SOORT.values(), *(t.value for t in ContractType)):
                (inside if " " in dutch else whole).append((dutch, _pattern(dutch)))
        return cls(tuple(whole), tuple(inside))

    def found_in(self, texts: list[str]) -> list[tuple[str, str]]:
        hits = []
        for text in texts:
            hits += [(msg, text) for msg, p in self.whole if p.fullmatch(text.strip(" .:·"))]
            hits += [(msg, text) for msg, p in self.inside if p.search(text)]
        return hits


#: what people typed (the fixtures' data) and examples of Dutch names: not interface text
TYPED = frozenset(
    {
        client_data()["notes"],
        vacancy_data("e")["description"],
        "de cliënt is na een week gestopt",
        "such as van or de",
    }
)


def words_of(texts: list[str], words: frozenset[str]) -> list[str]:
    """The texts holding one of ``words`` (as written: "DE" is a driving licence)."""
    return [
        text
        for text in texts
        if text not in TYPED
        and words & {word.lower() for word in re.findall(r"\w+", text)}
        and not text.isupper()
    ]


def english_words(texts: list[str]) -> list[str]:
    return words_of(texts, ENGLISH_WORDS)


# --- the node and its pages --------------------------------------------------------------


@pytest.fixture
def down(respx_mock: respx.MockRouter) -> respx.MockRouter:
    respx_mock.route(host="werkpad.test").mock(side_effect=httpx.ConnectError("refused"))
    return respx_mock


@pytest.fixture
def node(
    client: TestClient,
    consultant: Headers,
    incoming: str,  # noqa: F811 - the fixture of the same name
    ledger_q4: None,  # noqa: F811
    down: respx.MockRouter,
) -> dict[str, str]:
    """A node with a client, openings, an introduction from Werkpad and a quarter of
    fees; Werkpad is down."""
    created = client.post("/api/v1/clients", json=client_data(), headers=consultant)
    assert created.status_code == 201, created.text
    found = client.get("/api/v1/search", params={"q": "magazijn"}, headers=consultant).json()
    opening = found["hits"][0]["opening"]
    return {
        "client": created.json()["id"],
        "introduction": incoming,
        "opening": f"{opening['origin']}/{opening['id']}",
    }


def _sign_in(client: TestClient, headers: Headers, language: str) -> str:
    client.cookies.clear()
    token = headers["Authorization"].removeprefix("Bearer ")
    assert web_sign_in(client, token).status_code == 200
    client.post("/taal", data={"lang": language, "next": "/"})
    page = client.get("/inloggen").text
    assert f'<html lang="{language}">' in page
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/voorstellen").text)
    return found.group(1) if found else ""


def _pages(ids: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Per role: (route template, address) of every page the role can open."""
    client_id, intro = ids["client"], ids["introduction"]
    work = [
        ("/", "/"),
        ("/zoeken", "/zoeken"),
        ("/zoeken", "/zoeken?q=magazijn"),
        ("/zoeken", "/zoeken?hours=veel"),  # a filter with an error
        ("/clienten", "/clienten"),
        ("/clienten/nieuw", "/clienten/nieuw"),
        ("/clienten/{client_id}", f"/clienten/{client_id}"),
        ("/clienten/{client_id}/bewerken", f"/clienten/{client_id}/bewerken"),
        ("/clienten/{client_id}", "/clienten/bestaat-niet"),  # 404
        ("/openingen", "/openingen"),
        ("/openingen/{origin}/{summary_id}", f"/openingen/{ids['opening']}"),
        ("/openingen/{origin}/{summary_id}", f"/openingen/{ids['opening']}?client={client_id}"),
        ("/openingen/{origin}/{summary_id}", "/openingen/werkpad/v-" + "0" * 24),  # 404
        ("/voorstellen", "/voorstellen"),
        ("/voorstellen/{introduction_id}", f"/voorstellen/{intro}"),
        ("/voorstellen/{introduction_id}", f"/voorstellen/{'9' * 32}"),  # 404
    ]
    money = [
        ("/financien", "/financien"),
        ("/financien", "/financien?periode=2027-Q1"),  # not started yet
        ("/financien/{period}/verrekening", "/financien/2026-Q4/verrekening"),  # peer down
        (
            "/financien/{period}/afrekening/{counterparty}.html",
            "/financien/2026-Q4/afrekening/werkpad.html",
        ),
        ("/financien/{period}/export.{kind}", "/financien/2026-Q4/export.csv"),
    ]
    forbidden = [("/federatie", "/federatie"), ("/zoeken", "/zoeken")]  # 403 for finance
    return {
        "anonymous": [("/inloggen", "/inloggen"), ("", "/xyz")],  # 404
        "consultant": [*work, ("/federatie", "/federatie"), ("", "/xyz")],  # 403, 404
        "finance": money + forbidden,
        "admin": [*work, *money, ("/federatie", "/federatie")],
    }


def web_get_routes(app: Any) -> set[str]:
    return {
        route.path
        for route in app.routes
        if isinstance(route, APIRoute)
        and "GET" in route.methods
        # the API and its docs (Swagger UI, ReDoc) are the developers' interface, in English
        and not route.path.startswith(
            ("/api/", "/federation/", "/healthz", "/metrics", "/docs", "/redoc")
        )
    } - {"/favicon.ico"}


def _problems(page: str, language: str, foreign: Foreign) -> list[Any]:
    texts = visible_texts(page, language)
    found: list[Any] = foreign.found_in(texts)
    found += words_of(texts, ENGLISH_WORDS if language == "nl" else DUTCH_WORDS)
    return found


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_page_is_in_one_language(
    client: TestClient,
    consultant: Headers,
    finance: Headers,
    admin: Headers,
    node: dict[str, str],
    clock: FrozenClock,
    language: str,
) -> None:
    foreign = Foreign.of(language)
    tokens = {"consultant": consultant, "finance": finance, "admin": admin}
    pages = _pages(node)
    walked = {template for role in pages.values() for template, _ in role}
    assert web_get_routes(client.app) <= walked  # a new page is walked too
    problems: dict[str, Any] = {}
    statuses: set[int] = set()
    for role, addresses in pages.items():
        csrf = _sign_in(client, tokens[role], language) if role in tokens else ""
        if role == "anonymous":
            client.cookies.clear()
            client.post("/taal", data={"lang": language, "next": "/"})
        for _, address in addresses:
            answer = client.get(address)
            statuses.add(answer.status_code)
            if address != "/financien/2026-Q4/export.csv":
                assert answer.headers["content-type"].startswith("text/html"), address
                if found := _problems(answer.text, language, foreign):
                    problems[f"{role} {address} ({answer.status_code})"] = found
        if role == "admin":  # a peer's error, and a form with errors
            for address, data in (
                ("/federatie/synchroniseren", {"csrf": csrf}),
                ("/clienten/nieuw", {"csrf": csrf, "first_name": "", "bsn": "123"}),
            ):
                answer = client.post(address, data=data)
                statuses.add(answer.status_code)
                if found := _problems(answer.text, language, foreign):
                    problems[f"{role} POST {address} ({answer.status_code})"] = found
    assert {200, 403, 404, 422} <= statuses
    assert problems == {}, pformat(problems, width=120)


def test_the_checker_finds_the_other_language() -> None:
    dutch, english = Foreign.of("nl"), Foreign.of("en")
    assert dutch.found_in(["Sign out"]) == [("Sign out", "Sign out")]
    assert english.found_in(["Uitloggen"]) == [("Uitloggen", "Uitloggen")]
    assert english_words(["the period has not started yet"])
    assert not english_words(["De periode is nog niet begonnen"])
    page = '<p>Hallo <small lang="en">peer down</small></p><img alt="Sign out">'
    assert visible_texts(page, "nl") == ["Hallo", "Sign out"]


def test_the_catalogue_folder_is_where_the_app_reads_it() -> None:
    assert Path(str(LOCALES)).is_dir()
