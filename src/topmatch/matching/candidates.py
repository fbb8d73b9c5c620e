"""Candidate queries, both ends.

Answering (a peer asks us): :func:`answer` ranks our consenting, active clients for the
peer's vacancy profile and sends back anonymised profiles only. When fewer clients fit
than the minimum group size, it sends none at all (status ``too_few``), so an answer can
never single someone out. Every query is logged with the asking peer and what was sent;
:func:`check_quota` enforces a per-minute rate and a daily quota per asking peer.

Asking (we ask every peer): :func:`ask_for_candidates` is the use case the API and the web
page share: it builds and audits the query for one of our vacancies, then :func:`ask_peers`
sends one signed query to all active peers
at once and never waits past the deadline; each peer gets a status: answered, too_few,
timed_out, refused or error.

The one mapping from a private client record to what leaves the node is
:func:`anonymise`; the fields it may fill are those of
:class:`~topmatch.matching.schemas.AnonymousCandidate`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from topmatch import db, wiretext
from topmatch.audit import service as audit
from topmatch.cardbox import service as cardbox
from topmatch.cardbox.models import Client, Employer, Vacancy
from topmatch.cardbox.validation import ClientStatus
from topmatch.errors import (
    ConflictError,
    InputError,
    PeerError,
    PeerTimeoutError,
    PeerUnavailableError,
    RateLimitedError,
)
from topmatch.federation.transport import PeerClient
from topmatch.geography import places
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.matching import occupations, scoring, service
from topmatch.matching.models import CandidateHandle, CandidateQueryLog
from topmatch.matching.schemas import (
    AnonymousCandidate,
    CandidateAnswer,
    CandidateQuery,
    VacancyProfile,
)
from topmatch.publishing import service as publishing
from topmatch.publishing import summarise
from topmatch.publishing.anonymise import Scrubber
from topmatch.publishing.schemas import OccupationRef
from topmatch.publishing.service import Publisher
from topmatch.vocabulary import NLQF, EducationLevel

QUERY_PATH = "/federation/v1/candidate-queries"
MIN_SCORE = 30.0  # below this a client does not "fit" and does not count for the group


@dataclass(frozen=True)
class Limits:
    min_group: int
    rate_per_minute: int
    daily_quota: int
    handle_days: int


# --- the asking side: building the question --------------------------------------------


def vacancy_profile(
    *,
    vacancy: Vacancy,
    employer: Employer,
    scrubber: Scrubber,
    secret: bytes,
    origin: str,
    now: datetime,
) -> VacancyProfile:
    """The vacancy as a published summary would describe it (scrubbed, no employer)."""
    summary = summarise.vacancy_summary(
        vacancy=vacancy,
        employer=employer,
        scrubber=scrubber,
        secret=secret,
        origin=origin,
        version=1,
        updated_at=now,
    )
    return VacancyProfile(
        occupation=summary.occupation,
        skills_required=summary.skills_required,
        skills_nice=summary.skills_nice,
        nlqf=summary.nlqf,
        hours_min=summary.hours_min,
        hours_max=summary.hours_max,
        contract_type=summary.contract_type,
        place=summary.place,
        start_date=summary.start_date,
    )


def new_query(*, origin: str, profile: VacancyProfile, max_results: int) -> CandidateQuery:
    return CandidateQuery(
        query_id=secrets.token_urlsafe(18), origin=origin, vacancy=profile, max_results=max_results
    )


# --- the answering side ----------------------------------------------------------------


def check_quota(session: Session, *, asking_peer: str, now: datetime, limits: Limits) -> None:
    """Refuse a peer over its per-minute rate or its daily quota (UTC day)."""

    def count_since(since: datetime) -> int:
        return session.exec(
            select(func.count())
            .select_from(CandidateQueryLog)
            .where(
                CandidateQueryLog.asking_peer == asking_peer,
                col(CandidateQueryLog.at) >= since,
                CandidateQueryLog.status != "refused",
            )
        ).one()

    minute = count_since(now - timedelta(minutes=1))
    if minute >= limits.rate_per_minute:
        raise RateLimitedError(
            f"{asking_peer} asked {minute} candidate queries in the last minute; the limit is "
            f"{limits.rate_per_minute}",
            retry_after=60,
        )
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = count_since(midnight)
    if today >= limits.daily_quota:
        wait = int((midnight + timedelta(days=1) - now).total_seconds()) + 1
        raise RateLimitedError(
            f"{asking_peer} used its daily quota of {limits.daily_quota} candidate queries",
            retry_after=wait,
        )


def log_query(
    session: Session,
    *,
    asking_peer: str,
    query_id: str,
    now: datetime,
    status: str,
    answered: int = 0,
    reason: str | None = None,
) -> None:
    session.add(
        CandidateQueryLog(
            asking_peer=asking_peer,
            query_id=query_id,
            at=now,
            status=status,
            answered=answered,
            reason=reason,
        )
    )


def _offered(profile: VacancyProfile) -> scoring.Offered:
    location = _location(profile.place.municipality)
    return scoring.Offered(
        isco08=profile.occupation.isco08 or service.unit_group(profile.occupation.label),
        occupation_words=occupations.key_stems(profile.occupation.label),
        skills_required=tuple(profile.skills_required),
        skills_nice=tuple(profile.skills_nice),
        nlqf=profile.nlqf,
        hours_min=profile.hours_min,
        hours_max=profile.hours_max,
        contract_type=profile.contract_type,
        location=location,
        place_name=profile.place.municipality,
        start_date=profile.start_date,
    )


def _location(municipality: str) -> tuple[float, float] | None:
    try:
        found = places.municipality(municipality)
    except InputError:  # unknown or ambiguous: rank without distance
        return None
    return found.lat, found.lon


def client_sought(client: Client) -> scoring.Sought:
    """What this client looks for, from the private profile (it never leaves the node):
    the same reading as the client's own matches (:class:`service.Seeker`), except what
    the anonymised profile leaves out (register, Dutch level), which a peer could otherwise
    read from the scores."""
    seeker = service.Seeker.of(client)
    return seeker.sought(seeker.where(), for_peer=True)


def _region(municipality: str) -> str:
    try:
        return places.municipality(municipality).arbeidsmarktregio
    except InputError:  # card-box municipalities are validated; this is belt and braces
        return "onbekend"


def anonymise(
    client: Client, *, match: scoring.Match, handle: str, scrubber: Scrubber, today: date
) -> AnonymousCandidate:
    """The only fields of a client that may leave the node, coarsened where they could
    identify someone (region instead of address, age band instead of birth date, month
    instead of day), free labels scrubbed of names."""
    with wiretext.scrubbing(scrubber):  # the explanation too, of every card-box name
        return _candidate(client, match=match, handle=handle, scrubber=scrubber, today=today)


def _candidate(
    client: Client, *, match: scoring.Match, handle: str, scrubber: Scrubber, today: date
) -> AnonymousCandidate:
    level = EducationLevel(client.education_level) if client.education_level else None
    available = client.available_from.replace(day=1) if client.available_from else None
    return AnonymousCandidate(
        handle=handle,
        score=match.score,
        explanation=_coarse_explanation(match),
        skills=[scrubber.scrub(s, max_length=100) for s in client.skills][:50],
        desired_occupations=[
            OccupationRef(
                label=scrubber.scrub(o["label"], max_length=100) or "-",
                isco08=o.get("isco08"),
                esco_uri=o.get("esco_uri"),
            )
            for o in client.desired_occupations
        ][:10],
        education_level=level,
        nlqf=NLQF[level] if level else None,
        # the old single figure on the wire: the most hours a week the client can work
        hours_per_week=client.hours_max if client.hours_max is not None else client.hours_per_week,
        available_from=available,
        region=_region(client.municipality),
        age_band=scoring.age_band(client.date_of_birth, today),
    )


# Reasons that would be finer than the coarsened fields (km from the client's home
# municipality, weeks until available, licences held) are not sent.
_COARSE = frozenset(
    {
        scoring.ReasonKind.occupation,
        scoring.ReasonKind.skills,
        scoring.ReasonKind.hours,
        scoring.ReasonKind.education,
        scoring.ReasonKind.text,
    }
)


def _coarse_explanation(match: scoring.Match) -> str:
    kept = [r.text for r in match.reasons if r.kind in _COARSE]
    return "; ".join(kept)[:500]


def forget_client(session: Session, *, client_id: str) -> None:
    """Drop every handle that points at a client (erasure)."""
    for handle in session.exec(
        select(CandidateHandle).where(CandidateHandle.client_id == client_id)
    ).all():
        session.delete(handle)


def _fitting(session: Session, profile: VacancyProfile) -> list[tuple[scoring.Match, Client]]:
    offered = _offered(profile)
    clients = session.exec(
        select(Client).where(
            col(Client.consent_share_profile).is_(True), Client.status == ClientStatus.active.value
        )
    ).all()
    fitting = []
    for client in clients:
        match = scoring.score(client_sought(client), offered)
        if match is not None and match.score >= MIN_SCORE:
            fitting.append((match, client))
    fitting.sort(key=lambda pair: (-pair[0].score, pair[1].id))
    return fitting


def answer(
    *,
    session: Session,
    query: CandidateQuery,
    asking_peer: str,
    origin: str,
    now: datetime,
    limits: Limits,
    scrubber: Scrubber,
) -> CandidateAnswer:
    """Evaluate a peer's query against our consenting clients; log what was answered."""
    fitting = _fitting(session, query.vacancy)
    if len(fitting) < limits.min_group:
        log_query(
            session,
            asking_peer=asking_peer,
            query_id=query.query_id,
            now=now,
            status="too_few",
            reason=f"{len(fitting)} < {limits.min_group}",
        )
        return CandidateAnswer(
            query_id=query.query_id,
            origin=origin,
            status="too_few",
            min_group_size=limits.min_group,
        )
    candidates = []
    expires = now + timedelta(days=limits.handle_days)
    for match, client in fitting[: query.max_results]:
        handle = "c-" + secrets.token_urlsafe(18)
        session.add(
            CandidateHandle(
                handle=handle,
                client_id=client.id,
                asking_peer=asking_peer,
                query_id=query.query_id,
                expires_at=expires,
            )
        )
        candidates.append(
            anonymise(client, match=match, handle=handle, scrubber=scrubber, today=now.date())
        )
    log_query(
        session,
        asking_peer=asking_peer,
        query_id=query.query_id,
        now=now,
        status="answered",
        answered=len(candidates),
    )
    session.flush()
    return CandidateAnswer(
        query_id=query.query_id,
        origin=origin,
        status="answered",
        min_group_size=limits.min_group,
        candidates=candidates,
    )


