"""Prometheus metrics at ``GET /metrics``, and the access log line of every request.

Two kinds of numbers, kept apart because a node may run as several uvicorn workers:

- **Per process** (counters and a histogram, kept in memory): requests by method, route
  template and status, their duration, and federation errors. With several workers each
  process counts only what it served; set ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder,
  the same for every worker, before they start) and the workers write their counts there
  and any of them sums all of them at a scrape (prometheus_client's multiprocess mode).
- **From the database, at scrape time** (:class:`DatabaseCollector`): sync lag per peer,
  ledger size, witness alarms. Every worker reads the same rows, so any worker answers
  the same.

Labels never carry a raw path, a query string or a body: a route is its template
(``/api/v1/clients/{client_id}``), and a request that matched no route is ``unmatched``.

    topmatch_http_requests_total{method, route, status}
    topmatch_http_request_duration_seconds{method, route, status}   histogram
    topmatch_federation_errors_total{direction, reason}
        inbound:  the code of the refusal on a /federation path (missing_signature,
                  malformed_signature, stale_signature, digest_mismatch, bad_signature,
                  unknown_key (also a suspended peer), replayed_nonce, rate_limited, ...)
        outbound: feed_sync, fee_agreements, witness, outbox (ledger proposals among it)
    topmatch_peer_sync_lag_seconds{peer}      now minus the peer's last successful sync
    topmatch_peer_sync_failures{peer}         failed syncs in a row
    topmatch_peer_state{peer, state}          1 for the peer's state (reachable, lagging,
                                              unreachable, pending), 0 for the others
    topmatch_peer_circuit_open{peer}          1 while the peer's circuit breaker is not closed
    topmatch_ledger_entries                   entries in our ledger log
    topmatch_witness_alarms                   alarms raised about peers' logs
    topmatch_outbox_messages{state}           messages to peers in the outbox, by state
    topmatch_outbox_queued{peer}              per peer: messages waiting in the outbox
    topmatch_database_up                      1 if the gauges above could be read
"""

from __future__ import annotations

import hmac
import inspect
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from topmatch import logs
from topmatch.clock import Clock
from topmatch.errors import AuthenticationError, TopmatchError
from topmatch.federation import outbox, status
from topmatch.federation.breaker import CircuitState
from topmatch.federation.models import PeerSyncState
from topmatch.federation.peers import PeerRegistry
from topmatch.ledger.models import LedgerEntry, WitnessAlarm
from topmatch.settings import Settings

