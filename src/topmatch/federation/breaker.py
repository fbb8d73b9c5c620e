"""A per-peer circuit breaker with half-open probes (pure: ``now`` and the jitter are given).

A peer that keeps failing is not called at every round: after ``threshold`` failures in a
row the circuit *opens* and the peer is left alone until ``next_attempt_at``; then one
call may go through as a *probe* (the circuit is *half open*). A successful probe closes
the circuit; a failed one opens it again for twice as long, up to ``cap``. The wait is
shortened by a random fraction of at most ``jitter`` so that nodes that lost the same
peer do not all come back at the same second.

    closed --(threshold failures in a row)--> open
    open --(next_attempt_at passed, probe claimed)--> half_open
    half_open --(success)--> closed
    half_open --(failure)--> open (longer)

A claimed probe holds the circuit half open only until ``next_attempt_at`` (the probe's
own time budget): a worker that died while probing does not keep the peer shut for ever.
The sync worker keeps the breaker in the peer's sync record
(:class:`topmatch.federation.models.PeerSyncState`: ``circuit``, ``failures``,
``next_attempt_at``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

#: doublings after which the wait no longer grows (2**20 times base is past any cap)
_MAX_DOUBLINGS = 20


class CircuitState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    """When a circuit opens and how long it stays open."""

    threshold: int = 1  # failures in a row that open the circuit
    base: timedelta = timedelta(seconds=5)  # the first wait
    cap: timedelta = timedelta(minutes=30)  # the longest wait
    jitter: float = 0.2  # the wait is shortened by up to this fraction

    def wait(self, openings: int, rand: float) -> timedelta:
        """The wait after the circuit opened for the ``openings``-th time in a row
        (1, 2, ...), with ``rand`` in [0, 1) taking off up to ``jitter`` of it."""
        doublings = min(max(openings - 1, 0), _MAX_DOUBLINGS)
        full: timedelta = min(self.base * (1 << doublings), self.cap)
        shortened: timedelta = full * (1 - self.jitter * min(max(rand, 0.0), 1.0))
        return shortened


@dataclass(frozen=True)
class Breaker:
    """One peer's circuit. Every method returns the next breaker; none reads the clock."""

    state: CircuitState = CircuitState.closed
    failures: int = 0  # failures in a row
    next_attempt_at: datetime | None = None  # open: when a probe may go; half open: probe ends

    def allows(self, now: datetime) -> bool:
        """May a call go to the peer at ``now``? Closed: yes. Open or half open: only once
        ``next_attempt_at`` has passed (then the call is a probe: :meth:`probe`)."""
        if self.state == CircuitState.closed:
            return True
        return self.next_attempt_at is None or now >= self.next_attempt_at

    def probe(self, now: datetime, budget: timedelta) -> Breaker:
        """Claim the one probe of an open circuit: half open until ``now + budget``. A
        closed circuit stays closed (nothing to probe)."""
        if self.state == CircuitState.closed:
            return self
        return replace(self, state=CircuitState.half_open, next_attempt_at=now + budget)

    def succeeded(self) -> Breaker:
        """A call went through: the circuit closes and the failures are forgotten."""
        return Breaker()

    def failed(self, now: datetime, policy: BreakerPolicy, rand: float) -> Breaker:
        """A call failed at ``now``. A failed probe, or the ``threshold``-th failure in a
        row, opens the circuit; ``rand`` in [0, 1) is the jitter's draw."""
        failures = self.failures + 1
        if self.state == CircuitState.closed and failures < policy.threshold:
            return Breaker(CircuitState.closed, failures, None)
        openings = failures - policy.threshold + 1
        return Breaker(CircuitState.open, failures, now + policy.wait(openings, rand))
