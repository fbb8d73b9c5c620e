"""A peer's state in one word, derived from what the sync records (pure: ``now`` is given).

The sync worker keeps per peer the last success, the last error and the number of failures
in a row (:class:`topmatch.federation.models.PeerSyncState`); the descriptor says whether
the admin suspended it. From those, in this order:

- ``suspended`` (geschorst): the admin suspended the peer; nothing is synced with it.
- ``unreachable`` (onbereikbaar): the last attempt failed. ``since`` is the last success:
  the worker tries every interval, so the outage began within one interval after it.
  ``since`` is None when the peer was never reached.
- ``pending`` (nog niet gesynchroniseerd): nothing tried yet.
- ``lagging`` (vertraagd): the last attempt did not fail, but the last success is older
  than ``lag_after`` (the worker is off, slow or behind). ``since`` is the last success.
- ``reachable`` (bereikbaar): synchronised recently.

The API (``GET /api/v1/peers``), the web app and the CLI all read the state from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

#: a peer whose last success is older than this many sync intervals is lagging
LAG_INTERVALS = 3
#: ... but never sooner than this (a short interval must not flap between states)
MIN_LAG = timedelta(minutes=5)


class PeerState(StrEnum):
    reachable = "reachable"
    lagging = "lagging"
    unreachable = "unreachable"
    suspended = "suspended"
    pending = "pending"


@dataclass(frozen=True)
class PeerHealth:
    state: PeerState
    since: datetime | None  # the last success, for lagging and unreachable peers


def lag_threshold(sync_interval_seconds: float) -> timedelta:
    """How old the last success may be before a peer counts as lagging."""
    return max(MIN_LAG, timedelta(seconds=sync_interval_seconds * LAG_INTERVALS))


def peer_health(
    *,
    active: bool,
    failures: int,
    last_success_at: datetime | None,
    now: datetime,
    lag_after: timedelta,
) -> PeerHealth:
    """The state of one peer (see the module docstring for the rules and their order)."""
    if not active:
        return PeerHealth(PeerState.suspended, None)
    if failures > 0:
        return PeerHealth(PeerState.unreachable, last_success_at)
    if last_success_at is None:
        return PeerHealth(PeerState.pending, None)
    if now - last_success_at > lag_after:
        return PeerHealth(PeerState.lagging, last_success_at)
    return PeerHealth(PeerState.reachable, None)
