"""The privacy gate of the wire models: free text is scrubbed when a wire model is built.

Every string field of a model that crosses a node boundary (``topmatch.wire_schemas``) is
either an identifier, a code, a date, or free text typed by a person; free text is
declared with the :class:`FreeText` marker::

    reason: Annotated[str, FreeText(max_length=500)] = ""

and its validator scrubs it (:mod:`topmatch.publishing.anonymise`) whenever the model is
built or parsed, so no code path can put unscrubbed text into a message: a new free-text
field is scrubbed as soon as it is declared with the marker, and
``tests/test_privacy_gate.py`` fails for a plain string field that is neither marked nor on
its allow-list of identifiers and codes.

Patterns (e-mail, phone, BSN and other numbers, IBAN, address, postcode, date) are always
scrubbed. Names need to know whom to look for: the code that builds an outbound message
opens :func:`scrubbing` with a scrubber that knows every name in the card-box
(``publishing.service.scrubber_for``), and within it the gate scrubs those names too.

Scrubbing happens when a model is *built*, never on the bytes on their way out: a ledger
entry or a fee agreement is signed over what the model holds, so its text is scrubbed
before it is signed. A peer that parses a signed document whose text was not scrubbed gets
a model that differs from the signed bytes; :func:`unscrubbed` names those fields so the
countersigner can refuse the document (``ledger.service.check_entry``).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from topmatch.publishing.anonymise import Scrubber

#: The ``$comment`` that marks free text in the JSON Schemas (and in docs/privacy.md).
FREE_TEXT_COMMENT = "free text: scrubbed of personal data before it leaves a node"
#: What an empty text with a minimum length becomes once scrubbed (as for occupation labels).
EMPTY = "-"

_PATTERNS_ONLY = Scrubber(())
_scope: ContextVar[Scrubber | None] = ContextVar("topmatch_wire_scrubber", default=None)


@contextmanager
def scrubbing(scrubber: Scrubber) -> Iterator[Scrubber]:
    """Within this block, free text in wire models is also scrubbed of ``scrubber``'s names."""
    token = _scope.set(scrubber)
    try:
        yield scrubber
    finally:
        _scope.reset(token)


def active() -> Scrubber:
    """The scrubber the gate uses here: the one of :func:`scrubbing`, or patterns only."""
    return _scope.get() or _PATTERNS_ONLY


@dataclass(frozen=True)
class FreeText:
    """Marks a ``str`` field of a wire model as free text: scrubbed, then cut to length.

    The input may be at most ``max_length`` long; scrubbing can lengthen a text (a
    six-digit number becomes ``[nummer]``), so the result is cut to ``max_length`` again.
    """

    max_length: int
    min_length: int = 0

    def scrub(self, value: str) -> str:
        text = active().scrub(value, max_length=self.max_length)
        return text if len(text) >= self.min_length else EMPTY

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            self.scrub,
            core_schema.str_schema(min_length=self.min_length or None, max_length=self.max_length),
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["$comment"] = FREE_TEXT_COMMENT
        return json_schema


def _marked(annotation: Any) -> bool:
    if any(isinstance(m, FreeText) for m in getattr(annotation, "__metadata__", ())):
        return True
    return any(_marked(arg) for arg in get_args(annotation))


def free_text_fields(model: type[BaseModel]) -> list[str]:
    """The top-level fields of ``model`` declared as :class:`FreeText` (alone, optional or
    in a list)."""
    return [
        name
        for name, info in model.model_fields.items()
        if any(isinstance(m, FreeText) for m in info.metadata) or _marked(info.annotation)
    ]


def unscrubbed(model: BaseModel, raw: Mapping[str, Any]) -> list[str]:
    """Top-level free-text fields whose ``raw`` value (as signed) the gate had to change."""
    return [
        name
        for name in free_text_fields(type(model))
        if name in raw and raw[name] != getattr(model, name)
    ]
