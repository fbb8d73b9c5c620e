"""What a consultant typed in the search box, read as filters and word groups. Pure.

"orderpicker Tilburg 32 uur" is the occupation word "orderpicker" (and the names the
vocabulary gives it), the place Tilburg and 32 hours a week: the place and the hours become
the search's place and hours, not words to match (issue 15, item 5).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from topmatch.errors import InputError
from topmatch.geography import places
from topmatch.matching import occupations
from topmatch.matching import text as mtext

_HOURS = re.compile(r"\b(\d{1,2})\s*(?:uur|u)\b")
_MAX_PLACE_WORDS = 3  # "Bergen op Zoom"
_MIN_PLACE = 2  # no single letter is a place ("chauffeur C")


@dataclass(frozen=True)
class Query:
    """A query read: the words left to match, and the place, hours and type of opening
    ("baanopening") found in the text.

    ``groups`` holds one tuple per required word: the word itself (folded) first, then the
    names the vocabulary gives it ("zorg" -> "verzorgende", ...). Generic words
    ("medewerker") are left out unless the query holds nothing else.
    """

    text: str
    groups: tuple[tuple[str, ...], ...]
    place: str | None = None
    hours: int | None = None
    type: Literal["vacancy", "baanopening"] | None = None


#: Words that ask for one type of opening.
_TYPES: dict[str, Literal["vacancy", "baanopening"]] = {
    "baanopening": "baanopening",
    "baanopeningen": "baanopening",
    "banenafspraak": "baanopening",
    "vacature": "vacancy",
    "vacatures": "vacancy",
}


def parse(q: str) -> Query:
    """``q`` read as words, a place and hours; see the module docstring."""
    folded = mtext.fold(q)
    hours = None
    found = _HOURS.search(folded)
    if found:
        hours = int(found.group(1))
        folded = folded[: found.start()] + " " + folded[found.end() :]
    words = [w for w in mtext.words(folded) if w not in mtext.STOPWORDS]
    place, words = _take_place(words)
    kind = next((_TYPES[w] for w in words if w in _TYPES), None)
    words = [w for w in words if w not in _TYPES]
    return Query(text=" ".join(words), groups=_groups(words), place=place, hours=hours, type=kind)


def _take_place(words: list[str]) -> tuple[str | None, list[str]]:
    """The first (longest) run of words that names a place, and the words without it."""
    for size in range(min(_MAX_PLACE_WORDS, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            name = _place(" ".join(words[start : start + size]))
            if name is not None:
                return name, words[:start] + words[start + size :]
    return None, words


@functools.lru_cache(maxsize=4096)
def _place(text: str) -> str | None:
    if (
        len(text) < _MIN_PLACE
        or text.isdigit()
        or (
            occupations.key_stems(text)
            and (occupations.codes(text) or occupations.expansions(text))
        )
    ):
        return None  # an occupation word is never read as a place
    try:
        return places.place(text).name
    except InputError:
        return None


def _groups(words: list[str]) -> tuple[tuple[str, ...], ...]:
    specific = [w for w in words if w not in occupations.GENERIC]
    kept = specific or words
    return tuple((w, *(e for e in occupations.expansions(w) if e != w)) for w in kept)
