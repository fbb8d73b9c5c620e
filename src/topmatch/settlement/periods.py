"""Settlement periods: a quarter (``2026-Q4``) or a month (``2026-11``) of the
Europe/Amsterdam calendar, the calendar Dutch bureaus book in.

An entry belongs to the period that holds its ``at`` timestamp's date in Amsterdam, so an
entry signed at 23:30 UTC on 31 December belongs to the new year, as the bureau's
bookkeeping would have it. The date rule is fixed (not the node's local zone): every node
must put every entry in the same period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_PERIOD = re.compile(r"^(?P<year>[0-9]{4})-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2]))$")
MONTHS_PER_QUARTER = 3


@dataclass(frozen=True, order=True)
class Period:
    """A half-open range of dates: ``start`` up to, not including, ``end``."""

    start: date
    end: date
    name: str

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end

    def is_over(self, now: datetime) -> bool:
        return local_date(now) >= self.end

    def has_started(self, now: datetime) -> bool:
        return local_date(now) >= self.start


def parse_period(name: str) -> Period:
    """``2026-Q4`` or ``2026-11``; a ValueError names what is wrong."""
    match = _PERIOD.match(name)
    if match is None:
        raise ValueError(
            f"period {name!r} is neither a quarter like 2026-Q4 nor a month like 2026-11"
        )
    year = int(match["year"])
    if match["quarter"]:
        first = (int(match["quarter"]) - 1) * MONTHS_PER_QUARTER + 1
        months = MONTHS_PER_QUARTER
    else:
        first, months = int(match["month"]), 1
    start = date(year, first, 1)
    end_month = first + months
    end = date(year + 1, 1, 1) if end_month > 12 else date(year, end_month, 1)  # noqa: PLR2004
    return Period(start=start, end=end, name=name)


def local_date(at: datetime) -> date:
    """The Amsterdam calendar date of an aware timestamp."""
    if at.tzinfo is None:
        raise ValueError(f"timestamp {at.isoformat()} has no time zone")
    return at.astimezone(AMSTERDAM).date()


def period_of(day: date, *, quarterly: bool = True) -> Period:
    """The quarter (or month) holding ``day``."""
    if quarterly:
        return parse_period(f"{day.year:04d}-Q{(day.month - 1) // MONTHS_PER_QUARTER + 1}")
    return parse_period(f"{day.year:04d}-{day.month:02d}")


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the month's last day (31 August plus
    6 months is 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    return date(year, month + 1, min(day.day, 28))
