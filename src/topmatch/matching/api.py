"""Search and client matches for consultants (`/api/v1/search`, `/clients/{id}/matches`)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from topmatch.api.cardbox_deps import PublisherDep, VaultDep
from topmatch.api.deps import (
    ActorDep,
    AdminUser,
    BureauNames,
    ClockDep,
    ConsultantUser,
    EngineDep,
    NowDep,
    PeerClientDep,
    PeersDep,
    SessionDep,
    SettingsDep,
    Visible,
    bureau_names,
)
from topmatch.api.errors import problem
from topmatch.bounds import WholeNumber
from topmatch.cardbox import service as cardbox
from topmatch.errors import (
    InputError,
    PermissionDeniedError,
    RateLimitedError,
    input_error,
)
from topmatch.explain import NODE_ID_PATTERN
from topmatch.federation.inbound import VerifiedPeer
from topmatch.matching import candidates, details, service
from topmatch.matching.schemas import MAX_RESULTS, CandidateAnswer, CandidateQuery
from topmatch.publishing import service as publishing
from topmatch.publishing.schemas import SUMMARY_ID_PATTERN
from topmatch.settings import Settings
from topmatch.vocabulary import ContractType, EducationLevel

#: ``bureau_names`` stays importable from here: settlement/api.py imports it (i13-ledgerbox)
__all__ = ["bureau_names", "peer_router", "router"]

router = APIRouter(prefix="/api/v1", tags=["matching"])


def _skills(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    skills = tuple(s.strip() for s in raw.split(",") if s.strip())
    if len(skills) > 50:  # noqa: PLR2004
        raise InputError(f"at most 50 skills, got {len(skills)}", field="skills")
    return skills


def _occupation(asked: str | None) -> tuple[str | None, tuple[str, ...]]:
    """An ISCO-08 code as given; a name: its unit group when the vocabulary knows it, and
    the name's words either way."""
    if not asked:
        return None, ()
    if re.fullmatch(r"\d{4}", asked):
        return asked, ()
    return service.request_for_label(asked.strip())


@router.get("/occupations", response_model=list[service.OccupationChoice])
def occupations(_: ConsultantUser) -> list[service.OccupationChoice]:
    """Every occupation of the vocabulary by its Dutch name, with its ISCO-08 unit group:
    what the ``occupation`` filter of a search accepts."""
    return [
        service.OccupationChoice(label=label, isco08=code)
        for label, code in service.occupation_choices()
    ]


@router.get("/openings/{origin}/{summary_id}", response_model=details.OpeningDetails)
def opening(
    origin: Annotated[str, Path(pattern=NODE_ID_PATTERN, description="the bureau's node id")],
    summary_id: Annotated[str, Path(pattern=SUMMARY_ID_PATTERN)],
    session: SessionDep,
    names: BureauNames,
    origins: Visible,
    settings: SettingsDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
    client: Annotated[
        str | None, Query(max_length=64, description="score it for this client")
    ] = None,
) -> details.OpeningDetails:
    """One opening of any bureau from our copy, with the clients of ours it fits best (the
    same scores as their own lists). Nothing is asked of the other bureau."""
    return details.opening_details(
        session=session,
        origin=origin,
        summary_id=summary_id,
        own_node=settings.node_id or "",
        bureau_names=names,
        actor=actor,
        now=now,
        client_id=client,
        origins=origins,
    )


@router.get("/search", response_model=service.SearchResult)
def search(
    session: SessionDep,
    names: BureauNames,
    origins: Visible,
    _: ConsultantUser,
    q: Annotated[str | None, Query(max_length=200, description="free text")] = None,
    place: Annotated[str | None, Query(max_length=100, description="e.g. Waalwijk")] = None,
    radius_km: Annotated[float | None, Query(gt=0, le=300)] = None,
    hours: Annotated[
        Annotated[int, WholeNumber(1, 60)] | None, Query(description="hours a week available")
    ] = None,
    education: EducationLevel | None = None,
    contract_type: Annotated[list[ContractType] | None, Query()] = None,
    occupation: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="an occupation: its Dutch name from the vocabulary "
            "(GET /api/v1/occupations), or an ISCO-08 unit group (4 digits)",
        ),
    ] = None,
    skills: Annotated[str | None, Query(max_length=2000, description="comma-separated")] = None,
    type: Literal["vacancy", "baanopening"] | None = None,
    limit: Annotated[int, Query(), WholeNumber(1, 100)] = 20,
) -> service.SearchResult:
    """Rank every bureau's openings (ours included), each hit with why it matched."""
    isco08, labels = _occupation(occupation)
    request = service.SearchRequest(
        q=q,
        place=place,
        radius_km=radius_km,
        hours=hours,
        education=education,
        contract_types=frozenset(contract_type or ()),
        isco08=isco08,
        occupation_labels=labels,
        skills=_skills(skills),
        type=type,
        limit=limit,
        origins=origins,
    )
    return service.search(session=session, request=request, bureau_names=names)


