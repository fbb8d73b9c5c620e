"""Card-box HTTP API under ``/api/v1``: thin handlers over ``cardbox.service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from topmatch.api.cardbox_deps import PublisherDep, VaultDep
from topmatch.api.deps import (
    ActorDep,
    ConsultantUser,
    IfMatchDep,
    NowDep,
    SessionDep,
    SettingsDep,
)
from topmatch.api.errors import Problem, problem
from topmatch.bounds import WholeNumber
from topmatch.cardbox import service
from topmatch.cardbox.schemas import (
    BaanopeningCreate,
    BaanopeningPublic,
    BaanopeningUpdate,
    BsnLookup,
    ClientCreate,
    ClientListItem,
    ClientPublic,
    ClientUpdate,
    EmployerCreate,
    EmployerPublic,
    EmployerUpdate,
    Page,
    VacancyCreate,
    VacancyPublic,
    VacancyUpdate,
)
from topmatch.cardbox.validation import (
    BaanopeningStatus,
    BenefitType,
    ClientStatus,
    ContractType,
    SbiSection,
    VacancyStatus,
)
from topmatch.publishing.republish import erase_client as erase_and_republish
from topmatch.publishing.republish import publish, publish_all

router = APIRouter(prefix="/api/v1", tags=["card-box"])


Offset = Annotated[int, Query(description="rows to skip"), WholeNumber(0, 10_000_000)]
Limit = Annotated[
    Annotated[int, WholeNumber(1)] | None, Query(description="page size; capped by max_page_size")
]
Search = Annotated[str | None, Query(max_length=100)]


def _window(settings: SettingsDep, limit: int | None, offset: int) -> service.Window:
    page = settings.max_page_size
    return service.Window(limit=min(limit or 50, page), offset=offset)


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


# --- clients ---------------------------------------------------------------------------


@router.get("/clients", response_model=Page[ClientListItem])
def list_clients(
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
    q: Search = None,
    status: ClientStatus | None = None,
    municipality: Search = None,
    benefit_type: BenefitType | None = None,
    consent: bool | None = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> Page[ClientListItem]:
    return service.list_clients(
        session=session,
        window=_window(settings, limit, offset),
        actor=actor,
        now=now,
        q=q,
        status=status,
        municipality=municipality,
        benefit_type=benefit_type,
        consent=consent,
    )


@router.post("/clients", status_code=status.HTTP_201_CREATED, response_model=ClientPublic)
def create_client(
    data: ClientCreate,
    response: Response,
    session: SessionDep,
    vault: VaultDep,
    publisher: PublisherDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> ClientPublic:
    client = service.create_client(session=session, vault=vault, data=data, actor=actor, now=now)
    publish_all(session=session, publisher=publisher, now=now)  # scrub the new name everywhere
    _etag(response, client.version)
    response.headers["Location"] = f"/api/v1/clients/{client.id}"
    return service.client_public(client, vault)


@router.post(
    "/clients/lookup",
    response_model=ClientPublic,
    responses={404: {"model": Problem, "description": "no client with this BSN"}},
)
def lookup_client(
    data: BsnLookup,
    response: Response,
    session: SessionDep,
    vault: VaultDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> ClientPublic | JSONResponse:
    """Find a client by exact BSN. The BSN goes in the body so that no URL or log holds it."""
    client = service.find_client_by_bsn(
        session=session, vault=vault, bsn=data.bsn, actor=actor, now=now
    )
    if client is None:  # answered, not raised: the audit event of the lookup must commit
        return problem(404, "not_found", "no client with this BSN")
    _etag(response, client.version)
    return client


@router.get("/clients/{client_id}", response_model=ClientPublic)
def read_client(
    client_id: str,
    response: Response,
    session: SessionDep,
    vault: VaultDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> ClientPublic:
    client = service.read_client(
        session=session, vault=vault, client_id=client_id, actor=actor, now=now
    )
    _etag(response, client.version)
    return client


@router.patch("/clients/{client_id}", response_model=ClientPublic)
def update_client(
    client_id: str,
    changes: ClientUpdate,
    response: Response,
    session: SessionDep,
    vault: VaultDep,
    publisher: PublisherDep,
    if_match: IfMatchDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> ClientPublic:
    client = service.update_client(
        session=session,
        vault=vault,
        client_id=client_id,
        changes=changes,
        if_match=if_match,
        actor=actor,
        now=now,
    )
    if changes.model_fields_set & {"first_name", "name_prefix", "last_name", "street"}:
        publish_all(session=session, publisher=publisher, now=now)
    _etag(response, client.version)
    return client


@router.delete("/clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
def erase_client(
    client_id: str,
    session: SessionDep,
    publisher: PublisherDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> None:
    """Erase a client for good (AVG right to be forgotten); only an audit record remains."""
    erase_and_republish(
        session=session, publisher=publisher, client_id=client_id, actor=actor, now=now
    )


# --- employers -------------------------------------------------------------------------


@router.get("/employers", response_model=Page[EmployerPublic])
def list_employers(
    session: SessionDep,
    settings: SettingsDep,
    _: ConsultantUser,
    q: Search = None,
    sector: SbiSection | None = None,
    municipality: Search = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> Page[EmployerPublic]:
    return service.list_employers(
        session=session,
        window=_window(settings, limit, offset),
        q=q,
        sector=sector,
        municipality=municipality,
    )


@router.post("/employers", status_code=status.HTTP_201_CREATED, response_model=EmployerPublic)
def create_employer(
    data: EmployerCreate,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> EmployerPublic:
    employer = service.create_employer(session=session, data=data, actor=actor, now=now)
    _etag(response, employer.version)
    response.headers["Location"] = f"/api/v1/employers/{employer.id}"
    return service.employer_public(employer)


@router.get("/employers/{employer_id}", response_model=EmployerPublic)
def read_employer(
    employer_id: str, response: Response, session: SessionDep, _: ConsultantUser
) -> EmployerPublic:
    employer = service.get_employer(session=session, employer_id=employer_id)
    _etag(response, employer.version)
    return service.employer_public(employer)


@router.patch("/employers/{employer_id}", response_model=EmployerPublic)
def update_employer(
    employer_id: str,
    changes: EmployerUpdate,
    response: Response,
    session: SessionDep,
    publisher: PublisherDep,
    if_match: IfMatchDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> EmployerPublic:
    employer = service.update_employer(
        session=session,
        employer_id=employer_id,
        changes=changes,
        if_match=if_match,
        actor=actor,
        now=now,
    )
    publish(session=session, publisher=publisher, now=now, employer_id=employer.id)
    _etag(response, employer.version)
    return service.employer_public(employer)


# --- vacancies -------------------------------------------------------------------------


@router.get("/vacancies", response_model=Page[VacancyPublic])
def list_vacancies(
    session: SessionDep,
    settings: SettingsDep,
    _: ConsultantUser,
    q: Search = None,
    status: VacancyStatus | None = None,
    employer_id: Search = None,
    municipality: Search = None,
    contract_type: ContractType | None = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> Page[VacancyPublic]:
    return service.list_vacancies(
        session=session,
        window=_window(settings, limit, offset),
        q=q,
        status=status,
        employer_id=employer_id,
        municipality=municipality,
        contract_type=contract_type,
    )


@router.post("/vacancies", status_code=status.HTTP_201_CREATED, response_model=VacancyPublic)
def create_vacancy(
    data: VacancyCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    publisher: PublisherDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> VacancyPublic:
    vacancy = service.create_vacancy(
        session=session,
        data=data,
        actor=actor,
        now=now,
        publish_default=settings.publish_by_default,
    )
    publish(session=session, publisher=publisher, now=now, vacancy_ids=[vacancy.id])
    _etag(response, vacancy.version)
    response.headers["Location"] = f"/api/v1/vacancies/{vacancy.id}"
    return service.vacancy_public(vacancy)


@router.get("/vacancies/{vacancy_id}", response_model=VacancyPublic)
def read_vacancy(
    vacancy_id: str, response: Response, session: SessionDep, _: ConsultantUser
) -> VacancyPublic:
    vacancy = service.get_vacancy(session=session, vacancy_id=vacancy_id)
    _etag(response, vacancy.version)
    return service.vacancy_public(vacancy)


@router.patch("/vacancies/{vacancy_id}", response_model=VacancyPublic)
def update_vacancy(
    vacancy_id: str,
    changes: VacancyUpdate,
    response: Response,
    session: SessionDep,
    publisher: PublisherDep,
    if_match: IfMatchDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> VacancyPublic:
    vacancy = service.update_vacancy(
        session=session,
        vacancy_id=vacancy_id,
        changes=changes,
        if_match=if_match,
        actor=actor,
        now=now,
    )
    publish(session=session, publisher=publisher, now=now, vacancy_ids=[vacancy.id])
    _etag(response, vacancy.version)
    return service.vacancy_public(vacancy)


# --- baanopeningen ---------------------------------------------------------------------


@router.get("/baanopeningen", response_model=Page[BaanopeningPublic])
def list_baanopeningen(
    session: SessionDep,
    settings: SettingsDep,
    _: ConsultantUser,
    status: BaanopeningStatus | None = None,
    employer_id: Search = None,
    municipality: Search = None,
    sector: SbiSection | None = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> Page[BaanopeningPublic]:
    return service.list_baanopeningen(
        session=session,
        window=_window(settings, limit, offset),
        status=status,
        employer_id=employer_id,
        municipality=municipality,
        sector=sector,
    )


@router.post(
    "/baanopeningen", status_code=status.HTTP_201_CREATED, response_model=BaanopeningPublic
)
def create_baanopening(
    data: BaanopeningCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    publisher: PublisherDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> BaanopeningPublic:
    opening = service.create_baanopening(
        session=session,
        data=data,
        actor=actor,
        now=now,
        publish_default=settings.publish_by_default,
    )
    publish(session=session, publisher=publisher, now=now, baanopening_ids=[opening.id])
    _etag(response, opening.version)
    response.headers["Location"] = f"/api/v1/baanopeningen/{opening.id}"
    return service.baanopening_public(opening)


@router.get("/baanopeningen/{baanopening_id}", response_model=BaanopeningPublic)
def read_baanopening(
    baanopening_id: str, response: Response, session: SessionDep, _: ConsultantUser
) -> BaanopeningPublic:
    opening = service.get_baanopening(session=session, baanopening_id=baanopening_id)
    _etag(response, opening.version)
    return service.baanopening_public(opening)


@router.patch("/baanopeningen/{baanopening_id}", response_model=BaanopeningPublic)
def update_baanopening(
    baanopening_id: str,
    changes: BaanopeningUpdate,
    response: Response,
    session: SessionDep,
    publisher: PublisherDep,
    if_match: IfMatchDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> BaanopeningPublic:
    opening = service.update_baanopening(
        session=session,
        baanopening_id=baanopening_id,
        changes=changes,
        if_match=if_match,
        actor=actor,
        now=now,
    )
    publish(session=session, publisher=publisher, now=now, baanopening_ids=[opening.id])
    _etag(response, opening.version)
    return service.baanopening_public(opening)
