"""Scrubbing free text before it leaves the node. Pure: no I/O.

A published description may only say what the job is. Anything that could identify a
person or the employer is replaced by a bracketed placeholder:

- e-mail addresses, URLs and web addresses;
- IBANs, phone numbers and any other long digit run (BSN, KvK, client numbers);
- Dutch postcodes, street addresses (``Grotestraat 12a``) and explicit dates;
- every given name: the employer's name, its contact person, and the names of all clients
  in the card-box, matched word by word and case-insensitively.

Names are matched as words, so a client called *Bakker* also removes the ordinary word
"bakker" from a text: privacy comes first, and the occupation itself travels in its own
structured field, which is not scrubbed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

PLACEHOLDERS = (
    "[e-mail]",
    "[link]",
    "[iban]",
    "[telefoon]",
    "[nummer]",
    "[postcode]",
    "[adres]",
    "[datum]",
    "[naam]",
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:nl|com|org|net|eu|be|de|info)\b(?:/\S*)?", re.IGNORECASE
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}\s?[A-Z]{4}(?:\s?\d){10,14}\b", re.IGNORECASE)
_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|"
    "december|jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec"
)
_DATE = re.compile(
    r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b|\b\d{4}-\d{1,2}-\d{1,2}\b"
    rf"|\b\d{{1,2}}\s+(?:{_MONTHS})\.?\s+\d{{4}}\b",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?:\+|\b00)\d[\d\s().-]{7,}\d"  # international: +31 6 1234 5678, 0031 ...
    r"|\(0\d{1,3}\)[\s.-]?\d[\d\s.-]{5,}\d\b"  # area code in brackets: (013) 555 1234
    r"|\b0\d{1,3}[\s.-]?\d[\d\s.-]{5,}\d\b"  # national: 06-12345678, 013 555 12 34
)
_DIGITS = re.compile(r"\b\d(?:[\s.]?\d){5,}\b")
_POSTCODE = re.compile(r"\b[1-9]\d{3}\s?[A-Za-z]{2}\b")
_STREET_WORDS = (
    "straat", "laan", "weg", "plein", "gracht", "kade", "singel", "dreef", "hof", "park",
    "steeg", "pad", "dijk", "baan", "markt", "erf", "veld", "hoek", "wal", "haven", "ring",
)  # fmt: skip
_STREET = re.compile(
    rf"\b[\w'-]*(?:{'|'.join(_STREET_WORDS)})\s+\d+\s?[a-zA-Z]?\b", re.IGNORECASE | re.UNICODE
)
#: Part of every street address, searched first: the whole pattern is slow to try at every
#: position (its leading ``[\w'-]*`` backtracks over each word); this one looks back for a
#: street word only where whitespace is followed by a digit.
_STREET_HINT = re.compile(
    rf"(?=\s)(?:{'|'.join(f'(?<={word})' for word in _STREET_WORDS)})\s+\d",
    re.IGNORECASE | re.UNICODE,
)
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
#: Each of these needs a digit to match (in this order, after e-mail and URL).
_NEED_A_DIGIT = (
    (_IBAN, "[iban]"),
    (_DATE, "[datum]"),
    (_STREET, "[adres]"),
    (_POSTCODE, "[postcode]"),
    (_PHONE, "[telefoon]"),
    (_DIGITS, "[nummer]"),
)
_A_DIGIT = re.compile(r"\d")
_SPACES = re.compile(r"\s+")
#: Unicode category Cc, exactly: U+0000-U+001F and U+007F-U+009F.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Words that occur inside names but carry nothing identifying on their own: tussenvoegsels,
# legal forms, and the like. They are not scrubbed when they appear alone.
NOT_A_NAME = frozenset(
    {
        "van",
        "de",
        "der",
        "den",
        "het",
        "ten",
        "ter",
        "te",
        "op",
        "in",
        "aan",
        "bij",
        "uit",
        "la",
        "le",
        "da",
        "di",
        "du",
        "von",
        "el",
        "al",
        "bv",
        "b.v",
        "nv",
        "n.v",
        "vof",
        "v.o.f",
        "en",
        "the",
        "and",
        "of",
        "holding",
        "groep",
        "group",
        "nederland",
        "beheer",
        "cv",
        "c.v",
    }
)
_MIN_NAME_LENGTH = 3
_MAX_PASSES = 4


def _fold(text: str) -> str:
    """Lower case without accents, so that 'Chloë' and 'chloe' are the same name."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_words(names: Iterable[str]) -> frozenset[str]:
    """The folded words of ``names`` that identify someone on their own."""
    words = set()
    for name in names:
        for match in _WORD.finditer(name):
            word = _fold(match.group())
            if len(word) >= _MIN_NAME_LENGTH and word not in NOT_A_NAME:
                words.add(word)
    return frozenset(words)


def word_digest(key: bytes, word: str) -> str:
    """Keyed digest of a folded name word, for names that must stay scrubbed after the
    person was erased: the digest cannot be turned back into the name without the key."""
    return hmac.new(key, _fold(word).encode(), hashlib.sha256).hexdigest()


class Scrubber:
    """Scrubs text against a fixed set of names; build one per publishing run.

    ``suppressed`` holds :func:`word_digest` values (under ``key``) of the names of erased
    clients: their names are gone from the card-box, yet a text that mentions them must
    not suddenly publish them.
    """

    def __init__(
        self, names: Iterable[str], *, suppressed: frozenset[str] = frozenset(), key: bytes = b""
    ) -> None:
        self._names = name_words(names)
        self._suppressed = suppressed
        self._key = key

    def with_names(self, names: Iterable[str]) -> Scrubber:
        """A scrubber that also knows ``names`` (e.g. one record's employer)."""
        extended = Scrubber((), suppressed=self._suppressed, key=self._key)
        extended._names = self._names | name_words(names)
        return extended

    def scrub(self, text: str, *, max_length: int | None = None) -> str:
        """``text`` with every pattern and known name replaced, whitespace collapsed, and
        cut to ``max_length``. Idempotent: scrubbing a scrubbed text changes nothing (a
        replacement or a cut can expose a new match, so it repeats until nothing changes).
        """
        for _ in range(_MAX_PASSES):
            scrubbed = self._once(text, max_length)
            if scrubbed == text:
                break
            text = scrubbed
        return text

    def _once(self, text: str, max_length: int | None) -> str:
        text = _patterns(text)
        if self._names or self._suppressed:  # else every word would be kept as it is
            text = _WORD.sub(self._name_or_word, text)
        text = _SPACES.sub(" ", text).strip()
        # text stored before control characters were refused must not break publishing
        text = _CONTROL.sub("", text)
        if max_length is not None and len(text) > max_length:
            text = text[: max_length - 1].rstrip() + "…"
        return text

    def _name_or_word(self, match: re.Match[str]) -> str:
        word = match.group()
        folded = _fold(word)
        if folded in self._names:
            return "[naam]"
        if self._suppressed and word_digest(self._key, folded) in self._suppressed:
            return "[naam]"
        return word


def _patterns(text: str) -> str:
    """``text`` with every pattern replaced, in a fixed order. The checks for "@", for a
    digit and for a street word before a number only skip patterns that could not match
    (this runs for every free-text field of every wire model built, e.g. each search hit
    read from the replica)."""
    if "@" in text:  # an e-mail address has one
        text = _EMAIL.sub("[e-mail]", text)
    text = _URL.sub("[link]", text)
    if _A_DIGIT.search(text):
        for pattern, placeholder in _NEED_A_DIGIT:
            if pattern is not _STREET or _STREET_HINT.search(text):
                text = pattern.sub(placeholder, text)
    return text
