"""Dutch text normalisation for matching and full-text search. Pure.

Everything that compares words (the full-text index, query terms, skills and occupation
labels in :mod:`topmatch.matching.scoring`) goes through the same three steps:

1. :func:`fold`: case-folded, accents stripped ("Chloë" and "CHLOE" are one word);
2. :func:`words`: split into runs of letters and digits ("magazijn-medewerker" is two words);
3. :func:`stems`: Dutch stopwords dropped, each word reduced to its Snowball stem
   ("magazijnmedewerkers" -> "magazijnmedewerker", "schoonmaken" -> "schoonmaak").

Stems are an index format, not text for people: the Dutch Snowball algorithm (version 3 of
``snowballstemmer``) maps "gemeente" to "meen" and "klantgericht" to "klantricht". That is
harmless as long as both sides of a comparison are stemmed by the same algorithm, and it is
why stems must never be stemmed again (stemming is not idempotent) and why an index built
from :func:`search_text` must be rebuilt when ``snowballstemmer`` changes major version.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable

import snowballstemmer  # type: ignore[import-untyped]  # the package ships no type hints

#: The Snowball algorithm used for every stem; see the module docstring before changing it.
ALGORITHM = "dutch"

#: Words too common in Dutch vacancy and profile texts to say anything about a match:
#: articles, pronouns, prepositions, conjunctions, and the "32 uur per week" that every
#: vacancy states (hours are matched on numbers, not on words). Compared after folding,
#: before stemming. Kept short on purpose: a stopword can never be searched for.
STOPWORDS: frozenset[str] = frozenset(
    {
        "de", "het", "een", "en", "van", "in", "op", "voor", "met", "te", "bij", "aan",
        "of", "is", "zijn", "wij", "je", "jij", "u", "ons", "onze", "die", "dat", "er",
        "om", "naar", "als", "ook", "tot", "uit", "door", "over", "nog", "per", "uur",
        "uren", "week",
    }
)  # fmt: skip

_WORD = re.compile(r"[^\W_]+")  # runs of Unicode letters and digits; "_" is not a letter
_local = threading.local()  # Snowball stemmers keep state while stemming: one per thread


def fold(text: str) -> str:
    """``text`` case-folded and without diacritics: ``fold("Chloë") == fold("CHLOE")``.

    Compatibility characters are decomposed too ("ﬁ" -> "fi", "²" -> "2"). Idempotent:
    ``fold(fold(x)) == fold(x)``. Unlike ``topmatch.geography.places.fold`` it keeps spaces
    and punctuation, so the result can still be split into words.
    """
    # NFKD before casefold turns compatibility capitals (modifier letter "ᴬ") into letters
    # casefold knows; NFKD after it splits what casefold produced ("ǰ" -> "j" + caron).
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order: runs of letters and digits.

    Anything else separates words, so inner hyphens and apostrophes split a word into its
    parts: ``words("Magazijn-medewerker, 24 uur")`` is ``["magazijn", "medewerker", "24",
    "uur"]``.
    """
    return _WORD.findall(fold(text))


def stems(text: str) -> list[str]:
    """The Dutch Snowball stems of the :func:`words` of ``text`` that are not in
    :data:`STOPWORDS`, in order, repeats kept.

    ``stems(fold(x)) == stems(x)`` for every ``x``.
    """
    return [_stem(word) for word in words(text) if word not in STOPWORDS]


def term(label: str) -> str:
    """One label (a skill, an occupation) as a single comparable string: its stems joined
    by spaces. ``term("Heftruck rijden") == "heftruck rijd"``; see
    :class:`topmatch.matching.scoring.Sought`.
    """
    return " ".join(stems(label))


def search_text(*parts: str | Iterable[str]) -> str:
    """The stems of every part, joined by single spaces: the text to store in a full-text
    index. A part is a text or an iterable of texts (a list of skills, say)."""
    return " ".join(stem for text in _texts(parts) for stem in stems(text))


def query_terms(text: str) -> list[str]:
    """The distinct stems of a user's query, in the order they first occur."""
    return list(dict.fromkeys(stems(text)))


def _texts(parts: Iterable[str | Iterable[str]]) -> Iterable[str]:
    for part in parts:
        if isinstance(part, str):
            yield part
        else:
            yield from part


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    """The stem of one folded word (cached: vocabularies are small, texts are many)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer(ALGORITHM)
    stem: str = stemmer.stemWord(word)
    return stem
