"""Card-box use cases. Services flush; the caller's transaction boundary commits.

Every read of a client's full record and every change is written to the audit trail in
the same transaction, so an audit event exists exactly when the thing it records does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from topmatch.audit import service as audit
from topmatch.audit.service import Actor
from topmatch.cardbox.crypto import BsnVault
from topmatch.cardbox.models import Baanopening, Client, Employer, Record, Vacancy
from topmatch.cardbox.schemas import (
    BaanopeningCreate,
    BaanopeningFields,
    BaanopeningPublic,
    BaanopeningUpdate,
    ClientCreate,
    ClientListItem,
    ClientPublic,
    ClientUpdate,
    EmployerCreate,
    EmployerFields,
    EmployerPublic,
    EmployerUpdate,
    Occupation,
    Page,
    VacancyCreate,
    VacancyFields,
    VacancyPublic,
    VacancyUpdate,
    nlqf_of,
)
from topmatch.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    VersionConflictError,
    input_error,
)

R = TypeVar("R", bound=Record)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Window:
    limit: int
    offset: int


# --- shared mechanics ------------------------------------------------------------------


def _get(session: Session, model: type[R], record_id: str) -> R:
    record = session.get(model, record_id)
    if record is None:
        raise NotFoundError(f"no {_entity(model)} with id {record_id}")
    return record


def _entity(model: type[SQLModel]) -> str:
    return model.__name__.lower()


def _check_version(record: Record, *, body: int | None, if_match: int | None) -> None:
    if if_match is not None and if_match != record.version:
        raise VersionConflictError(expected=if_match, actual=record.version, precondition=True)
    if body is not None and body != record.version:
        raise VersionConflictError(expected=body, actual=record.version, precondition=False)


def _revalidate(schema: type[M], current: dict[str, Any], changes: BaseModel) -> M:
    """The record as it would be after the change, validated as a whole.

    A partial update can make a valid record invalid (hours_min above the stored
    hours_max): validating the merged result catches that, with the field named.
    """
    merged = {**current, **changes.model_dump(exclude_unset=True, exclude={"version"})}
    try:
        return schema.model_validate(merged)
    except ValidationError as e:
        raise input_error(e) from e


def _flush(session: Session, record: Record, unique: dict[str, str]) -> None:
    """Flush, turning a racing edit or a duplicate unique value into a clear domain error."""
    # Read what the message needs now: after a failed flush the record cannot be loaded.
    what = f"{_entity(type(record))} {record.id}"
    try:
        session.flush()
    except StaleDataError as e:
        raise ConflictError(
            f"{what} was changed by someone else while you edited it; reload and try again"
        ) from e
    except IntegrityError as e:
        text = str(e.orig).lower()
        for column, message in unique.items():
            if column in text:
                raise ConflictError(message, field=column) from e
        raise ConflictError(f"the change conflicts with existing data: {e.orig}") from e


def _touch(record: Record, now: datetime, *, new: bool = False) -> None:
    if new:
        record.created_at = now
    record.updated_at = now


def _page(
    session: Session, query: SelectOfScalar[R], model: type[R], window: Window
) -> tuple[Sequence[R], int]:
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    ordered = query.order_by(col(model.updated_at).desc(), col(model.id))
    return session.exec(ordered.offset(window.offset).limit(window.limit)).all(), total


def _like(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _check_birth_date(born: date, now: datetime) -> None:
    if born >= now.date():
        raise InputError("must be in the past", field="date_of_birth")
    if now.date().year - born.year > 120:  # noqa: PLR2004 - nobody re-integrates at 120
        raise InputError("is more than 120 years ago", field="date_of_birth")


# --- employers -------------------------------------------------------------------------

_EMPLOYER_UNIQUE = {"kvk_number": "an employer with this KvK number is already in the card-box"}


def employer_public(employer: Employer) -> EmployerPublic:
    return EmployerPublic.model_validate(employer)


def create_employer(
    *, session: Session, data: EmployerCreate, actor: Actor, now: datetime
) -> Employer:
    employer = Employer(**_employer_columns(data))
    _touch(employer, now, new=True)
    session.add(employer)
    _flush(session, employer, _EMPLOYER_UNIQUE)
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.create,
        entity="employer",
        entity_id=employer.id,
    )
    return employer


def _employer_columns(data: EmployerFields) -> dict[str, Any]:
    values = data.model_dump()
    values["contact_email"] = values["contact_email"] or ""
    return values


def get_employer(*, session: Session, employer_id: str) -> Employer:
    return _get(session, Employer, employer_id)


def update_employer(
    *,
    session: Session,
    employer_id: str,
    changes: EmployerUpdate,
    if_match: int | None,
    actor: Actor,
    now: datetime,
) -> Employer:
    employer = _get(session, Employer, employer_id)
    _check_version(employer, body=changes.version, if_match=if_match)
    current = employer_public(employer).model_dump(include=set(EmployerFields.model_fields))
    merged = _revalidate(EmployerFields, current, changes)
    for key, value in _employer_columns(merged).items():
        setattr(employer, key, value)
    _touch(employer, now)
    _flush(session, employer, _EMPLOYER_UNIQUE)
    _audit_update(session, now, actor, "employer", employer.id, changes=changes)
    return employer


def list_employers(
    *,
    session: Session,
    window: Window,
    q: str | None = None,
    sector: str | None = None,
    municipality: str | None = None,
) -> Page[EmployerPublic]:
    query = select(Employer)
    if q:
        query = query.where(func.lower(Employer.name).like(_like(q), escape="\\"))
    if sector:
        query = query.where(Employer.sector == sector)
    if municipality:
        query = query.where(func.lower(Employer.municipality) == municipality.lower())
    rows, total = _page(session, query, Employer, window)
    return Page[EmployerPublic](
        items=[employer_public(r) for r in rows],
        total=total,
        limit=window.limit,
        offset=window.offset,
    )


def _audit_update(
    session: Session,
    now: datetime,
    actor: Actor,
    entity: str,
    entity_id: str,
    *,
    changes: BaseModel,
) -> None:
    fields = sorted(changes.model_dump(exclude_unset=True, exclude={"version"}))
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.update,
        entity=entity,
        entity_id=entity_id,
        detail={"fields": fields},
    )


# --- clients ---------------------------------------------------------------------------

_CLIENT_UNIQUE = {"bsn_index": "a client with this BSN is already in the card-box"}


def client_public(client: Client, vault: BsnVault) -> ClientPublic:
    values = {
        name: getattr(client, name)
        for name in ClientPublic.model_fields
        if name not in {"bsn", "nlqf"}
    }
    return ClientPublic.model_validate(
        {
            **values,
            "bsn": vault.decrypt(client.bsn_encrypted),
            "nlqf": nlqf_of(client.education_level),
        }
    )


def _client_columns(data: ClientCreate, vault: BsnVault) -> dict[str, Any]:
    values = data.model_dump(mode="json", exclude={"bsn"})
    values["date_of_birth"] = data.date_of_birth
    values["available_from"] = data.available_from
    values["consent_date"] = data.consent_date
    values["email"] = values["email"] or ""
    values["bsn_index"] = vault.index(data.bsn)
    values["bsn_encrypted"] = vault.encrypt(data.bsn)
    return values


def _check_consent(data: ClientCreate, now: datetime) -> ClientCreate:
    """Consent to share needs a date; giving it without one records today."""
    if data.consent_share_profile and data.consent_date is None:
        return data.model_copy(update={"consent_date": now.date()})
    if data.consent_date is not None and data.consent_date > now.date():
        raise InputError("cannot be in the future", field="consent_date")
    return data


def create_client(
    *, session: Session, vault: BsnVault, data: ClientCreate, actor: Actor, now: datetime
) -> Client:
    _check_birth_date(data.date_of_birth, now)
    data = _check_consent(data, now)
    client = Client(**_client_columns(data, vault))
    _touch(client, now, new=True)
    session.add(client)
    _flush(session, client, _CLIENT_UNIQUE)
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.create,
        entity="client",
        entity_id=client.id,
    )
    return client


def read_client(
    *, session: Session, vault: BsnVault, client_id: str, actor: Actor, now: datetime
) -> ClientPublic:
    """A client's full record; the read itself is audited."""
    client = _get(session, Client, client_id)
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.read,
        entity="client",
        entity_id=client.id,
    )
    return client_public(client, vault)