class PeerQueryStats(BaseModel):
    asking_peer: str
    last_hour: int
    today: int
    total: int
    refused: int
    profiles_sent: int
    last_at: datetime | None


def stats(*, session: Session, now: datetime) -> list[PeerQueryStats]:
    """Per asking peer: how much it asked and got (for the admin: spot harvesting)."""
    hour, midnight = (
        now - timedelta(hours=1),
        now.replace(hour=0, minute=0, second=0, microsecond=0),
    )
    rows = session.exec(select(CandidateQueryLog)).all()
    result: dict[str, PeerQueryStats] = {}
    for row in rows:
        entry = result.setdefault(
            row.asking_peer,
            PeerQueryStats(
                asking_peer=row.asking_peer,
                last_hour=0,
                today=0,
                total=0,
                refused=0,
                profiles_sent=0,
                last_at=None,
            ),
        )
        entry.total += 1
        entry.last_hour += row.at >= hour
        entry.today += row.at >= midnight
        entry.refused += row.status == "refused"
        entry.profiles_sent += row.answered
        entry.last_at = max(entry.last_at or row.at, row.at)
    return sorted(result.values(), key=lambda s: s.asking_peer)


def purge_handles(session: Session, *, now: datetime) -> int:
    """Forget handles past their expiry: after that they refer to no one."""
    expired = session.exec(
        select(CandidateHandle).where(col(CandidateHandle.expires_at) < now)
    ).all()
    for handle in expired:
        session.delete(handle)
    return len(expired)


