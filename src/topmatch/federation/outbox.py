"""The durable outbox: every message this node sends a peer on its own initiative.

A use case that must tell a peer something writes an :class:`OutboxMessage` with
:func:`enqueue` in the same transaction as the state change that causes it; nothing in a
request handler calls the peer. The delivery step (:func:`deliver`) sends what is due,
from the worker loop and, for responsiveness, from a background task kicked right after
the request's commit. See docs/adr/0013-outbox.md.

A message's life::

    queued --(claimed by a delivery step)--> sent --(2xx)--> delivered --> answered
    sent --(network trouble, 5xx, 429)--> queued (later: exponential backoff, jitter)
    sent --(4xx: the peer refuses it)--> failed
    queued --(expires_at passed)--> failed (alarm)
    failed --(resend)--> queued;  queued/failed --(cancel)--> cancelled

``sent`` means "an attempt is under way": the claim holds until ``next_attempt_at`` (the
attempt's own time budget), so a worker that died mid-call does not hold the message for
ever. Each peer's queue is first in, first out: a message waits for the ones queued
before it to the same peer, and one peer's trouble never delays another's queue.

A domain that needs the peer's answer (the ledger: a proposal is answered with the entry
countersigned) registers an ``on_answer`` hook for its kind; the courier calls it in the
transaction that settles the message (:data:`OnAnswer`). The hook tables are joined in
the composition root: this module imports no domain.

The message id travels in the signed target URI (``?message_id=...``, covered by
``@target-uri`` of RFC 9421), and receivers apply a message once per id
(:func:`already_received` / :func:`record_received`): delivery is at least once, the
effect exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, Engine, func, update
from sqlmodel import Session, col, select

from topmatch import db
from topmatch.clock import Clock
from topmatch.errors import ConflictError, PeerError, PeerNotReachedError
from topmatch.federation.breaker import BreakerPolicy
from topmatch.federation.models import OutboxMessage, ReceivedMessage
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient, PeerResponse, describe_peer_problem
from topmatch.identity.descriptor import PeerDescriptor

log = logging.getLogger("topmatch.outbox")

#: the query parameter that carries the message id (inside the signed target URI)
MESSAGE_ID_PARAM = "message_id"
#: the waits between attempts: 30 s, 1 min, 2 min, ... up to an hour, minus up to 20 %
BACKOFF = BreakerPolicy(threshold=1, base=timedelta(seconds=30), cap=timedelta(hours=1))
#: a 429 from the peer means "later", not "never"
TOO_MANY_REQUESTS = 429
#: "later, not never" answers: 429 Too Many Requests, and 425 Too Early (RFC 8470), which
#: a peer gives while something the message depends on is still on its way to it (an
#: event on a placement whose countersignature has not reached it, an agreement's
#: signatures)
LATER = {425: "Too Early", TOO_MANY_REQUESTS: "Too Many Requests"}

#: what delivering a message of a kind changes in the domain (same transaction)
OnDelivered = Mapping[str, Callable[[Session, OutboxMessage], None]]


@dataclass(frozen=True)
class Answer:
    """The peer's final answer to one of our messages: 2xx, or a refusal (4xx)."""

    status: int
    body: bytes
    at: datetime

    @property
    def ok(self) -> bool:
        return self.status < 300  # noqa: PLR2004


#: what the peer's answer to a message of a kind changes in the domain, in the same
#: transaction that settles the message. The hook returns None when the answer is taken
#: (the message becomes ``answered``), or why it is not (the message becomes ``failed``
#: with that reason). Called for 2xx answers and for refusals (the message fails anyway).
OnAnswer = Mapping[str, Callable[[Session, OutboxMessage, Answer], str | None]]


class MessageState(StrEnum):
    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    answered = "answered"
    failed = "failed"
    cancelled = "cancelled"


PENDING = (MessageState.queued, MessageState.sent)


def enqueue(
    session: Session,
    *,
    peer: str,
    kind: str,
    path: str,
    body: bytes,
    reference: str | None,
    now: datetime,
    horizon: timedelta,
) -> OutboxMessage:
    """Queue ``body`` for ``POST path`` at ``peer`` (flushed, not committed: the caller's
    transaction commits it together with the change that caused it)."""
    message = OutboxMessage(
        message_id=uuid.uuid4().hex,
        peer=peer,
        kind=kind,
        path=path,
        body=body,
        reference=reference,
        state=MessageState.queued,
        created_at=now,
        expires_at=now + horizon,
        next_attempt_at=now,
    )
    session.add(message)
    session.flush()
    return message


def pending_for(session: Session, *, reference: str, kind: str) -> OutboxMessage | None:
    """The message of this kind about ``reference`` still waiting or under way, if any."""
    return session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.reference == reference,
            OutboxMessage.kind == kind,
            col(OutboxMessage.state).in_(PENDING),
        )
        .order_by(col(OutboxMessage.seq))
    ).first()


