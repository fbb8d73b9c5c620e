"""The per-peer circuit breaker: a pure state machine, driven by a given ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from topmatch.federation.breaker import Breaker, BreakerPolicy, CircuitState

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
POLICY = BreakerPolicy(threshold=3, base=timedelta(seconds=10), cap=timedelta(minutes=5))
PROBE = timedelta(seconds=30)


def test_it_opens_after_threshold_failures_in_a_row() -> None:
    breaker = Breaker()
    for _ in range(2):
        breaker = breaker.failed(NOW, POLICY, rand=0)
        assert breaker.state == CircuitState.closed
        assert breaker.allows(NOW)
    breaker = breaker.failed(NOW, POLICY, rand=0)
    assert breaker == Breaker(CircuitState.open, 3, NOW + timedelta(seconds=10))
    assert not breaker.allows(NOW + timedelta(seconds=9))
    assert breaker.allows(NOW + timedelta(seconds=10))


def test_a_success_forgets_the_failures() -> None:
    breaker = Breaker().failed(NOW, POLICY, rand=0).failed(NOW, POLICY, rand=0).succeeded()
    assert breaker == Breaker()
    assert breaker.failed(NOW, POLICY, rand=0).state == CircuitState.closed


def test_one_probe_then_closed_or_open_for_longer() -> None:
    opened = Breaker(CircuitState.open, 3, NOW)
    probing = opened.probe(NOW, PROBE)
    assert probing.state == CircuitState.half_open
    assert not probing.allows(NOW + timedelta(seconds=1))  # one probe at a time
    assert probing.succeeded().state == CircuitState.closed
    again = probing.failed(NOW, POLICY, rand=0)
    assert again == Breaker(CircuitState.open, 4, NOW + timedelta(seconds=20))
    third = again.probe(again.next_attempt_at or NOW, PROBE).failed(NOW, POLICY, rand=0)
    assert third.next_attempt_at == NOW + timedelta(seconds=40)


def test_a_probe_that_never_reports_back_expires() -> None:
    probing = Breaker(CircuitState.open, 3, NOW).probe(NOW, PROBE)
    assert probing.allows(NOW + PROBE)  # the prober died: another probe may go


def test_probing_a_closed_circuit_changes_nothing() -> None:
    assert Breaker().probe(NOW, PROBE) == Breaker()


def test_the_wait_is_capped_and_jitter_only_shortens_it() -> None:
    assert POLICY.wait(1, rand=0) == timedelta(seconds=10)
    assert POLICY.wait(100, rand=0) == timedelta(minutes=5)
    assert POLICY.wait(1, rand=0.5) == timedelta(seconds=9)  # 10 s less 20 % of a half


@given(
    failures=st.integers(min_value=0, max_value=10_000),
    rand=st.floats(min_value=0, max_value=1, allow_nan=False),
)
def test_an_open_circuit_always_reopens_within_the_cap(failures: int, rand: float) -> None:
    breaker = Breaker(CircuitState.half_open, failures, NOW).failed(NOW, POLICY, rand=rand)
    assert breaker.state == CircuitState.open
    assert breaker.next_attempt_at is not None
    wait = breaker.next_attempt_at - NOW
    assert POLICY.cap * (1 - POLICY.jitter) <= wait or wait >= POLICY.base * (1 - POLICY.jitter)
    assert wait <= POLICY.cap