# --- the asking side: fan-out ----------------------------------------------------------

PeerStatus = Literal["answered", "too_few", "timed_out", "refused", "error"]


class PeerOutcome(BaseModel):
    node_id: str
    bureau: str
    status: PeerStatus
    detail: str | None = None
    candidates: int = 0
    milliseconds: int


class RankedCandidate(BaseModel):
    bureau: str
    origin: str
    candidate: AnonymousCandidate


class CandidateSearch(BaseModel):
    query_id: str
    candidates: list[RankedCandidate]
    peers: list[PeerOutcome]


@dataclass(frozen=True)
class _Reply:
    status: PeerStatus
    detail: str | None
    answer: CandidateAnswer | None
    milliseconds: int


async def _ask_one(
    peer: PeerDescriptor, client: PeerClient, body: bytes, query: CandidateQuery, deadline: float
) -> _Reply:
    started = time.monotonic()
    status, detail, answered = await _exchange(
        peer, client, body, query.query_id, query.max_results, deadline=deadline
    )
    return _Reply(status, detail, answered, int((time.monotonic() - started) * 1000))


async def _exchange(
    peer: PeerDescriptor,
    client: PeerClient,
    body: bytes,
    query_id: str,
    max_results: int,
    *,
    deadline: float,
) -> tuple[PeerStatus, str | None, CandidateAnswer | None]:
    try:
        # The call's own total budget is the query's deadline (or less): it never outlives it.
        response = await client.call(
            peer,
            "POST",
            QUERY_PATH,
            json_body=body,
            deadline=min(deadline, client.deadline_seconds),
        )
    except PeerUnavailableError as e:
        status: PeerStatus = "timed_out" if isinstance(e, PeerTimeoutError) else "error"
        return status, e.diagnostics(), None
    except PeerError as e:
        # A peer that refuses an unverified request answers unsigned: still a refusal.
        refused = e.status in {401, 403, 429}
        return ("refused" if refused else "error"), e.diagnostics(), None
    if response.status != 200:  # noqa: PLR2004
        text = response.body[:200].decode(errors="replace")
        refused = response.status in {401, 403, 429}
        return ("refused" if refused else "error"), f"HTTP {response.status}: {text}", None
    return _read_answer(response.body, peer, query_id, max_results)