@router.get("/clients/{client_id}/matches", response_model=service.SearchResult)
def client_matches(
    client_id: str,
    session: SessionDep,
    names: BureauNames,
    origins: Visible,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
    vault: VaultDep,
    limit: Annotated[int, Query(), WholeNumber(1, 100)] = 20,
) -> service.SearchResult:
    """Openings at every bureau for one of our clients, computed here: no peer is asked."""
    client = cardbox.read_client(
        session=session, vault=vault, client_id=client_id, actor=actor, now=now
    )
    return service.openings_for_client(
        session=session, client=client, bureau_names=names, limit=limit, origins=origins
    )


# --- candidate queries -----------------------------------------------------------------

peer_router = APIRouter(prefix="/federation/v1", tags=["federation (node to node)"])


def _limits(settings: Settings) -> candidates.Limits:
    return candidates.Limits(
        min_group=settings.candidate_min_group,
        rate_per_minute=settings.candidate_rate_per_minute,
        daily_quota=settings.candidate_daily_quota,
        handle_days=settings.candidate_handle_days,
    )


@peer_router.post("/candidate-queries", response_model=CandidateAnswer)
def answer_candidate_query(
    peer: VerifiedPeer,
    publisher: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> CandidateAnswer | JSONResponse:
    """A peer asks for candidates for its vacancy; we answer with anonymised profiles only.

    The body is parsed only after the signature was verified (the verified bytes, kept by
    the dependency), so an unsigned or malformed request learns nothing.
    """
    query = _parse_query(peer.body)
    asking = peer.peer.node_id
    if query.origin != asking:
        raise PermissionDeniedError(
            f"query claims origin {query.origin!r} but is signed by {asking!r}"
        )
    try:
        candidates.check_quota(session, asking_peer=asking, now=now, limits=_limits(settings))
    except RateLimitedError as e:  # answered, not raised: the refusal itself is logged
        candidates.log_query(
            session,
            asking_peer=asking,
            query_id=query.query_id,
            now=now,
            status="refused",
            reason=e.message[:200],
        )
        return problem(429, e.code, e.message, headers={"Retry-After": str(e.retry_after)})
    return candidates.answer(
        session=session,
        query=query,
        asking_peer=asking,
        origin=settings.node_id or "",
        now=now,
        limits=_limits(settings),
        scrubber=publishing.scrubber_for(session, publisher.secret),
    )


def _parse_query(body: bytes) -> CandidateQuery:
    try:
        return CandidateQuery.model_validate_json(body)
    except ValidationError as e:
        raise input_error(e, "not a valid candidate query") from e


@router.post("/vacancies/{vacancy_id}/candidate-query", response_model=candidates.CandidateSearch)
async def candidate_query(
    vacancy_id: str,
    settings: SettingsDep,
    engine: EngineDep,
    publisher: PublisherDep,
    peers: PeersDep,
    client: PeerClientDep,
    clock: ClockDep,
    names: BureauNames,
    actor: ActorDep,
    _: ConsultantUser,
    max_results: Annotated[int, Query(), WholeNumber(1, MAX_RESULTS)] = 10,
) -> candidates.CandidateSearch:
    """Ask every active peer at once for anonymised candidates for this vacancy."""
    return await candidates.ask_for_candidates(
        engine=engine,
        publisher=publisher,
        peers=peers.active(),
        client=client,
        vacancy_id=vacancy_id,
        now=clock(),
        actor=actor.name,
        max_results=max_results,
        deadline=settings.candidate_deadline_seconds,
        names=names,
    )


@router.get("/candidate-queries/stats", response_model=list[candidates.PeerQueryStats])
def candidate_query_stats(
    session: SessionDep, now: NowDep, _: AdminUser
) -> list[candidates.PeerQueryStats]:
    """Per asking peer: queries in the last hour, today and in total, refusals, profiles
    sent. One peer harvesting profiles shows up here first."""
    return candidates.stats(session=session, now=now)
