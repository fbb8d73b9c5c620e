"""My openings: our vacancies and baanopeningen, publishing them to the other bureaus, and
asking the other bureaus for candidates for a vacancy.

Same service layer as the API, no second copy of its rules:

- the lists are ``cardbox.service.list_vacancies`` / ``list_baanopeningen``, as
  ``GET /api/v1/vacancies`` and ``/baanopeningen`` call them;
- "Publish" / "Stop publishing" is the API's PATCH path: ``cardbox.service.update_*`` with
  the record's version (a stale form is a version conflict, not a lost edit), then
  ``topmatch.publishing.republish.publish`` puts the change in our feed, in the same
  transaction;
- "Candidates at other bureaus" awaits ``matching.candidates.ask_for_candidates``, the use
  case ``POST /api/v1/vacancies/{id}/candidate-query`` calls too. It builds and audits the
  query in its own transaction and asks every active peer at once within the deadline; the
  page renders the per-bureau outcomes and the anonymised candidates it returns. Talking to
  peers lives in that one function, so the web and the API cannot drift apart.

Every refusal (:class:`~topmatch.errors.TopmatchError`) is shown on the error page with the
status the API would give.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.accounts.models import Role, User
from topmatch.api.cardbox_deps import PublisherDep, get_publisher
from topmatch.api.deps import (
    BureauNames,
    ClockDep,
    EngineDep,
    PeerClientDep,
    PeersDep,
    SettingsDep,
    Visible,
    get_clock,
    get_engine,
)
from topmatch.audit.service import Actor
from topmatch.bounds import WholeNumber
from topmatch.cardbox import service as cardbox
from topmatch.cardbox.schemas import (
    BaanopeningPublic,
    BaanopeningUpdate,
    VacancyPublic,
    VacancyUpdate,
)
from topmatch.errors import TopmatchError
from topmatch.explain import NODE_ID_PATTERN
from topmatch.matching import candidates, details
from topmatch.publishing.republish import publish
from topmatch.publishing.schemas import SUMMARY_ID_PATTERN
from topmatch.web.core import CsrfChecked, WebUser, error_page, render, requires

router = APIRouter(include_in_schema=False)

CONSULTANTS = (Role.consultant, Role.admin)
Kind = Literal["vacancy", "baanopening"]
DONE = frozenset({"published", "withdrawn"})  # what a redirect after a change says
MAX_CANDIDATES = 10  # as the API's default ``max_results``


@router.get("/openingen", response_class=HTMLResponse)
def openings_page(
    request: Request,
    user: WebUser,
    gedaan: Annotated[str, Query(max_length=20)] = "",
    id: Annotated[str, Query(max_length=32)] = "",
    *,
    settings: SettingsDep,
    engine: EngineDep,
) -> HTMLResponse:
    """Our vacancies and baanopeningen, each with whether peers see it."""
    try:
        requires(user, *CONSULTANTS)
        window = cardbox.Window(limit=settings.max_page_size, offset=0)
        with db.transaction(engine) as session:
            vacancies = cardbox.list_vacancies(session=session, window=window)
            baanopeningen = cardbox.list_baanopeningen(session=session, window=window)
    except TopmatchError as e:
        return error_page(request, e, user=user)
    listed: list[VacancyPublic | BaanopeningPublic] = [*vacancies.items, *baanopeningen.items]
    changed = next((o for o in listed if o.id == id), None)
    context = {
        "vacancies": vacancies,
        "baanopeningen": baanopeningen,
        "done": gedaan if changed is not None and gedaan in DONE else "",
        "changed": changed,
    }
    return render(request, "openings.html", context, user=user)


@router.get("/openingen/{origin}/{summary_id}", response_class=HTMLResponse)
def opening_page(
    request: Request,
    origin: Annotated[str, Path(pattern=NODE_ID_PATTERN)],
    summary_id: Annotated[str, Path(pattern=SUMMARY_ID_PATTERN)],
    user: WebUser,
    names: BureauNames,
    origins: Visible,
    client: Annotated[str, Query(max_length=64)] = "",
    *,
    settings: SettingsDep,
    engine: EngineDep,
    clock: ClockDep,
) -> HTMLResponse:
    """One opening of any bureau, from our copy, with the clients of ours it fits and the
    introduce buttons for those who consented (a search result or a client's list opens
    it; ``client`` is the client the consultant came from)."""
    try:
        requires(user, *CONSULTANTS)
        with db.transaction(engine) as session:
            found = details.opening_details(
                session=session,
                origin=origin,
                summary_id=summary_id,
                own_node=settings.node_id or "",
                bureau_names=names,
                actor=Actor(name=user.name),
                now=clock(),
                client_id=client or None,
                origins=origins,
            )
    except TopmatchError as e:
        return error_page(request, e, user=user)
    return render(request, "opening.html", {"details": found, "came_from": client}, user=user)


@router.post("/vacatures/{vacancy_id}/publiceren", response_model=None)
def publish_vacancy(
    vacancy_id: str,
    request: Request,
    user: WebUser,
    _csrf: CsrfChecked,
    published: Annotated[bool, Form()],
    version: Annotated[int, Form(), WholeNumber(1)],
) -> Response:
    return _set_published(request, user, "vacancy", vacancy_id, published, version)


@router.post("/baanopeningen/{baanopening_id}/publiceren", response_model=None)
def publish_baanopening(
    baanopening_id: str,
    request: Request,
    user: WebUser,
    _csrf: CsrfChecked,
    published: Annotated[bool, Form()],
    version: Annotated[int, Form(), WholeNumber(1)],
) -> Response:
    return _set_published(request, user, "baanopening", baanopening_id, published, version)


def _set_published(
    request: Request, user: User, kind: Kind, record_id: str, published: bool, version: int
) -> Response:
    """The API's PATCH with only ``published`` changed, then our feed (one transaction);
    answered with a redirect so that reloading the list sends nothing again."""
    publisher = get_publisher(request)
    actor = Actor(name=user.name)
    try:
        requires(user, *CONSULTANTS)
        with db.transaction(get_engine(request)) as session:
            now = get_clock(request)()
            if kind == "vacancy":
                cardbox.update_vacancy(
                    session=session,
                    vacancy_id=record_id,
                    changes=VacancyUpdate(version=version, published=published),
                    if_match=None,
                    actor=actor,
                    now=now,
                )
                publish(session=session, publisher=publisher, now=now, vacancy_ids=[record_id])
            else:
                cardbox.update_baanopening(
                    session=session,
                    baanopening_id=record_id,
                    changes=BaanopeningUpdate(version=version, published=published),
                    if_match=None,
                    actor=actor,
                    now=now,
                )
                publish(session=session, publisher=publisher, now=now, baanopening_ids=[record_id])
    except TopmatchError as e:
        return error_page(request, e, user=user)
    done = "published" if published else "withdrawn"
    return RedirectResponse(f"/openingen?gedaan={done}&id={record_id}#o-{record_id}", 303)


@router.post("/vacatures/{vacancy_id}/kandidaten", response_class=HTMLResponse)
async def candidates_page(
    vacancy_id: str,
    request: Request,
    user: WebUser,
    names: BureauNames,
    _csrf: CsrfChecked,
    settings: SettingsDep,
    engine: EngineDep,
    publisher: PublisherDep,
    peers: PeersDep,
    client: PeerClientDep,
    clock: ClockDep,
) -> HTMLResponse:
    """Ask every other bureau for anonymised candidates; show each bureau's answer."""
    try:
        requires(user, *CONSULTANTS)
        vacancy = await run_in_threadpool(_vacancy, engine, vacancy_id)
        found = await candidates.ask_for_candidates(
            engine=engine,
            publisher=publisher,
            peers=peers.active(),
            client=client,
            vacancy_id=vacancy_id,
            now=clock(),
            actor=user.name,
            max_results=MAX_CANDIDATES,
            deadline=settings.candidate_deadline_seconds,
            names=names,
        )
    except TopmatchError as e:
        return error_page(request, e, user=user)
    return render(request, "candidates.html", {"vacancy": vacancy, "found": found}, user=user)


def _vacancy(engine: Engine, vacancy_id: str) -> VacancyPublic:
    with db.transaction(engine) as session:
        return cardbox.vacancy_public(cardbox.get_vacancy(session=session, vacancy_id=vacancy_id))