@dataclass(frozen=True)
class PeerQueue:
    """One peer's waiting messages, for /api/v1/peers, /metrics and the web app."""

    queued: int
    oldest_at: datetime | None
    next_attempt_at: datetime | None


def queues(session: Session) -> dict[str, PeerQueue]:
    """Per peer with messages waiting or under way: how many, since when, and when the
    head of its queue is tried next."""
    rows = session.exec(
        select(
            OutboxMessage.peer,
            func.count(),
            func.min(OutboxMessage.created_at),
            func.min(OutboxMessage.next_attempt_at),
        )
        .where(col(OutboxMessage.state).in_(PENDING))
        .group_by(col(OutboxMessage.peer))
    ).all()
    return {
        peer: PeerQueue(queued=n, oldest_at=_utc(oldest), next_attempt_at=_utc(next_at))
        for peer, n, oldest, next_at in rows
    }


def _utc(value: datetime | None) -> datetime | None:
    """Aggregates come back without the column type: naive on SQLite (stored as UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def for_references(session: Session, references: Iterable[str]) -> dict[str, OutboxMessage]:
    """Per reference, its newest message (what a consultant sees of it)."""
    wanted = list(set(references))
    if not wanted:
        return {}
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.reference).in_(wanted))
        .order_by(col(OutboxMessage.seq))
    ).all()
    return {row.reference: row for row in rows if row.reference is not None}


def mark_answered(session: Session, *, reference: str, kind: str) -> None:
    """The peer answered the message (e.g. decided on our request): the last state."""
    for row in session.exec(
        select(OutboxMessage).where(
            OutboxMessage.reference == reference,
            OutboxMessage.kind == kind,
            col(OutboxMessage.state).in_([*PENDING, MessageState.delivered]),
        )
    ).all():
        row.state = MessageState.answered
        session.add(row)


def resend(session: Session, *, reference: str, now: datetime, horizon: timedelta) -> int:
    """Queue the failed messages of ``reference`` again, with a fresh horizon."""
    rows = _of(session, reference, (MessageState.failed,))
    if not rows:
        raise ConflictError("nothing to resend: no message of this record failed")
    for row in rows:
        row.state, row.attempts, row.next_attempt_at = MessageState.queued, 0, now
        row.expires_at = now + horizon
        session.add(row)
    return len(rows)


def due_now(session: Session, *, peer: str, now: datetime) -> int:
    """Make ``peer``'s waiting messages due now (an admin knows the peer is back and
    does not want to wait out the backoff). How many."""
    rows = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.peer == peer, OutboxMessage.state == MessageState.queued
        )
    ).all()
    for row in rows:
        row.next_attempt_at = now
        session.add(row)
    return len(rows)


def cancel(session: Session, *, reference: str) -> list[OutboxMessage]:
    """Cancel the queued and failed messages of ``reference`` (one under way cannot be)."""
    if _of(session, reference, (MessageState.sent,)):
        raise ConflictError("a message of this record is being delivered right now")
    rows = _of(session, reference, (MessageState.queued, MessageState.failed))
    if not rows:
        raise ConflictError("nothing to cancel: no message of this record is waiting")
    for row in rows:
        row.state = MessageState.cancelled
        session.add(row)
    return list(rows)


def forget(session: Session, *, reference: str, kinds: Sequence[str]) -> int:
    """Erasure: cancel the messages of these kinds about ``reference`` that were not
    delivered yet, and drop their bodies (a sealed handover is personal data, even if
    only the peer can open it). How many were cancelled."""
    rows = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.reference == reference,
            col(OutboxMessage.kind).in_(kinds),
            col(OutboxMessage.state).in_([*PENDING, MessageState.failed]),
        )
    ).all()
    for row in rows:
        row.state, row.body = MessageState.cancelled, b""
        row.last_error = "geannuleerd: de gegevens zijn gewist (AVG)"
        session.add(row)
    return len(rows)


def _of(session: Session, reference: str, states: Sequence[str]) -> Sequence[OutboxMessage]:
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.reference == reference, col(OutboxMessage.state).in_(states))
        .order_by(col(OutboxMessage.seq))
    ).all()


def failed(session: Session, *, limit: int = 100) -> Sequence[OutboxMessage]:
    """The alarm: messages that were not delivered (newest first)."""
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.state == MessageState.failed)
        .order_by(col(OutboxMessage.seq).desc())
        .limit(limit)
    ).all()


def counts(session: Session) -> dict[str, int]:
    """How many messages are in each state (for /metrics)."""
    rows = session.exec(
        select(OutboxMessage.state, func.count()).group_by(col(OutboxMessage.state))
    ).all()
    return {state: n for state, n in rows}


# --- the receiving side ----------------------------------------------------------------


def already_received(session: Session, *, peer: str, message_id: str | None) -> bool:
    """Did we apply this message of ``peer`` before? (No id: an older sender; the
    receiving record's own idempotency must do.)"""
    if not message_id:
        return False
    return session.get(ReceivedMessage, (peer, message_id)) is not None


def message_id_in(target_uri: str) -> str | None:
    """The message id a sender signed into the target URI (``?message_id=``), if any."""
    query = target_uri.partition("?")[2]
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == MESSAGE_ID_PARAM and 0 < len(value) <= 32:  # noqa: PLR2004 - the column
            return value
    return None


def record_received(
    session: Session, *, peer: str, message_id: str | None, kind: str, now: datetime
) -> None:
    """Remember that we applied ``message_id`` (same transaction as its effect)."""
    if message_id:
        session.add(ReceivedMessage(peer=peer, message_id=message_id, kind=kind, received_at=now))
        session.flush()


# --- delivery --------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What one attempt did."""

    message_id: str
    peer: str
    kind: str
    state: str
    detail: str | None = None


@dataclass(frozen=True)
class Courier:
    """Everything a delivery step needs (built once by the app; tests build their own)."""

    engine: Engine
    client: PeerClient
    registry: PeerRegistry
    clock: Clock
    on_delivered: OnDelivered
    on_answer: OnAnswer = field(default_factory=dict)
    rand: Callable[[], float] = random.random


async def deliver(courier: Courier, *, peers: Iterable[str] | None = None) -> list[Delivery]:
    """One delivery step: expire what passed its horizon, then send every due message,
    each peer's queue in order and all peers' queues at once (``peers``: only these)."""
    expired = await asyncio.to_thread(expire, courier.engine, now=courier.clock())
    active = {p.node_id: p for p in courier.registry.active()}
    wanted = None if peers is None else set(peers)
    waiting = await asyncio.to_thread(_peers_with_mail, courier.engine)
    chosen = [active[p] for p in waiting if p in active and (wanted is None or p in wanted)]
    results = await asyncio.gather(*(_deliver_queue(courier, peer) for peer in chosen))
    return expired + [d for per_peer in results for d in per_peer]


async def kick(courier: Courier, peer: str) -> None:
    """Right after a commit that queued a message: try ``peer``'s queue now, as a
    background task (it reads only the outbox; the worker retries what fails here)."""
    try:
        await deliver(courier, peers=[peer])
    except Exception:  # a background task must not fail loudly; the worker tries again
        log.exception("delivering to %s right after the request failed", peer)


def expire(engine: Engine, *, now: datetime) -> list[Delivery]:
    """Mark every pending message past its horizon failed; each is an alarm."""
    with db.transaction(engine) as session:
        rows = session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.state).in_(PENDING), col(OutboxMessage.expires_at) <= now
            )
        ).all()
        out = []
        for row in rows:
            row.state = MessageState.failed
            row.last_error = (
                f"niet afgeleverd voor {row.expires_at.isoformat()}; "
                f"laatste fout: {row.last_error or 'geen'}"
            )
            session.add(row)
            log.error(
                "outbox: %s %s to %s failed: %s", row.kind, row.message_id, row.peer, row.last_error
            )
            out.append(Delivery(row.message_id, row.peer, row.kind, row.state, row.last_error))
        return out


