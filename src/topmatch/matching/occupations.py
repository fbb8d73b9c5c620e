"""The Dutch occupation vocabulary: job titles to ISCO-08 unit groups. Pure.

The data is ``topmatch/data/occupations.csv`` (one row per occupation: its ISCO-08 unit
group, a Dutch label and synonyms, Dutch and common English titles) and
``topmatch/data/occupation_groups.csv`` (which unit groups count as related work, and topic
words such as "zorg" that stand for several groups); both files name their sources.

Titles are compared as sets of *key stems*: every word is folded, split into the
vocabulary's own words where it is a compound (:func:`parts`: "productiemedewerker" ->
"productie" + "medewerker"), stemmed (:mod:`topmatch.matching.text`), and the generic words
of :data:`GENERIC` ("medewerker", "hulp", "assistent", "allround") are dropped: they carry no
occupation signal on their own. An occupation is recognised in a title when all key stems of
one of its names occur in the title; the most specific names (most key stems) win
(:func:`codes`).
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from topmatch.matching import text as mtext

#: Words that say "a job" without saying which (folded, before stemming).
GENERIC: frozenset[str] = frozenset(
    {
        "medewerker", "medewerkster", "medewerkers", "hulp", "assistent", "assistente",
        "allround", "worker", "assistant", "operative", "employee", "staff", "agent",
        "junior", "senior", "ervaren", "zelfstandig", "werkend", "parttime", "fulltime",
        "vakkracht", "kracht", "dagdienst", "avond", "nacht", "weekend", "ploegendienst",
        "banenafspraak", "vacature", "gezocht", "m", "v", "x",
    }
)  # fmt: skip

#: Extra word parts for splitting compounds, besides the vocabulary's own words.
_PARTS = ("pakket", "thuis", "zorg", "order", "vracht", "kantoor", "klanten", "ziekenhuis")
_MIN_PART = 3  # no compound part shorter than this ("ig" stays a word of its own)
_LINKS = ("", "s", "en")  # Dutch linking sounds between the parts of a compound


@dataclass(frozen=True)
class Occupation:
    """One row of the vocabulary: an ISCO-08 unit group, its Dutch label, its synonyms."""

    isco08: str
    label: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class _Data:
    occupations: tuple[Occupation, ...]
    keys: dict[frozenset[str], frozenset[str]]  # key stems of a name -> unit groups
    related: dict[str, frozenset[str]]  # unit group -> its related unit groups
    topics: dict[str, frozenset[str]]  # key stem of a topic word -> unit groups
    lexicon: frozenset[str]  # folded words compounds may be split into


def _rows(name: str) -> list[list[str]]:
    data = resources.files("topmatch").joinpath("data", name).read_text("utf-8")
    lines = [line for line in data.splitlines() if line and not line.startswith("#")]
    return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=";"))[1:]


@functools.cache
def _data() -> _Data:
    occupations = tuple(
        Occupation(code, label, tuple(s for s in synonyms.split("|") if s))
        for code, label, synonyms in _rows("occupations.csv")
    )
    lexicon = (
        frozenset(
            word
            for occupation in occupations
            for name in (occupation.label, *occupation.synonyms)
            for word in mtext.words(name)
            if len(word) >= _MIN_PART
        )
        | frozenset(_PARTS)
        | GENERIC
    )
    data = _Data(occupations, {}, {}, {}, lexicon)
    for occupation in occupations:
        for name in (occupation.label, *occupation.synonyms):
            key = frozenset(_key_stems(name, lexicon))
            if key:
                data.keys[key] = data.keys.get(key, frozenset()) | {occupation.isco08}
    for kind, name, groups in _group_rows():
        codes = frozenset(groups.split("|"))
        if kind == "related":
            for code in codes:
                data.related[code] = data.related.get(code, frozenset()) | (codes - {code})
        else:
            for stem in _key_stems(name, lexicon):
                data.topics[stem] = data.topics.get(stem, frozenset()) | codes
    return data


def _group_rows() -> list[tuple[str, str, str]]:
    text = resources.files("topmatch").joinpath("data", "occupation_groups.csv")
    rows = [
        line.split(";")
        for line in text.read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    return [(kind, name, groups) for kind, name, groups in rows]


def occupations() -> tuple[Occupation, ...]:
    """Every occupation of the vocabulary, in file order."""
    return _data().occupations


def parts(word: str, lexicon: frozenset[str] | None = None) -> list[str]:
    """A folded word split into the fewest vocabulary words it is made of, or ``[word]``.

    ``parts("productiemedewerker") == ["productie", "medewerker"]``; a linking "s" or "en"
    may join two parts ("veiligheidsmedewerker"); each part has at least 3 letters.
    """
    known = _data().lexicon if lexicon is None else lexicon
    return _split(word, known) or [word]


def _split(word: str, lexicon: frozenset[str]) -> list[str] | None:
    """The fewest parts (at least two) from ``lexicon`` that make ``word``, or None."""
    best: dict[int, list[str]] = {0: []}  # end position -> fewest parts covering word[:end]
    for end in range(_MIN_PART, len(word) + 1):
        options = [
            [*best[start], word[start : end - len(link)]]
            for start in range(end - _MIN_PART + 1)
            if start in best
            for link in _LINKS
            if word.endswith(link, start, end)
            and end - len(link) - start >= _MIN_PART
            and word[start : end - len(link)] in lexicon
            and (link == "" or end < len(word))
            and (start, end) != (0, len(word))  # the word itself is no split
        ]
        if options:
            # fewest parts; of those, the one whose longest part is shortest
            # ("thuiszorg" + "medewerker", not "thuis" + "zorgmedewerker")
            best[end] = min(options, key=lambda p: (len(p), max(map(len, p))))
    found = best.get(len(word))
    return found if found is not None and len(found) >= 2 else None  # noqa: PLR2004


def _key_stems(name: str, lexicon: frozenset[str]) -> list[str]:
    stems = (
        mtext.term(part)
        for word in mtext.words(name)
        for part in (_split(word, lexicon) or [word])
        if part not in GENERIC
    )
    return list(dict.fromkeys(stem for stem in stems if stem))


def key_stems(*names: str) -> tuple[str, ...]:
    """The distinct key stems of ``names``: words split into their parts and stemmed,
    generic words dropped. ``key_stems("Medewerker productie") ==
    key_stems("Productiemedewerker")``."""
    lexicon = _data().lexicon
    return tuple(dict.fromkeys(s for name in names for s in _key_stems(name, lexicon)))


def codes(*names: str) -> frozenset[str]:
    """The ISCO-08 unit groups recognised in ``names`` (titles, labels): those of the most
    specific vocabulary names whose key stems all occur. Empty when none does, or when the
    names hold only generic words ("Medewerker")."""
    return _codes(key_stems(*names))


@functools.lru_cache(maxsize=65_536)
def _codes(stems: tuple[str, ...]) -> frozenset[str]:
    have = frozenset(stems)
    found = [(len(key), groups) for key, groups in _data().keys.items() if key <= have]
    if not found:
        return frozenset()
    most = max(size for size, _ in found)
    return frozenset(code for size, groups in found if size == most for code in groups)


def related(a: str, b: str) -> bool:
    """Whether two ISCO-08 unit groups are related work by the explicit table (not merely
    the same 2-digit group: a parcel driver's 8322 is not a truck driver's 8332)."""
    return b in _data().related.get(a, frozenset())


def expansions(word: str) -> tuple[str, ...]:
    """Folded words that a query word also stands for, generic words left out; empty for
    other words:

    - the names of the occupations it names ("heftruckchauffeur" -> "forklift", ...);
    - the names of the occupations of the topic it is ("zorg" -> "verzorgende",
      "thuiszorgmedewerker", "verpleegkundige", ...);
    - the vocabulary's compounds that have it as a part ("chauffeur" ->
      "vrachtwagenchauffeur"), which a prefix search cannot find.
    """
    stems = key_stems(word)
    if not stems:
        return ()
    groups = _codes(stems)
    if len(stems) == 1:
        groups |= _data().topics.get(stems[0], frozenset())
    return tuple(dict.fromkeys([*_names_of(groups), *_compounds_of(mtext.fold(word))]))


@functools.lru_cache(maxsize=4096)
def _compounds_of(word: str) -> tuple[str, ...]:
    lexicon = _data().lexicon
    return tuple(
        sorted(
            other
            for other in lexicon
            if other != word and word in other and word in (_split(other, lexicon) or ())
        )
    )


@functools.cache
def _names_of(groups: frozenset[str]) -> tuple[str, ...]:
    """The names of the occupations of ``groups``, each as the phrase of its specific words
    ("Order picker" -> "order picker", "Medewerker klantenservice" -> "klantenservice"): a
    name of two words is searched as a phrase, never as two loose words ("order" alone
    would find every order)."""
    return tuple(
        dict.fromkeys(
            phrase
            for occupation in _data().occupations
            if occupation.isco08 in groups
            for name in (occupation.label, *occupation.synonyms)
            if len(phrase := " ".join(_specific_words(name))) >= _MIN_PART
        )
    )


def _specific_words(name: str) -> list[str]:
    return [w for w in mtext.words(name) if w not in GENERIC and w not in mtext.STOPWORDS]


def labels() -> list[tuple[str, str]]:
    """(label, unit group) of every occupation, sorted by label: for an occupation picker."""
    return sorted(((o.label, o.isco08) for o in _data().occupations), key=lambda p: p[0])


def names(groups: Iterable[str]) -> list[str]:
    """The vocabulary labels of ``groups``, in file order."""
    wanted = set(groups)
    return [o.label for o in _data().occupations if o.isco08 in wanted]
