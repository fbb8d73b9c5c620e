"""Validation errors in words: what was wrong with a field and what would be accepted.

Pydantic reports a wrong sector as "Input should be 'A', 'B', ... or 'U'", a wrong node id
as the regular expression it failed, a relative URL as "relative URL without a base".
:func:`explain` turns one pydantic error (an item of ``ValidationError.errors()``) into a
sentence a first user can act on. Pure: no I/O, no web framework; the API's error mapping
and the CLI both use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from topmatch.vocabulary import SBI_SECTION_NAMES

NODE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"

NODE_ID_RULE = (
    "a node id is 2 to 63 characters: lower-case letters a-z, digits and hyphens, "
    "starting with a letter or digit (for example werkpad-arnhem)"
)

OCCUPATION_SHAPE = (
    'an occupation is an object with a "label" (the occupation in words, required, '
    'for example "Magazijnmedewerker"), optionally "isco08" (the 4-digit ISCO-08 code, '
    'for example "9321") and "esco_uri" (an ESCO occupation URI, '
    "http://data.europa.eu/esco/occupation/...)"
)

# Each pattern a schema uses, and what it accepts in words.
_PATTERNS: dict[str, str] = {
    NODE_ID_PATTERN: NODE_ID_RULE,
    r"^\d{4}$": 'an ISCO-08 code is 4 digits, for example "9321"',
    r"^http://data\.europa\.eu/esco/occupation/[\w-]+$": (
        "an ESCO occupation URI starts with http://data.europa.eu/esco/occupation/"
    ),
    r"^[a-z]{2}$": 'a language is a two-letter ISO 639-1 code, for example "nl" or "en"',
    r"^(\+?[0-9() \-]{8,20})?$": (
        "a phone number is 8 to 20 digits, spaces, hyphens or brackets, optionally starting with +"
    ),
}

_URL = "a full web address with http:// or https://, for example https://topmatch.example.nl"
_URL_TYPES = {"url_parsing", "url_scheme", "url_type", "url_syntax_violation"}
_OBJECT_TYPES = {"model_type", "model_attributes_type", "dict_type"}
_OCCUPATION_FIELDS = {"occupation", "desired_occupations"}


def sbi_sections() -> str:
    """Every SBI 2008 section letter with its name: "A (Landbouw, ...), B (...), ..."."""
    return "; ".join(f"{letter.value} ({name})" for letter, name in SBI_SECTION_NAMES.items())


SECTOR_RULE = f"a sector is one SBI 2008 section letter (CBS): {sbi_sections()}"


def explain(error: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence saying what is accepted."""
    kind = str(error.get("type", ""))
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in _URL_TYPES:
        return f"not a full web address; give {_URL}; got {_shown(error.get('input'))}"
    return _accepted(kind, error) or message


def _accepted(kind: str, error: Mapping[str, Any]) -> str | None:
    """What a field accepts, for the errors whose own message does not say it in words."""
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    pattern = str(ctx.get("pattern"))
    occupation = bool({str(part) for part in error.get("loc", ())} & _OCCUPATION_FIELDS)
    if kind == "enum" and _is_sbi(str(ctx.get("expected", ""))):
        return f"not an SBI section letter; {SECTOR_RULE}"
    if kind == "string_pattern_mismatch" and pattern in _PATTERNS:
        return f"{_PATTERNS[pattern]}; got {_shown(error.get('input'))}"
    if occupation and kind in _OBJECT_TYPES:
        return f"not an object; {OCCUPATION_SHAPE}"
    if occupation and kind == "missing":
        return f"required; {OCCUPATION_SHAPE}"
    return None


def _is_sbi(expected: str) -> bool:
    letters = {part.strip(" '") for part in expected.replace(" or ", ", ").split(",")}
    return letters == {letter.value for letter in SBI_SECTION_NAMES}


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."  # noqa: PLR2004 - a readable cut


def json_position(document: str | bytes, position: int) -> tuple[int, int]:
    """(line, column), both from 1, of a character offset into a JSON document, as
    :class:`json.JSONDecodeError` counts them."""
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
