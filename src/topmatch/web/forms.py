"""From a posted HTML form to a validated model, or to a Dutch message under each field.

A form posts strings. :func:`prepare` turns them into model input (a blank optional field
becomes None or its default, a blank required one goes missing, ``31-12-1990`` becomes a
date, ``12,5`` a number); :func:`validate` runs pydantic and returns the model or
``{field: message}``; :func:`explain` does the same for a service's :class:`TopmatchError`
(an ``InputError`` or ``ConflictError`` naming its ``field``). A field is named by its
dotted path, which is also its form name: ``desired_occupations.0.isco08``.

Messages are English msgids, translated by the page's catalogue (``gettext``). Pydantic's
errors are recognised by their ``type``; the card-box's own validators and services by
their message (``RULES``). Every msgid is marked with :func:`N_`, so a test can check the
Dutch catalogue holds them all.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from markupsafe import Markup, escape
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from topmatch.errors import TopmatchError

M = TypeVar("M", bound=BaseModel)
Gettext = Callable[[str], str]
Errors = dict[str, str]  # field (dotted path; "" for the form as a whole) -> message

FORM_LEVEL = ""


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark ``message`` as a msgid; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Field:
    """One input of a form, as the templates render it.

    ``label`` and ``hint`` are msgids. ``kind`` is one of text, email, tel, date, number,
    select, checkbox, checkboxes (several values), list (comma-separated) or textarea.
    """

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    autocomplete: str = "off"
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label msgid)
    maxlength: int | None = None


# --- messages ----------------------------------------------------------------------------

FILL_IN = N_("Fill in this field.")
CHOOSE = N_("Choose one of the options.")
WHOLE_NUMBER = N_("Enter a whole number, such as 24.")
NUMBER = N_("Enter a number, such as 12.5.")
A_DATE = N_("Enter a date, such as 31-12-1990.")
YES_OR_NO = N_("Choose yes or no.")
WEB_ADDRESS = N_("Enter a web address, such as https://www.voorbeeld.nl.")

#: pydantic error type -> msgid, formatted with the error's context (``min_length``, ``le``...).
TYPE_MESSAGES: dict[str, str] = {
    "missing": FILL_IN,
    "string_too_short": N_("Use at least %(min_length)s characters."),
    "string_too_long": N_("Use at most %(max_length)s characters."),
    "string_type": N_("Enter text."),
    "string_pattern_mismatch": N_("This is not in the expected form."),
    "int_parsing": WHOLE_NUMBER,
    "int_type": WHOLE_NUMBER,
    "int_from_float": WHOLE_NUMBER,
    "float_parsing": NUMBER,
    "float_type": NUMBER,
    "decimal_parsing": NUMBER,
    "decimal_type": NUMBER,
    "finite_number": NUMBER,
    "bool_parsing": YES_OR_NO,
    "bool_type": YES_OR_NO,
    "date_parsing": A_DATE,
    "date_type": A_DATE,
    "date_from_datetime_parsing": A_DATE,
    "date_from_datetime_inexact": A_DATE,
    "datetime_parsing": N_("Enter a date and time."),
    "datetime_type": N_("Enter a date and time."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "date_past": N_("Enter a date in the past."),
    "date_future": N_("Enter a date in the future."),
    "enum": CHOOSE,
    "literal_error": CHOOSE,
    "greater_than": N_("Enter more than %(gt)s."),
    "greater_than_equal": N_("Enter %(ge)s or more."),
    "less_than": N_("Enter less than %(lt)s."),
    "less_than_equal": N_("Enter at most %(le)s."),
    "multiple_of": N_("Enter a multiple of %(multiple_of)s."),
    "too_short": N_("Give at least %(min_length)s."),
    "too_long": N_("Give at most %(max_length)s."),
    "list_type": N_("Give a list."),
    "url_parsing": WEB_ADDRESS,
    "url_type": WEB_ADDRESS,
    "url_scheme": WEB_ADDRESS,
    "extra_forbidden": N_("This field is not expected here."),
    "int_range": N_("Enter a whole number from %(lo)s to %(hi)s."),
    "control_characters": N_(
        "Remove the control characters (such as an invisible NUL character) from this text."
    ),
}

#: ``string_pattern_mismatch`` says more when the pattern is one of the card-box's own.
PATTERN_MESSAGES: dict[str, str] = {
    r"^(\+?[0-9() \-]{8,20})?$": N_(
        "Enter a phone number of 8 to 20 digits (spaces, hyphens and brackets allowed), "
        "such as 06-12345678."
    ),
    r"^\d{4}$": N_("Enter 4 digits, such as 9321."),
    r"^[a-z]{2}$": N_("Use two-letter language codes, such as nl, en or ar."),
    r"^http://data\.europa\.eu/esco/occupation/[\w-]+$": N_(
        "Enter an ESCO occupation address, starting with http://data.europa.eu/esco/occupation/."
    ),
}


@dataclass(frozen=True)
class Rule:
    """A message of our own validators or services, recognised by a regular expression
    matched at its start. Named groups become the msgid's parameters; ``field`` moves the
    message to another field (a model-wide check, a database column)."""

    pattern: str
    msgid: str
    field: str | None = None


RULES: tuple[Rule, ...] = (
    # cardbox.validation
    Rule(r"not a valid BSN: the number has an invalid length", N_("A BSN has 9 digits.")),
    Rule(
        r"not a valid BSN: the number's checksum",
        N_("This BSN does not pass the 11-test: check it for a typing error."),
    ),
    Rule(r"not a valid BSN", N_("Enter a valid BSN: 9 digits that pass the 11-test.")),
    Rule(r"not a valid Dutch postcode", N_("Enter a Dutch postcode, such as 1234 AB.")),
    Rule(r"a KvK number is 8 digits", N_("A KvK number has 8 digits.")),
    Rule(
        r"unknown municipality '[^']*'; did you mean: (?P<suggestions>.+)\?$",
        N_("Unknown municipality. Did you mean: %(suggestions)s?"),
    ),
    Rule(r"unknown municipality", N_("Unknown municipality: write its official name.")),
    Rule(
        r"'[^']*' is ambiguous \(\d+ places\); say which: (?P<choices>.+)$",
        N_("Several municipalities have this name; write one of: %(choices)s."),
    ),
    Rule(
        r"value is not a valid email address",
        N_("Enter an email address, such as naam@voorbeeld.nl."),
    ),
    # cardbox.schemas: checks over several fields
    Rule(
        r"hours_min \(\d+\) is more than hours_max",
        N_("The minimum hours are more than the maximum."),
        field="hours_max",
    ),
    Rule(
        r"wage_min \(\d+\) is more than wage_max",
        N_("The minimum wage is more than the maximum."),
        field="wage_max",
    ),
    # cardbox.service
    Rule(r"must be in the past", N_("Enter a date in the past.")),
    Rule(r"is more than 120 years ago", N_("This date is more than 120 years ago.")),
    Rule(r"cannot be in the future", N_("This date cannot be in the future.")),
    Rule(
        r"a client with this BSN is already in the card-box",
        N_("A client with this BSN is already in the card-box."),
        field="bsn",
    ),
    Rule(
        r"an employer with this KvK number is already in the card-box",
        N_("An employer with this KvK number is already in the card-box."),
        field="kvk_number",
    ),
    Rule(
        r".*\bwas changed by someone else",
        N_("Someone else changed this meanwhile: reload the page and make your changes again."),
    ),
    Rule(r"no \w+ with id ", N_("Not found: it does not exist (any more).")),
    # settlement.periods
    Rule(
        r"period (?P<period>\S+) has not started yet",
        N_("Period %(period)s has not started yet: choose a period that has begun."),
    ),
    # web.core
    Rule(r"this needs the role ", N_("Your role gives no access to this page.")),
    Rule(
        r"the form is outdated or came from another site",
        N_("The form is outdated or came from another site: reload the page."),
    ),
)

NOT_ACCEPTED = N_("Not accepted: %(detail)s")


def not_accepted(detail: str, gettext: Gettext) -> str:
    """A refusal no rule knows: said in the page's language, the service's own (English)
    words after it, marked as English (HTML, safe to show as is)."""
    english = Markup('<span lang="en">{}</span>').format(detail)
    return escape(gettext(NOT_ACCEPTED)) % {"detail": english}


def _format(gettext: Gettext, msgid: str, params: Mapping[str, Any]) -> str:
    text = gettext(msgid)
    return text % dict(params) if params else text


def _listing(value: str) -> str:
    """ "'A' or 'B'" -> "'A', 'B'": a list of names reads the same in every language."""
    return value.replace(" or ", ", ")


def _by_rule(message: str) -> tuple[Rule, dict[str, str]] | None:
    for rule in RULES:
        found = re.match(rule.pattern, message)
        if found:
            return rule, {k: _listing(v) for k, v in found.groupdict().items()}
    return None


def translate(message: str, gettext: Gettext) -> str:
    """A service's (English) message in the page's language, when a rule knows it."""
    known = _by_rule(message)
    if known is None:
        return message
    rule, params = known
    return _format(gettext, rule.msgid, params)


def describe(error: ErrorDetails, gettext: Gettext) -> str:
    """One pydantic error as a message in the page's language."""
    return _message(error, gettext)[1]


