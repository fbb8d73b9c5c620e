"""Limits every input shares: whole numbers the database can store, text without control
characters.

Whole numbers: SQLite's INTEGER and PostgreSQL's BIGINT hold -2^63 .. 2^63-1; a larger
number in a query, a body or a peer's feed page would reach the driver and fail there
(OverflowError, a 500). :class:`WholeNumber` bounds an ``int`` where it is parsed and says
the accepted range in its message: ``must be a whole number from 0 to 9223372036854775807``.

Text: a NUL byte or another control character in a name or a note is never meant, and some
break what reads the text later (PostgreSQL refuses NUL in text columns; terminals and
CSV exports interpret the others). :class:`CleanInput` refuses them in every string field
of every model built on it, so a field added later cannot forget the check; tab, newline
and carriage return stay allowed for multi-line text. :data:`SingleLine` refuses those
three as well, for names and labels.

Pure: pydantic only, no web framework; the API, the web app's forms and the wire models
use the same types and the same messages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    GetCoreSchemaHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError, core_schema

#: The largest integer SQLite (INTEGER) and PostgreSQL (BIGINT) store: 2^63 - 1.
MAX_DB_INT: Final = 2**63 - 1

#: Error type of an integer outside its range (pydantic's ``type`` in the error list).
INT_RANGE: Final = "int_range"
#: Error type of text holding a control character.
CONTROL_CHARACTERS: Final = "control_characters"
#: Control characters that multi-line text may hold.
LINE_BREAKS: Final = "\t\n\r"


@dataclass(frozen=True)
class WholeNumber:
    """``Annotated[int, WholeNumber(lo, hi)]``: a whole number from ``lo`` to ``hi``.

    The JSON Schema (and OpenAPI) gets ``minimum`` and ``maximum``; a value outside them,
    or not a whole number at all, fails with one message that names the range.
    """

    lo: int = 0
    hi: int = MAX_DB_INT
    strict: bool = False

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = core_schema.int_schema(ge=self.lo, le=self.hi, strict=self.strict)
        return core_schema.no_info_wrap_validator_function(self._check, inner)

    def _check(self, value: Any, inner: core_schema.ValidatorFunctionWrapHandler) -> int:
        try:
            result: int = inner(value)
        except ValidationError as e:
            raise PydanticCustomError(
                INT_RANGE,
                "must be a whole number from {lo} to {hi}; got {got}",
                {"lo": self.lo, "hi": self.hi, "got": _shown(value)},
            ) from e
        return result


#: A count, offset, sequence number or size: 0 .. 2^63-1.
Count = Annotated[int, WholeNumber(0)]
#: A version or sequence that starts at 1: 1 .. 2^63-1.
Positive = Annotated[int, WholeNumber(1)]


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."  # noqa: PLR2004 - a readable cut


#: Unicode category Cc, exactly: U+0000-U+001F and U+007F-U+009F.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_characters(text: str, *, allowed: str = LINE_BREAKS) -> list[str]:
    """The control characters in ``text`` (Unicode category Cc) that are not ``allowed``,
    as ``U+0000`` code points, each once, in order of first appearance."""
    if not _CONTROL.search(text):  # the common case, without a loop in Python
        return []
    found: dict[str, None] = {}
    for char in text:
        if char not in allowed and unicodedata.category(char) == "Cc":
            found[f"U+{ord(char):04X}"] = None
    return list(found)


def refuse_control_characters(text: str, *, allowed: str = LINE_BREAKS) -> str:
    """``text`` unchanged, or a validation error saying control characters are not accepted."""
    if found := control_characters(text, allowed=allowed):
        where = "" if allowed else "; this is a single line: no tab or line break either"
        raise PydanticCustomError(
            CONTROL_CHARACTERS,
            "control characters are not accepted (found {found}){where}",
            {"found": ", ".join(found[:5]), "where": where},
        )
    return text


def _single_line(text: str) -> str:
    return refuse_control_characters(text, allowed="")


#: ``Annotated[str, ..., SingleLine]``: no control character at all, not even a line break.
SingleLine = AfterValidator(_single_line)


def _strings(value: object) -> Iterator[str]:
    """Every string in a field's value: itself, or inside lists, tuples, sets and dicts."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)


class CleanInput(BaseModel):
    """Base of every model that takes input: no string field holds a control character
    other than tab, newline or carriage return. Nested models check their own fields."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, _info: ValidationInfo) -> Any:
        for text in _strings(value):
            refuse_control_characters(text)
        return value
