"""The reasons behind a match, in the page's language.

The matching core (:mod:`topmatch.matching.scoring`) explains a score in Dutch, one
reason per component joined by "; ", and a peer's candidate answer carries the same text.
An English page reads each reason through the rules below; a reason no rule knows (a
newer peer's wording) is shown as it came.
"""

from __future__ import annotations

import re
from collections.abc import Callable

SEPARATOR = "; "

_WANTED: tuple[tuple[str, str], ...] = (
    (r"minstens (?P<n>[\d.]+) uur", "at least {n} hours"),
    (r"hoogstens (?P<n>[\d.]+) uur", "at most {n} hours"),
    (r"(?P<n>[\d.–]+) uur", "{n} hours"),
)


def _level(held: str) -> str:
    return "no NLQF level" if held == "geen NLQF-niveau" else held


def _wish(found: re.Match[str]) -> str:
    wish = found["wish"].replace("hoogstens", "at most").replace("minstens", "at least")
    return f"{found['range']} hours, client wants {wish}"


def _weeks(found: re.Match[str]) -> str:
    weeks = found["weeks"]
    unit = "week" if weeks == "1" else "weeks"
    return f"available only {weeks} {unit} after the start date ({found['points']})"


def _hours(found: re.Match[str]) -> str:
    fits = "fit" if found["fits"] == "passen bij" else "partly fit"
    return f"hours {found['range']} {fits} {_rule(found['wanted'], _WANTED)}"


Rule = tuple[str, str | Callable[[re.Match[str]], str]]
RULES: tuple[Rule, ...] = (
    (r"zelfde beroep \(ISCO (?P<c>\d+)\)", "same occupation (ISCO {c})"),
    (r"verwant beroep \(ISCO (?P<c>\d+)\)", "related occupation (ISCO {c})"),
    (r"verwant werk \(ISCO (?P<c>\d+)\)", "related work (ISCO {c})"),
    (r"beroepsnaam komt overeen", "occupation name matches"),
    (
        r"beroepsnaam komt overeen \((?P<f>\d+) van (?P<n>\d+) woorden\)",
        "occupation name matches ({f} of {n} words)",
    ),
    (r"vaardigheden: (?P<s>.+)", "skills: {s}"),
    (r"afstand onbekend", "distance unknown"),
    (r"(?P<km>\d+) km van (?P<p>.+)", "{km} km from {p}"),
    (r"geen urenwens opgegeven", "no hours asked for"),
    (r"uren (?P<range>\S+) (?P<fits>passen (?:deels )?bij) (?P<wanted>.+)", _hours),
    (r"opleidingsniveau onbekend", "education level unknown"),
    (r"opleidingsniveau past \(NLQF (?P<n>\d+)\)", "education level fits (NLQF {n})"),
    (
        r"opleidingsniveau één onder de eis \((?P<h>[^,]+), gevraagd (?P<r>\d+)\)",
        lambda f: f"education level one below the requirement ({_level(f['h'])}, asked {f['r']})",
    ),
    (
        r"opleidingsniveau te laag \((?P<h>[^,]+), gevraagd NLQF (?P<r>\d+)\)",
        lambda f: f"education level too low ({_level(f['h'])}, asked NLQF {f['r']})",
    ),
    (r"reisafstand niet opgegeven", "travel distance not asked yet"),
    (r"(?P<km>\d+) km verder dan de grens", "{km} km past the limit"),
    (r"(?P<range>[\d–]+) uur, cliënt wil (?P<wish>.+)", _wish),
    (r"rijbewijs (?P<c>\S+) gevraagd", "driving licence {c} required"),
    (r"Nederlands (?P<level>[ABC][12]) gevraagd", "Dutch {level} required"),
    (r"voor het doelgroepregister", "for the target group register"),
    (r"alleen doelgroepregister", "target group register only"),
    (r"tekst past bij de zoekvraag", "text matches the search"),
    (
        r"pas (?P<weeks>\d+) (?:week|weken) na de startdatum beschikbaar \((?P<points>[^)]+)\)",
        _weeks,
    ),
)


def _rule(reason: str, rules: tuple[Rule, ...]) -> str:
    for pattern, english in rules:
        found = re.fullmatch(pattern, reason)
        if found is None:
            continue
        return english(found) if callable(english) else english.format(**found.groupdict())
    return reason


def in_language(explanation: str | None, language: str) -> str:
    """``explanation`` (reasons joined by "; ") for a page in ``language``."""
    if not explanation or language == "nl":
        return explanation or ""
    return SEPARATOR.join(_rule(reason, RULES) for reason in explanation.split(SEPARATOR))