def _peers_with_mail(engine: Engine) -> list[str]:
    with db.transaction(engine) as session:
        rows = session.exec(
            select(OutboxMessage.peer).where(col(OutboxMessage.state).in_(PENDING)).distinct()
        ).all()
        return sorted(rows)


async def _deliver_queue(courier: Courier, peer: PeerDescriptor) -> list[Delivery]:
    """Send ``peer``'s due messages in order; stop at the first that must wait."""
    done: list[Delivery] = []
    while True:
        budget = timedelta(seconds=courier.client.deadline_seconds)
        message = await asyncio.to_thread(
            claim_next, courier.engine, peer.node_id, now=courier.clock(), lease=budget
        )
        if message is None:
            return done
        delivery = await _attempt(courier, peer, message)
        done.append(delivery)
        if delivery.state == MessageState.queued:  # must wait: so do the ones behind it
            return done


def claim_next(
    engine: Engine, peer: str, *, now: datetime, lease: timedelta
) -> OutboxMessage | None:
    """The head of ``peer``'s queue if it is due, claimed (``sent``) until ``now + lease``;
    None if the queue is empty or its head must wait (or another worker claimed it)."""
    with db.transaction(engine) as session:
        head = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.peer == peer, col(OutboxMessage.state).in_(PENDING))
            .order_by(col(OutboxMessage.seq))
            .limit(1)
        ).first()
        if head is None or (head.next_attempt_at is not None and head.next_attempt_at > now):
            return None
        claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment] # an UPDATE's result is a cursor result
            update(OutboxMessage)
            .where(
                col(OutboxMessage.seq) == head.seq,
                col(OutboxMessage.state) == head.state,
                col(OutboxMessage.attempts) == head.attempts,
            )
            .values(
                state=MessageState.sent, attempts=head.attempts + 1, next_attempt_at=now + lease
            )
        )
        if claimed.rowcount != 1:  # another worker was quicker
            return None
        session.refresh(head)
        return head


