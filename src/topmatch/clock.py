"""Time as a collaborator: services take ``now`` instead of reading the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def shifted_clock(days: int) -> Clock:
    """The system clock moved by whole days (demos and tests of settlement periods)."""
    if not days:
        return system_clock
    offset = timedelta(days=days)

    def clock() -> datetime:
        return datetime.now(UTC) + offset

    return clock