log = logging.getLogger("topmatch.metrics")
access_log = logging.getLogger("topmatch.access")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
FEDERATION_PREFIX = "/federation/"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Scrapes and health checks every few seconds would drown the access log at INFO.
_QUIET_ROUTES = frozenset({"/metrics", "/healthz"})
# A request id from the reverse proxy is kept only as a UUID or 32 lowercase hex digits:
# random-looking forms that cannot carry a name, a BSN or a phone number in readable form.
_FORWARDED_ID = re.compile(
    r"^([0-9a-f]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)


class Metrics:
    """This process's counters, and how to expose them together with the database's."""

    def __init__(self, *, database: DatabaseCollector) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.database = database
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "topmatch_http_requests",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "topmatch_http_request_duration_seconds",
            "Time from request to the end of the response, by method, route template, status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.federation_errors = Counter(
            "topmatch_federation_errors",
            "Refused inbound /federation requests by code (direction=inbound); failed "
            "calls to peers by task (direction=outbound).",
            ["direction", "reason"],
            registry=self.registry,
        )
        if not self.multiprocess:
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                self.registry.register(collector)
            self.registry.register(database)

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(seconds)

    def refused(self, code: str) -> None:
        """An inbound federation request was refused with ``code``."""
        self.federation_errors.labels("inbound", code).inc()

    def peer_failures(self, task: str, failures: int) -> None:
        """``failures`` calls to peers failed in ``task`` (feed_sync, witness, ...)."""
        if failures:
            self.federation_errors.labels("outbound", task).inc(failures)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The body and content type of a scrape, in the format ``accept`` asks for."""
        encoder, content_type = choose_encoder(accept or "")
        if not self.multiprocess:
            return encoder(self.registry), content_type
        # Every worker's counters, summed from the shared folder, plus the database's.
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        registry.register(self.database)
        return encoder(registry), content_type


class DatabaseCollector:
    """Gauges read from the database at each scrape, so every worker reports the same."""

    def __init__(
        self,
        *,
        engine: Callable[[], Engine | None],
        clock: Clock,
        peers: PeerRegistry,
        lag_after: timedelta | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._peers = peers
        self._lag_after = lag_after or status.lag_threshold(60)

    def describe(self) -> Iterable[Metric]:
        return _families()  # names only: describing must not touch the database

    def collect(self) -> Iterable[Metric]:
        families = _families()
        up = families[-1]
        engine = self._engine()
        if engine is None:  # scraped before the lifespan made the engine
            up.add_metric([], 0)
            return [up]
        try:
            self._read(engine, *families[:-1])
        except SQLAlchemyError as e:
            log.warning("metrics: cannot read the database: %s", type(e).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return families

    def _read(  # noqa: PLR0917 - one parameter per metric family filled here
        self,
        engine: Engine,
        lag: GaugeMetricFamily,
        failures: GaugeMetricFamily,
        states: GaugeMetricFamily,
        circuits: GaugeMetricFamily,
        entries: GaugeMetricFamily,
        alarms: GaugeMetricFamily,
        messages: GaugeMetricFamily,
        queued: GaugeMetricFamily,
    ) -> None:
        now = self._clock()
        active = {p.node_id for p in self._peers.active()}
        with Session(engine) as session:
            records = {s.node_id: s for s in session.exec(select(PeerSyncState)).all()}
            entries.add_metric(
                [], session.exec(select(func.count()).select_from(LedgerEntry)).one()
            )
            alarms.add_metric(
                [], session.exec(select(func.count()).select_from(WitnessAlarm)).one()
            )
            counted = outbox.counts(session)
            queues = outbox.queues(session)
        for message_state in outbox.MessageState:
            messages.add_metric([message_state.value], counted.get(message_state.value, 0))
        for node_id in sorted(active | set(queues)):
            waiting = queues.get(node_id)
            queued.add_metric([node_id], waiting.queued if waiting is not None else 0)
        # Only peers we are meant to sync: a suspended or removed peer's lag grows forever.
        for node_id in sorted(active):
            record = records.get(node_id) or PeerSyncState(node_id=node_id)
            failures.add_metric([node_id], record.failures)
            if record.last_success_at is not None:
                lag.add_metric([node_id], (now - record.last_success_at).total_seconds())
            health = status.peer_health(
                active=True,
                failures=record.failures,
                last_success_at=record.last_success_at,
                now=now,
                lag_after=self._lag_after,
            )
            for state in PEER_STATES:
                states.add_metric([node_id, state.value], 1 if state == health.state else 0)
            circuits.add_metric([node_id], 0 if record.circuit == CircuitState.closed else 1)


#: the states an active peer can be in (suspended peers are not reported)
PEER_STATES = tuple(s for s in status.PeerState if s != status.PeerState.suspended)


def _families() -> list[GaugeMetricFamily]:
    return [
        GaugeMetricFamily(
            "topmatch_peer_sync_lag_seconds",
            "Seconds since the last successful sync of an active peer's feed.",
            labels=["peer"],
        ),
        GaugeMetricFamily(
            "topmatch_peer_sync_failures",
            "Failed syncs of an active peer's feed in a row (0 after a success).",
            labels=["peer"],
        ),
        GaugeMetricFamily(
            "topmatch_peer_state",
            "1 for an active peer's state (reachable, lagging, unreachable, pending), 0 for "
            "the other states.",
            labels=["peer", "state"],
        ),
        GaugeMetricFamily(
            "topmatch_peer_circuit_open",
            "1 while the circuit breaker of an active peer is open or half open: the sync "
            "worker leaves it alone until its next attempt.",
            labels=["peer"],
        ),
        GaugeMetricFamily("topmatch_ledger_entries", "Entries in this node's ledger log."),
        GaugeMetricFamily(
            "topmatch_witness_alarms", "Alarms raised about peers' ledger logs (all time)."
        ),
        GaugeMetricFamily(
            "topmatch_outbox_messages",
            "Messages to peers in the outbox, by state; failed ones are alarms "
            "(docs/adr/0013-outbox.md).",
            labels=["state"],
        ),
        GaugeMetricFamily(
            "topmatch_outbox_queued",
            "Our messages to a peer waiting in the outbox or under way (0: its queue is empty).",
            labels=["peer"],
        ),
        GaugeMetricFamily(
            "topmatch_database_up", "1 if the database gauges could be read at this scrape."
        ),
    ]


# --- the request middleware ------------------------------------------------------------


def route_of(scope: Scope) -> str:
    """The template of the route that served the request, never the path as sent."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = bytes(value).decode("latin-1")
            if _FORWARDED_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestMetrics:
    """ASGI middleware (outermost): counts and times each request, tags its log records
    with a request id (echoed in ``X-Request-ID``), and writes one access log line."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = _request_id(scope)
        token = logs.request_id.set(rid)
        status = 500  # what the client gets if the app raises before it answers

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            logs.request_id.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "other"
        route = route_of(scope)
        self.metrics.observe(method=method, route=route, status=status, seconds=seconds)
        duration_ms = round(seconds * 1000, 1)
        access_log.log(
            logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
            "%s %s %d %.1f ms",
            method,
            route,
            status,
            duration_ms,
            extra={"method": method, "route": route, "status": status, "duration_ms": duration_ms},
        )


# --- wiring ----------------------------------------------------------------------------


def _check_token(request: Request, token: str) -> None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise AuthenticationError(
            "GET /metrics needs 'Authorization: Bearer <token>' with the node's metrics "
            "token (TOPMATCH_METRICS_TOKEN)"
        )


def install(app: FastAPI, settings: Settings) -> Metrics:
    """Add ``/metrics``, the request middleware and the count of refused federation
    requests. Call after :func:`topmatch.api.errors.install` and after every other
    ``add_middleware``, so that the timing covers the whole stack."""
    state = app.state
    metrics = Metrics(
        database=DatabaseCollector(
            engine=lambda: getattr(state, "engine", None),
            clock=state.clock,
            peers=state.peers,
            lag_after=status.lag_threshold(settings.sync_interval_seconds),
        )
    )
    state.metrics = metrics
    app.add_middleware(RequestMetrics, metrics=metrics)
    _count_federation_refusals(app, metrics)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    # Not async: FastAPI runs it in the thread pool, so the database reads do not block.
    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        if token is not None:
            _check_token(request, token)
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return metrics


def _count_federation_refusals(app: FastAPI, metrics: Metrics) -> None:
    """Wrap the problem handler of domain errors: an error answered on a /federation path
    is counted by its code, then answered exactly as before."""
    try:
        answer = app.exception_handlers[TopmatchError]
    except KeyError as e:
        raise RuntimeError("install metrics after topmatch.api.errors.install") from e

    async def counted(request: Request, error: Exception) -> Any:
        if isinstance(error, TopmatchError) and request.url.path.startswith(FEDERATION_PREFIX):
            metrics.refused(error.code)
        response = answer(request, error)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(TopmatchError, counted)
