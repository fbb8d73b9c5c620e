"""How the command line writes counts and moments: one helper each, so every command
says "1 opening" and "2 openingen", and every time is on the Amsterdam clock."""

from __future__ import annotations

from datetime import UTC, datetime

from topmatch.settlement.periods import AMSTERDAM

#: The zone every time in the CLI is shown in; named in table headers ("when (...)").
ZONE = "Europe/Amsterdam"


def count(n: int, one: str, many: str) -> str:
    """``n`` with the noun in the right number: ``count(1, "opening", "openingen")``
    -> ``1 opening``, ``count(2, ...)`` -> ``2 openingen`` (also ``0 openingen``)."""
    return f"{n} {one if n == 1 else many}"


def local_time(at: datetime | None, *, seconds: bool = False, zone: bool = False) -> str:
    """A moment on the Amsterdam clock, ``2026-12-04 19:40``; ``""`` for ``None``.

    ``zone`` appends the zone's name, for a time shown on its own (in a table, the
    header names it). A naive value is taken as UTC, as the database stores it.
    """
    if at is None:
        return ""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    text = f"{at.astimezone(AMSTERDAM):%Y-%m-%d %H:%M{':%S' if seconds else ''}}"
    return f"{text} ({ZONE})" if zone else text


def local_day(at: datetime | None) -> str:
    """The Amsterdam calendar day of a moment, ``2026-12-04``; ``""`` for ``None``."""
    return local_time(at)[:10]


def when(header: str = "when") -> str:
    """A table header for a column of :func:`local_time` values, naming the zone."""
    return f"{header} ({ZONE})"