def find_client_by_bsn(
    *, session: Session, vault: BsnVault, bsn: str, actor: Actor, now: datetime
) -> ClientPublic | None:
    """Exact-match lookup through the blind index; the BSN itself is not logged.

    Returns None when no client has this BSN, so that the audit event of a lookup that
    found nothing is committed too.
    """
    client = session.exec(select(Client).where(Client.bsn_index == vault.index(bsn))).first()
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.lookup,
        entity="client",
        entity_id=client.id if client else None,
        detail={"found": client is not None},
    )
    return client_public(client, vault) if client is not None else None


def _hours_superseded(current: dict[str, Any], changes: ClientUpdate) -> dict[str, Any]:
    """The stored hours a change replaces: a new range retires the old single figure, and a
    single figure sent alone (an older client) replaces the range it would otherwise fill."""
    changed = changes.model_fields_set
    if changed & {"hours_min", "hours_max"}:
        return {**current, "hours_per_week": None}
    if "hours_per_week" in changed:
        return {**current, "hours_min": None, "hours_max": None}
    return current


def update_client(
    *,
    session: Session,
    vault: BsnVault,
    client_id: str,
    changes: ClientUpdate,
    if_match: int | None,
    actor: Actor,
    now: datetime,
) -> ClientPublic:
    client = _get(session, Client, client_id)
    _check_version(client, body=changes.version, if_match=if_match)
    current = client_public(client, vault).model_dump(include=set(ClientCreate.model_fields))
    merged = _revalidate(ClientCreate, _hours_superseded(current, changes), changes)
    _check_birth_date(merged.date_of_birth, now)
    merged = _check_consent(merged, now)
    if not merged.consent_share_profile and "consent_share_profile" in changes.model_fields_set:
        merged = merged.model_copy(update={"consent_date": now.date()})  # date of withdrawal
    for key, value in _client_columns(merged, vault).items():
        if key == "bsn_encrypted" and "bsn" not in changes.model_fields_set:
            continue  # keep the stored ciphertext: re-encrypting would only churn the row
        setattr(client, key, value)
    _touch(client, now)
    _flush(session, client, _CLIENT_UNIQUE)
    _audit_update(session, now, actor, "client", client.id, changes=changes)
    return client_public(client, vault)


