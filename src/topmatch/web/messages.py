"""Refusals and peers' errors in the page's language, with the raw text as secondary detail.

Services and peers speak English (``TopmatchError`` messages, a peer's problem+json
``detail``, the sync's last error). A page shows, first, a message in its own language: the
one a rule of :mod:`topmatch.web.forms` knows for this exact message, else one per kind of
error (its ``code``; for a peer's error, what the text says happened). Only when no rule
knew the message does the raw English follow, marked ``lang="en"``, as detail for whoever
has to look into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from babel.support import NullTranslations
from markupsafe import Markup, escape

from topmatch.errors import TopmatchError
from topmatch.web import forms
from topmatch.web.forms import N_

Gettext = Callable[[str], str]

#: TopmatchError.code -> msgid, for a message no rule knows
BY_CODE: dict[str, str] = {
    "invalid_input": N_("This input is not accepted."),
    "not_found": N_("Not found: it does not exist (any more)."),
    "conflict": N_("This conflicts with what is already recorded."),
    "version_conflict": N_(
        "Someone else changed this meanwhile: reload the page and make your changes again."
    ),
    "unauthenticated": N_("Sign in again: your session is not valid (any more)."),
    "forbidden": N_("Your role may not do this."),
    "too_early": N_("This is not possible yet."),
    "rate_limited": N_("Too many requests at once: wait a moment and try again."),
    "peer_error": N_("The other bureau gave no usable answer."),
    "peer_unavailable": N_("The other bureau cannot be reached now; it is tried again later."),
    "peer_bad_data": N_("The other bureau sent an answer that could not be used."),
}
SOMETHING_WENT_WRONG = N_("This could not be done.")
DETAIL = N_("Technical detail")

#: what a peer's error text says happened -> msgid; the first pattern that matches wins
PEER_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"timed out|timeout", re.I), N_("did not answer in time")),
    (
        re.compile(r"unreachable|connect|name or service|resolve", re.I),
        N_("cannot be reached"),
    ),
    (re.compile(r"HTTP 5\d\d", re.I), N_("had an internal error")),
    (re.compile(r"signature|digest|key", re.I), N_("sent an answer that could not be verified")),
    (
        re.compile(r"over the limit|encoded|not valid|invalid|malformed", re.I),
        N_("sent an answer that could not be used"),
    ),
    (re.compile(r"HTTP 4\d\d|refused|denied|forbidden|not found", re.I), N_("refused")),
)
PEER_OTHER = N_("gave no usable answer")


def explain(error: TopmatchError, gettext: Gettext) -> tuple[str, str | None]:
    """(the message in the page's language, the raw English detail or None)."""
    translated = forms.translate(error.message, gettext)
    if translated != error.message:
        return translated, None
    return gettext(BY_CODE.get(error.code, SOMETHING_WENT_WRONG)), error.diagnostics()


def peer_kind(text: str, gettext: Gettext) -> str:
    """What a peer's error text says happened, as a phrase in the page's language."""
    for pattern, msgid in PEER_KINDS:
        if pattern.search(text):
            return gettext(msgid)
    return gettext(PEER_OTHER)


def detail(text: str | None, gettext: Gettext) -> Markup:
    """The raw English text, marked as such, after its label (nothing without a text)."""
    if not text:
        return Markup("")
    return Markup('<small class="meta">{}: <span lang="en">{}</span></small>').format(
        gettext(DETAIL), text
    )


def problem_html(error: TopmatchError, gettext: Gettext) -> Markup:
    """A refusal for a page: the message, then the raw detail if no rule knew it."""
    message, raw = explain(error, gettext)
    if raw is None:
        return escape(message)
    return Markup("{} {}").format(message, detail(raw, gettext))


def peer_error_html(text: str | None, gettext: Gettext) -> Markup:
    """A peer's error for a page: what happened in words, then the raw text."""
    if not text:
        return Markup("")
    return Markup("{} {}").format(peer_kind(text, gettext), detail(text, gettext))


#: code-list values (topmatch.vocabulary) that are Dutch words -> msgid; the other values
#: are names of Dutch school types (vmbo-bb, havo, mbo-2...) and stay as they are
TERMS: dict[str, str] = {
    "vast": N_("permanent"),
    "tijdelijk": N_("temporary"),
    "uitzend": N_("agency work"),
    "oproep": N_("on call"),
    "proefplaatsing": N_("trial placement"),
    "vrijwilligerswerk": N_("volunteer work"),
    "geen": N_("no education"),
    "basisonderwijs": N_("primary school"),
    "praktijkonderwijs": N_("practical education"),
}


def term(value: object, gettext: Gettext) -> str:
    """A code-list value (a contract type, an education level) in the page's language."""
    text = str(getattr(value, "value", value) or "")
    return gettext(TERMS[text]) if text in TERMS else text


def hours(low: int | None, high: int | None, catalogue: NullTranslations) -> str:
    """Hours a week: "16 hours" when both ends are the same, else "16-24 hours"."""
    if low is None and high is None:
        return ""
    if low is None or high is None or low == high:
        count = low if low is not None else high
        return catalogue.ngettext("%(num)s hour", "%(num)s hours", count or 0) % {"num": count}
    return catalogue.gettext("%(low)s–%(high)s hours") % {"low": low, "high": high}