def _message(error: ErrorDetails, gettext: Gettext) -> tuple[str | None, str]:
    """(field to move the message to, or None; the message) for one pydantic error."""
    kind = error["type"]
    context: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "string_too_short" and context.get("min_length") == 1:
        return None, gettext(FILL_IN)
    if kind == "string_pattern_mismatch" and context.get("pattern") in PATTERN_MESSAGES:
        return None, gettext(PATTERN_MESSAGES[context["pattern"]])
    if kind in TYPE_MESSAGES:
        return None, _format(gettext, TYPE_MESSAGES[kind], context)
    text = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    known = _by_rule(text)
    if known is None:
        return None, not_accepted(text, gettext)
    rule, params = known
    return rule.field, _format(gettext, rule.msgid, params)


def _field_of(location: Iterable[int | str], fields: Collection[str]) -> str:
    """The form field a pydantic location belongs to: the longest prefix of the dotted
    path that is a field of the form (``skills.3`` -> ``skills``), else the whole path."""
    parts = [str(p) for p in location]
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in fields:
            return name
    return ".".join(parts)


def errors_of(error: ValidationError, gettext: Gettext, *, fields: Collection[str] = ()) -> Errors:
    """``{field: message}``, the first message per field; "" holds form-wide problems."""
    found: Errors = {}
    for detail in error.errors():
        moved, text = _message(detail, gettext)
        name = moved or _field_of(detail["loc"], fields)
        found.setdefault(name, text)
    return found