async def _attempt(courier: Courier, peer: PeerDescriptor, message: OutboxMessage) -> Delivery:
    try:
        response = await courier.client.call(
            peer,
            "POST",
            message.path,
            params={MESSAGE_ID_PARAM: message.message_id},
            json_body=message.body,
        )
    except PeerError as e:
        detail = describe_peer_problem(peer, e)
        reached = not isinstance(e, PeerNotReachedError)
        return await asyncio.to_thread(_retry_later, courier, message, detail, reached=reached)
    except Exception as e:  # a bug must not lose the message: it is tried again later
        log.exception("outbox: sending %s failed", message.message_id)
        return await asyncio.to_thread(
            _retry_later, courier, message, describe_peer_problem(peer, e), reached=True
        )
    try:
        return await asyncio.to_thread(_settle, courier, peer, message, response)
    except Exception as e:  # a bug in a hook must not lose the message either
        log.exception("outbox: settling %s failed", message.message_id)
        return await asyncio.to_thread(
            _retry_later, courier, message, describe_peer_problem(peer, e)
        )


def _settle(
    courier: Courier, peer: PeerDescriptor, message: OutboxMessage, response: PeerResponse
) -> Delivery:
    if response.status in LATER:
        text = response.body[:300].decode(errors="replace")
        detail = f"HTTP {response.status} {LATER[response.status]}: later ({text})"
        return _retry_later(courier, message, describe_peer_problem(peer, detail))
    answer = Answer(status=response.status, body=response.body, at=courier.clock())
    with db.transaction(courier.engine) as session:
        row = session.get(OutboxMessage, message.seq)
        assert row is not None  # noqa: S101 - messages are never deleted
        if answer.ok:
            _delivered(courier, session, peer, row, answer)
        elif row.state == MessageState.sent:  # refused: sending it again will not help
            _refused(courier, session, peer, row, answer)
        row.next_attempt_at = None
        session.add(row)
        return Delivery(row.message_id, row.peer, row.kind, row.state, row.last_error)


def _delivered(
    courier: Courier, session: Session, peer: PeerDescriptor, row: OutboxMessage, answer: Answer
) -> None:
    """A 2xx: the domain's hooks run in this transaction; an answer a hook cannot take
    fails the message with the hook's reason."""
    # Already answered (the peer acted on it while our attempt was under way): that
    # stays; past the horizon meanwhile: it arrived after all.
    if row.state != MessageState.answered:
        row.state = MessageState.delivered
    row.delivered_at, row.last_error = answer.at, None
    hook = courier.on_delivered.get(row.kind)
    if hook is not None:
        hook(session, row)
    on_answer = courier.on_answer.get(row.kind)
    if on_answer is None:
        return
    problem = on_answer(session, row, answer)
    if problem is None:
        row.state = MessageState.answered
        return
    row.state = MessageState.failed
    row.last_error = describe_peer_problem(peer, problem)
    log.error("outbox: the answer to %s %s failed: %s", row.kind, row.message_id, problem)


def _refused(
    courier: Courier, session: Session, peer: PeerDescriptor, row: OutboxMessage, answer: Answer
) -> None:
    text = answer.body[:300].decode(errors="replace")
    row.state = MessageState.failed
    row.last_error = describe_peer_problem(peer, f"weigert (HTTP {answer.status}): {text}")
    log.error("outbox: %s %s refused: %s", row.kind, row.message_id, row.last_error)
    on_answer = courier.on_answer.get(row.kind)
    if on_answer is not None:
        on_answer(session, row, answer)  # the message failed whatever the domain says


def _retry_later(
    courier: Courier, message: OutboxMessage, detail: str, *, reached: bool = True
) -> Delivery:
    now = courier.clock()
    with db.transaction(courier.engine) as session:
        row = session.get(OutboxMessage, message.seq)
        assert row is not None  # noqa: S101 - messages are never deleted
        row.reached = row.reached or reached
        if row.state == MessageState.sent:  # not cancelled or expired meanwhile
            row.state = MessageState.queued
            row.next_attempt_at = now + BACKOFF.wait(row.attempts, courier.rand())
        row.last_error = detail
        session.add(row)
        log.warning("outbox: %s %s not delivered yet: %s", row.kind, row.message_id, detail)
        return Delivery(row.message_id, row.peer, row.kind, row.state, detail)