def list_clients(
    *,
    session: Session,
    window: Window,
    actor: Actor,
    now: datetime,
    q: str | None = None,
    status: str | None = None,
    municipality: str | None = None,
    benefit_type: str | None = None,
    consent: bool | None = None,
) -> Page[ClientListItem]:
    query = select(Client)
    if q:
        full = func.lower(Client.first_name + " " + Client.name_prefix + " " + Client.last_name)
        query = query.where(full.like(_like(q), escape="\\"))
    if status:
        query = query.where(Client.status == status)
    if municipality:
        query = query.where(func.lower(Client.municipality) == municipality.lower())
    if benefit_type:
        query = query.where(Client.benefit_type == benefit_type)
    if consent is not None:
        query = query.where(Client.consent_share_profile == consent)
    rows, total = _page(session, query, Client, window)
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.list,
        entity="client",
        detail={"ids": [r.id for r in rows]},
    )
    return Page[ClientListItem](
        items=[ClientListItem.model_validate(r) for r in rows],
        total=total,
        limit=window.limit,
        offset=window.offset,
    )


def erase_client(*, session: Session, client_id: str, actor: Actor, now: datetime) -> None:
    """AVG article 17 erasure: the row is deleted, not flagged.

    What remains is an audit event with the (random) id, who erased it and when: proof
    that the request was honoured, with no personal data in it.
    """
    client = _get(session, Client, client_id)
    session.delete(client)
    session.flush()
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.erase,
        entity="client",
        entity_id=client_id,
    )


def names_of_client(*, session: Session, client_id: str) -> list[str]:
    """The names that identify one client in free text: given name, surname, street."""
    client = _get(session, Client, client_id)
    return [client.first_name, f"{client.name_prefix} {client.last_name}".strip(), client.street]


def personal_names(*, session: Session) -> list[str]:
    """Every name in the card-box, for scrubbing: clients' names and streets, employers'
    names and contact persons."""
    names: list[str] = []
    for first, prefix, last, street in session.exec(
        select(Client.first_name, Client.name_prefix, Client.last_name, Client.street)
    ):
        names += [first, f"{prefix} {last}".strip(), street]
    for name, contact in session.exec(select(Employer.name, Employer.contact_name)):
        names += [name, contact]
    return names


# --- vacancies -------------------------------------------------------------------------


def vacancy_public(vacancy: Vacancy) -> VacancyPublic:
    values = {
        name: getattr(vacancy, name) for name in VacancyPublic.model_fields if name != "occupation"
    }
    values["occupation"] = Occupation(
        label=vacancy.occupation_label,
        isco08=vacancy.occupation_isco08,
        esco_uri=vacancy.occupation_esco_uri,
    )
    return VacancyPublic.model_validate(values)


def _vacancy_columns(data: VacancyFields) -> dict[str, Any]:
    values = {
        name: getattr(data, name) for name in VacancyFields.model_fields if name != "occupation"
    }
    values["occupation_label"] = data.occupation.label
    values["occupation_isco08"] = data.occupation.isco08
    values["occupation_esco_uri"] = data.occupation.esco_uri
    return _without_unset_publish(values)


def _without_unset_publish(values: dict[str, Any]) -> dict[str, Any]:
    """``published: null`` means "not said": keep the stored flag (or the node default)."""
    if values.get("published") is None:
        values.pop("published", None)
    return values


def _check_employer(session: Session, employer_id: str) -> None:
    if session.get(Employer, employer_id) is None:
        raise InputError(f"no employer with id {employer_id}", field="employer_id")


