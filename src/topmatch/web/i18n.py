"""Translations from gettext catalogues: ``locales/<lang>/LC_MESSAGES/*.po``.

Message ids are English; the Dutch catalogue translates them, and Dutch is the default.
The ``.po`` files are compiled in memory at start (Babel), so there is no build step and
no compiled file to keep in step. One catalogue file per area of the app keeps the work of
several people apart; they are merged per language.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"


@cache
def translations(language: str) -> NullTranslations:
    """Every catalogue of ``language`` merged into one; unknown languages get none."""
    merged: NullTranslations = NullTranslations()
    if language not in LANGUAGES:
        return merged
    folder = resources.files("topmatch.web") / "locales" / language / "LC_MESSAGES"
    if not folder.is_dir():
        return merged
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not item.name.endswith(".po"):
            continue
        catalog = read_po(io.BytesIO(item.read_bytes()), locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = Translations(fp=compiled)
        if isinstance(merged, Translations):
            merged.merge(part)
        else:
            merged = part
    return merged


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The language a person chose (cookie), else Dutch: the app is for Dutch bureaus,
    so a browser set to English still gets Dutch until its user picks English."""
    del accept_language  # a deliberate choice only: see the docstring
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE
