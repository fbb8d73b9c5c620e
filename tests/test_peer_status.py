"""A peer's state from its sync record: each state and the order of the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from topmatch.federation.status import MIN_LAG, PeerState, lag_threshold, peer_health

NOW = datetime(2026, 12, 4, 17, 35, tzinfo=UTC)
LAG = timedelta(minutes=5)


def test_each_state() -> None:
    recent = NOW - timedelta(minutes=1)
    old = NOW - timedelta(hours=2)
    cases = [
        ({"active": True, "failures": 0, "last_success_at": recent}, PeerState.reachable, None),
        ({"active": True, "failures": 0, "last_success_at": old}, PeerState.lagging, old),
        ({"active": True, "failures": 3, "last_success_at": old}, PeerState.unreachable, old),
        ({"active": True, "failures": 1, "last_success_at": None}, PeerState.unreachable, None),
        ({"active": True, "failures": 0, "last_success_at": None}, PeerState.pending, None),
        ({"active": False, "failures": 0, "last_success_at": recent}, PeerState.suspended, None),
    ]
    for record, state, since in cases:
        health = peer_health(**record, now=NOW, lag_after=LAG)  # type: ignore[arg-type]
        assert (health.state, health.since) == (state, since), record


def test_suspension_and_failure_win_over_a_recent_success() -> None:
    recent = NOW - timedelta(seconds=30)
    assert (
        peer_health(active=False, failures=4, last_success_at=recent, now=NOW, lag_after=LAG).state
        == PeerState.suspended
    )
    failed = peer_health(active=True, failures=1, last_success_at=recent, now=NOW, lag_after=LAG)
    assert failed == (failed.__class__(PeerState.unreachable, recent))


def test_the_lag_threshold_follows_the_interval_but_not_below_a_floor() -> None:
    assert lag_threshold(60) == MIN_LAG
    assert lag_threshold(0) == MIN_LAG
    assert lag_threshold(600) == timedelta(minutes=30)