def _read_answer(
    body: bytes, peer: PeerDescriptor, query_id: str, max_results: int
) -> tuple[PeerStatus, str | None, CandidateAnswer | None]:
    try:
        answered = CandidateAnswer.model_validate_json(body)
    except ValidationError as e:
        return "error", f"invalid answer: {e.errors()[0]['msg']}", None
    if answered.origin != peer.node_id or answered.query_id != query_id:
        return "error", "answer is not this peer's answer to this query", None
    if answered.status == "too_few" and answered.candidates:
        return "error", "a too_few answer must carry no candidates", None
    if len(answered.candidates) > max_results:
        return "error", f"{len(answered.candidates)} candidates, asked for {max_results}", None
    return answered.status, None, answered


async def ask_peers(
    *,
    peers: Sequence[PeerDescriptor],
    client: PeerClient,
    query: CandidateQuery,
    deadline: float,
    names: Mapping[str, str],
) -> CandidateSearch:
    """Ask every peer at once; return what arrived within ``deadline`` seconds."""
    body = query.model_dump_json().encode()
    tasks = {asyncio.create_task(_ask_one(p, client, body, query, deadline)): p for p in peers}
    _done, pending = await asyncio.wait(tasks, timeout=deadline) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    outcomes: list[PeerOutcome] = []
    ranked: list[RankedCandidate] = []
    for task, peer in tasks.items():
        bureau = names.get(peer.node_id, peer.name)
        if task in pending:
            outcomes.append(
                PeerOutcome(
                    node_id=peer.node_id,
                    bureau=bureau,
                    status="timed_out",
                    detail=f"no answer within {deadline} s",
                    milliseconds=int(deadline * 1000),
                )
            )
            continue
        reply = task.result()
        answered = reply.answer.candidates if reply.answer else []
        outcomes.append(
            PeerOutcome(
                node_id=peer.node_id,
                bureau=bureau,
                status=reply.status,
                detail=reply.detail,
                candidates=len(answered),
                milliseconds=reply.milliseconds,
            )
        )
        ranked += [
            RankedCandidate(bureau=bureau, origin=peer.node_id, candidate=c) for c in answered
        ]
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    ranked.sort(key=lambda r: (-r.candidate.score, r.origin, r.candidate.handle))
    return CandidateSearch(query_id=query.query_id, candidates=ranked, peers=outcomes)


def build_query(
    engine: Engine,
    *,
    publisher: Publisher,
    vacancy_id: str,
    now: datetime,
    actor: str,
    max_results: int,
) -> CandidateQuery:
    """The anonymised query for one of our open vacancies, audited, in its own transaction.

    Raises :class:`~topmatch.errors.ConflictError` for a vacancy that is not open and
    :class:`~topmatch.errors.NotFoundError` for an unknown one.
    """
    with db.transaction(engine) as session:
        vacancy = cardbox.get_vacancy(session=session, vacancy_id=vacancy_id)
        if vacancy.status != "open":
            raise ConflictError(
                f"vacancy {vacancy_id} is {vacancy.status}: only open vacancies are offered "
                "to peers for candidates",
                field="status",
            )
        employer = cardbox.get_employer(session=session, employer_id=vacancy.employer_id)
        profile = vacancy_profile(
            vacancy=vacancy,
            employer=employer,
            scrubber=publishing.scrubber_for(session, publisher.secret),
            secret=publisher.secret,
            origin=publisher.origin,
            now=now,
        )
        query = new_query(origin=publisher.origin, profile=profile, max_results=max_results)
        audit.record(
            session=session,
            now=now,
            actor=actor,
            action=audit.Action.query,
            entity="vacancy",
            entity_id=vacancy_id,
            detail={"query_id": query.query_id},
        )
        return query


async def ask_for_candidates(
    *,
    engine: Engine,
    publisher: Publisher,
    peers: Sequence[PeerDescriptor],
    client: PeerClient,
    vacancy_id: str,
    now: datetime,
    actor: str,
    max_results: int,
    deadline: float,
    names: Mapping[str, str],
) -> CandidateSearch:
    """Build and audit the query for ``vacancy_id`` (committed before any peer is asked),
    then ask every one of ``peers`` at once within ``deadline`` seconds."""
    query = await asyncio.to_thread(
        build_query,
        engine,
        publisher=publisher,
        vacancy_id=vacancy_id,
        now=now,
        actor=actor,
        max_results=max_results,
    )
    return await ask_peers(peers=peers, client=client, query=query, deadline=deadline, names=names)