def create_vacancy(
    *,
    session: Session,
    data: VacancyCreate,
    actor: Actor,
    now: datetime,
    publish_default: bool = False,
) -> Vacancy:
    """A new vacancy; published to peers when asked, else as the node's default says."""
    _check_employer(session, data.employer_id)
    vacancy = Vacancy(**{"published": publish_default, **_vacancy_columns(data)})
    _touch(vacancy, now, new=True)
    session.add(vacancy)
    _flush(session, vacancy, {})
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.create,
        entity="vacancy",
        entity_id=vacancy.id,
    )
    return vacancy


def get_vacancy(*, session: Session, vacancy_id: str) -> Vacancy:
    return _get(session, Vacancy, vacancy_id)


def update_vacancy(
    *,
    session: Session,
    vacancy_id: str,
    changes: VacancyUpdate,
    if_match: int | None,
    actor: Actor,
    now: datetime,
) -> Vacancy:
    vacancy = _get(session, Vacancy, vacancy_id)
    _check_version(vacancy, body=changes.version, if_match=if_match)
    current = vacancy_public(vacancy).model_dump(include=set(VacancyFields.model_fields))
    merged = _revalidate(VacancyFields, current, changes)
    _check_employer(session, merged.employer_id)
    for key, value in _vacancy_columns(merged).items():
        setattr(vacancy, key, value)
    _touch(vacancy, now)
    _flush(session, vacancy, {})
    _audit_update(session, now, actor, "vacancy", vacancy.id, changes=changes)
    return vacancy


def list_vacancies(
    *,
    session: Session,
    window: Window,
    q: str | None = None,
    status: str | None = None,
    employer_id: str | None = None,
    municipality: str | None = None,
    contract_type: str | None = None,
) -> Page[VacancyPublic]:
    query = select(Vacancy)
    if q:
        query = query.where(func.lower(Vacancy.title).like(_like(q), escape="\\"))
    if status:
        query = query.where(Vacancy.status == status)
    if employer_id:
        query = query.where(Vacancy.employer_id == employer_id)
    if municipality:
        query = query.where(func.lower(Vacancy.municipality) == municipality.lower())
    if contract_type:
        query = query.where(Vacancy.contract_type == contract_type)
    rows, total = _page(session, query, Vacancy, window)
    return Page[VacancyPublic](
        items=[vacancy_public(r) for r in rows],
        total=total,
        limit=window.limit,
        offset=window.offset,
    )


# --- baanopeningen ---------------------------------------------------------------------


def baanopening_public(opening: Baanopening) -> BaanopeningPublic:
    return BaanopeningPublic.model_validate(opening)


def create_baanopening(
    *,
    session: Session,
    data: BaanopeningCreate,
    actor: Actor,
    now: datetime,
    publish_default: bool = False,
) -> Baanopening:
    _check_employer(session, data.employer_id)
    opening = Baanopening(
        **{"published": publish_default, **_without_unset_publish(data.model_dump())}
    )
    _touch(opening, now, new=True)
    session.add(opening)
    _flush(session, opening, {})
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.create,
        entity="baanopening",
        entity_id=opening.id,
    )
    return opening


def get_baanopening(*, session: Session, baanopening_id: str) -> Baanopening:
    return _get(session, Baanopening, baanopening_id)


def update_baanopening(
    *,
    session: Session,
    baanopening_id: str,
    changes: BaanopeningUpdate,
    if_match: int | None,
    actor: Actor,
    now: datetime,
) -> Baanopening:
    opening = _get(session, Baanopening, baanopening_id)
    _check_version(opening, body=changes.version, if_match=if_match)
    current = baanopening_public(opening).model_dump(include=set(BaanopeningFields.model_fields))
    merged = _revalidate(BaanopeningFields, current, changes)
    _check_employer(session, merged.employer_id)
    for key, value in _without_unset_publish(merged.model_dump()).items():
        setattr(opening, key, value)
    _touch(opening, now)
    _flush(session, opening, {})
    _audit_update(session, now, actor, "baanopening", opening.id, changes=changes)
    return opening


def list_baanopeningen(
    *,
    session: Session,
    window: Window,
    status: str | None = None,
    employer_id: str | None = None,
    municipality: str | None = None,
    sector: str | None = None,
) -> Page[BaanopeningPublic]:
    query = select(Baanopening)
    if status:
        query = query.where(Baanopening.status == status)
    if employer_id:
        query = query.where(Baanopening.employer_id == employer_id)
    if municipality:
        query = query.where(func.lower(Baanopening.municipality) == municipality.lower())
    if sector:
        query = query.where(Baanopening.sector == sector)
    rows, total = _page(session, query, Baanopening, window)
    return Page[BaanopeningPublic](
        items=[baanopening_public(r) for r in rows],
        total=total,
        limit=window.limit,
        offset=window.offset,
    )