def explain(
    error: TopmatchError,
    gettext: Gettext,
    *,
    aliases: Mapping[str, str] | None = None,
) -> Errors:
    """A service's refusal as ``{field: message}``: under its field when it names one
    (through ``aliases`` for database columns such as ``bsn_index``), else form-wide."""
    known = _by_rule(error.message)
    if known is None:
        text = not_accepted(error.message, gettext)
        field = error.field
    else:
        rule, params = known
        text = _format(gettext, rule.msgid, params)
        field = rule.field or error.field
    field = (aliases or {}).get(field or "", field)
    return {field or FORM_LEVEL: text}


def validate(
    model: type[M],
    values: Mapping[str, Any],
    gettext: Gettext,
    *,
    fields: Collection[str] = (),
) -> tuple[M | None, Errors]:
    """The model built from ``values`` (after :func:`prepare`), or the messages why not."""
    try:
        return model.model_validate(prepare(model, values)), {}
    except ValidationError as e:
        return None, errors_of(e, gettext, fields=fields)


# --- form values -------------------------------------------------------------------------

_DUTCH_DATE = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")


def _types(annotation: Any) -> set[Any]:
    """The plain types an annotation admits: ``Annotated[int, ...] | None`` -> {int, None}."""
    if get_origin(annotation) is Annotated:
        return _types(get_args(annotation)[0])
    if get_origin(annotation) in {Union, types.UnionType}:
        return set().union(*(_types(a) for a in get_args(annotation)))
    return {annotation}


def _prepared(field: FieldInfo, value: str) -> Any:
    admitted = _types(field.annotation)
    dutch = _DUTCH_DATE.match(value)
    if date in admitted and dutch:  # a browser without a date picker: 31-12-1990
        day, month, year = (int(g) for g in dutch.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    if float in admitted and _DECIMAL_COMMA.match(value):
        return value.replace(",", ".")
    return value


def prepare(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """Form strings as model input. A blank field becomes None when the model's default
    is None; otherwise it is left out, so that it takes its default or, when required,
    is reported missing ("Fill in this field"). Other values pass through."""
    prepared: dict[str, Any] = {}
    for name, value in values.items():
        field = model.model_fields.get(name)
        if field is None or not isinstance(value, str):
            prepared[name] = value
        elif value.strip():
            prepared[name] = _prepared(field, value)
        elif not field.is_required() and field.default is None:
            prepared[name] = None
    return prepared


def split_list(text: str) -> list[str]:
    """``"orderpicken, heftruck"`` (or one per line) -> ``["orderpicken", "heftruck"]``."""
    return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]


def rows(values: Mapping[str, str], name: str, parts: Iterable[str]) -> list[dict[str, str]]:
    """Repeated groups of inputs named ``name.<n>.<part>``, in order, blank rows left out
    (renumbered from 0, so that error paths and the redisplayed form agree)."""
    wanted = tuple(parts)
    found: dict[int, dict[str, str]] = {}
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)\.(\w+)$")
    for key, value in values.items():
        match = pattern.match(key)
        if match and match.group(2) in wanted:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    complete = ({part: row.get(part, "") for part in wanted} for _, row in sorted(found.items()))
    return [row for row in complete if any(row.values())]
