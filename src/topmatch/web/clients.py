"""My clients: the list, a new client, a client's page with openings at every bureau, and
editing (erasing is for admins, through the CLI or the API).

The pages call the card-box services as the API does, with the signed-in consultant as the
audit actor: listing, reading and changing a client are audited. A form that does not
validate comes back with what was typed and a Dutch message under each field; a valid one
answers with the client's page directly (no redirect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.datastructures import FormData

from topmatch import db
from topmatch.accounts.models import User
from topmatch.api.cardbox_deps import get_publisher, get_vault
from topmatch.api.deps import BureauNames, Visible, get_clock, get_engine, get_settings
from topmatch.api.errors import status_of
from topmatch.audit.service import Actor
from topmatch.cardbox import service
from topmatch.cardbox.crypto import BsnVault
from topmatch.cardbox.schemas import (
    Bsn,
    ClientCreate,
    ClientFields,
    ClientPublic,
    ClientUpdate,
    Occupation,
)
from topmatch.cardbox.validation import (
    BenefitType,
    ClientStatus,
    DrivingLicence,
    EducationLevel,
    mask_bsn,
)
from topmatch.errors import ConflictError, InputError, TopmatchError
from topmatch.matching import service as matching
from topmatch.publishing.republish import publish_all
from topmatch.vocabulary import LanguageLevel
from topmatch.web import forms, i18n
from topmatch.web.core import ConsultantPage, CsrfChecked, error_page, language_of, render
from topmatch.web.forms import N_, Errors, Field, Gettext
from topmatch.web.messages import TERMS

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25

BENEFIT_LABELS: dict[str, str] = {
    BenefitType.ww: N_("WW"),
    BenefitType.participatiewet: N_("Participatiewet"),
    BenefitType.wajong: N_("Wajong"),
    BenefitType.wia_wga: N_("WIA/WGA"),
    BenefitType.geen: N_("no benefit"),
    BenefitType.anders: N_("other benefit"),
}
STATUS_LABELS: dict[str, str] = {
    ClientStatus.active: N_("in a route"),
    ClientStatus.placed: N_("placed"),
    ClientStatus.left: N_("left the route"),
}
# (part of one desired occupation, its label with the row number)
OCCUPATION_PARTS: tuple[tuple[str, str], ...] = (
    ("label", N_("Occupation %(n)s")),
    ("isco08", N_("ISCO-08 code %(n)s")),
    ("esco_uri", N_("ESCO address %(n)s")),
)
OCCUPATIONS = "desired_occupations"
MAX_OCCUPATIONS = 20  # as ClientFields allows
NAME_FIELDS = frozenset({"first_name", "name_prefix", "last_name", "street"})


@dataclass(frozen=True)
class Group:
    """A fieldset of the client form; ``legend`` is a msgid."""

    legend: str
    fields: tuple[Field, ...]


def _bsn_field(*, editing: bool) -> Field:
    if editing:
        return Field(
            "bsn",
            N_("Citizen service number (BSN)"),
            hint=N_("Leave empty to keep the current BSN."),
        )
    return Field(
        "bsn",
        N_("Citizen service number (BSN)"),
        required=True,
        hint=N_("9 digits; checked with the 11-test."),
    )


def client_groups(*, editing: bool) -> tuple[Group, ...]:
    """Every field of :class:`ClientCreate`, grouped as a jobcoach fills them in."""
    return (
        Group(
            N_("Personal details"),
            (
                Field("first_name", N_("First name"), required=True, autocomplete="given-name",
                      maxlength=100),
                Field("name_prefix", N_("Surname prefix"), hint=N_("such as van or de"),
                      maxlength=20),
                Field("last_name", N_("Surname"), required=True, autocomplete="family-name",
                      maxlength=100),
                _bsn_field(editing=editing),
                Field("date_of_birth", N_("Date of birth"), kind="date", required=True,
                      autocomplete="bday"),
            ),
        ),
        Group(
            N_("Contact details and address"),
            (
                Field("phone", N_("Phone"), kind="tel", autocomplete="tel", maxlength=20),
                Field("email", N_("Email"), kind="email", autocomplete="email", maxlength=200),
                Field("street", N_("Street"), autocomplete="address-line1", maxlength=200),
                Field("house_number", N_("House number"), maxlength=20),
                Field("postcode", N_("Postcode"), required=True, autocomplete="postal-code",
                      hint=N_("such as 1234 AB"), maxlength=10),
                Field("city", N_("Place of residence"), autocomplete="address-level2",
                      maxlength=200),
                Field("municipality", N_("Municipality"), required=True, maxlength=100,
                      hint=N_("the official name, such as 's-Hertogenbosch")),
            ),
        ),
        Group(
            N_("Benefit and route"),
            (
                Field("benefit_type", N_("Benefit"), kind="select", required=True,
                      choices=tuple(BENEFIT_LABELS.items())),
                Field("doelgroepregister", N_("In the target group register"), kind="checkbox"),
                Field("status", N_("Route status"), kind="select",
                      choices=tuple(STATUS_LABELS.items())),
                Field("available_from", N_("Available from"), kind="date"),
            ),
        ),
        Group(
            N_("Work wishes and possibilities"),
            (
                Field("education_level", N_("Education level"), kind="select",
                      choices=tuple((e.value, TERMS.get(e, e.value)) for e in EducationLevel)),
                Field(OCCUPATIONS, N_("Desired occupations"), kind="occupations",
                      hint=N_("A name is enough; a 4-digit ISCO-08 code makes matching better.")),
                Field("skills", N_("Skills"), kind="list", maxlength=5000,
                      hint=N_("separated by commas, such as orderpicking, forklift")),
                Field("hours_min", N_("Hours a week, at least"), kind="number", maxlength=2),
                Field("hours_max", N_("Hours a week, at most"), kind="number", maxlength=2,
                      hint=N_("Matching also shows work just outside these hours, and says so.")),
                Field("max_travel_km", N_("Travels at most (km)"), kind="number", maxlength=3,
                      hint=N_("Empty: not asked yet; the matches then say so.")),
                Field("languages", N_("Languages"), kind="list", maxlength=200,
                      hint=N_("two-letter codes separated by commas, such as nl, en")),
                Field("dutch_level", N_("Level of Dutch"), kind="select",
                      choices=tuple((level.value, level.value) for level in LanguageLevel),
                      hint=N_("CEFR, as in the language test: A1 (beginner) to C2.")),
                Field("driving_licences", N_("Driving licences"), kind="checkboxes",
                      choices=tuple((d.value, d.value) for d in DrivingLicence)),
            ),
        ),
        Group(
            N_("Consent"),
            (
                Field("consent_share_profile", kind="checkbox",
                      label=N_("Consents to sharing an anonymised profile with other bureaus")),
                Field("consent_date", N_("Date of consent"), kind="date",
                      hint=N_("Empty: today. When consent is withdrawn, today is recorded.")),
            ),
        ),
        Group(N_("Notes"), (Field("notes", N_("Notes"), kind="textarea", maxlength=10_000),)),
    )  # fmt: skip


FIELDS: tuple[Field, ...] = tuple(f for g in client_groups(editing=False) for f in g.fields)
LABELS: dict[str, str] = {f.name: f.label for f in FIELDS} | {"version": N_("Version")}


class ClientEdit(ClientFields):
    """The edit form: every field, the version it was made on, a BSN only to change it."""

    version: int
    bsn: Bsn | None = None


# --- what every page needs ---------------------------------------------------------------


def _gettext(request: Request) -> Gettext:
    return i18n.translations(language_of(request)).gettext


def _now(request: Request) -> datetime:
    return get_clock(request)()


def _vault(request: Request) -> BsnVault:
    return get_vault(request)


def _refusal(request: Request, user: User, error: TopmatchError) -> HTMLResponse:
    return error_page(request, error, user=user)


async def posted_form(request: Request) -> FormData:
    """The posted fields (parsed once; ``CsrfChecked`` reads the same form)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


# --- the list ----------------------------------------------------------------------------


def _page_number(text: str) -> int:
    return int(text) if text.isdigit() and 0 < int(text) <= 100_000 else 1  # noqa: PLR2004


def _page_url(q: str, status: str, number: int) -> str:
    query = {k: v for k, v in {"q": q, "status": status}.items() if v}
    return "/clienten?" + urlencode({**query, "pagina": number})


@router.get("/clienten", response_class=HTMLResponse)
def list_page(
    request: Request,
    user: ConsultantPage,
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    pagina: Annotated[str, Query(max_length=6)] = "",
) -> HTMLResponse:
    """Our clients, newest change first, by name and status, a page at a time."""
    number = _page_number(pagina)
    status = status if status in STATUS_LABELS else ""
    size = min(PAGE_SIZE, get_settings(request).max_page_size)
    try:
        with db.transaction(get_engine(request)) as session:
            found = service.list_clients(
                session=session,
                window=service.Window(limit=size, offset=(number - 1) * size),
                actor=Actor(name=user.name),
                now=_now(request),
                q=q.strip() or None,
                status=status or None,
            )
    except TopmatchError as e:
        return _refusal(request, user, e)
    pages = max(1, math.ceil(found.total / size))
    context = {
        "found": found,
        "q": q,
        "status": status,
        "number": number,
        "pages": pages,
        "previous_url": _page_url(q, status, number - 1) if number > 1 else None,
        "next_url": _page_url(q, status, number + 1) if number < pages else None,
        "statuses": STATUS_LABELS,
        "benefits": BENEFIT_LABELS,
    }
    return render(request, "clients.html", context, user=user)


# --- the form ----------------------------------------------------------------------------


def _blank() -> dict[str, Any]:
    values: dict[str, Any] = {f.name: "" for f in FIELDS}
    values.update(
        status=ClientStatus.active.value,
        doelgroepregister=False,
        consent_share_profile=False,
        driving_licences=[],
        desired_occupations=[],
    )
    return values


def _entered(form: FormData) -> dict[str, Any]:
    """What was typed, as the form shows it again: strings, booleans and lists."""
    text = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    values: dict[str, Any] = {}
    for f in FIELDS:
        if f.kind == "checkbox":
            values[f.name] = f.name in text
        elif f.kind == "checkboxes":
            values[f.name] = [v for v in form.getlist(f.name) if isinstance(v, str)]
        elif f.kind == "occupations":
            values[f.name] = forms.rows(text, f.name, (p for p, _ in OCCUPATION_PARTS))
        else:
            values[f.name] = text.get(f.name, "")
    return values


def _payload(values: dict[str, Any]) -> dict[str, Any]:
    """The entered values as input for the card-box models."""
    payload = dict(values)
    for f in FIELDS:
        if f.kind == "list":
            payload[f.name] = forms.split_list(values[f.name])
    payload[OCCUPATIONS] = [forms.prepare(Occupation, row) for row in values[OCCUPATIONS]]
    return payload


def _field_names(values: dict[str, Any]) -> set[str]:
    rows = range(len(values[OCCUPATIONS]))
    return {f.name for f in FIELDS} | {
        f"{OCCUPATIONS}.{n}.{part}" for n in rows for part, _ in OCCUPATION_PARTS
    }


def _label(name: str, gettext: Gettext) -> str:
    """The label of a field, also of one part of a desired occupation ("ISCO-08 code 2")."""
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == OCCUPATIONS and parts[1].isdigit():  # noqa: PLR2004
        label = dict(OCCUPATION_PARTS).get(parts[2], LABELS[OCCUPATIONS])
        return gettext(label) % {"n": int(parts[1]) + 1}
    return gettext(LABELS.get(parts[0], parts[0]))


def _summary(errors: Errors, gettext: Gettext) -> list[dict[str, str]]:
    """The problems at the top of the form, in the order of the form, each linking to
    its field; a problem of the whole form comes first."""
    order = {f.name: n for n, f in enumerate(FIELDS)}

    def position(name: str) -> tuple[int, str]:
        return (order.get(name.split(".", maxsplit=1)[0], -1), name)

    return [
        {
            "anchor": name,
            # Markup.format escapes the label and a plain message, and keeps a message
            # that marks English words (forms.not_accepted)
            "text": Markup("{}: {}").format(_label(name, gettext), errors[name])
            if name
            else errors[name],
        }
        for name in sorted(errors, key=position)
    ]


def _values_of(client: ClientPublic) -> dict[str, Any]:
    """A stored client as the edit form shows it."""
    values = _blank()
    for f in FIELDS:
        value = getattr(client, f.name)
        if f.kind == "list":
            values[f.name] = ", ".join(value)
        elif f.kind in {"checkbox", "checkboxes"}:
            values[f.name] = value
        elif isinstance(value, date):
            values[f.name] = value.isoformat()
        elif value is not None and f.kind != "occupations":
            values[f.name] = str(value)
    values["bsn"] = ""  # never echoed into the page: typed only to change it
    values[OCCUPATIONS] = [
        {part: getattr(o, part) or "" for part, _ in OCCUPATION_PARTS}
        for o in client.desired_occupations
    ]
    return values


def _form_page(
    request: Request,
    user: User,
    values: dict[str, Any],
    *,
    errors: Errors | None = None,
    client_id: str | None = None,
    version: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    errors = errors or {}
    rows = list(values[OCCUPATIONS])
    wanted = min(MAX_OCCUPATIONS, max(3, len(rows) + 1))  # room to add one, no script needed
    rows += [{part: "" for part, _ in OCCUPATION_PARTS} for _ in range(wanted - len(rows))]
    context = {
        "groups": client_groups(editing=client_id is not None),
        "values": values,
        "errors": errors,
        "summary": _summary(errors, _gettext(request)),
        "occupation_rows": rows,
        "occupation_parts": OCCUPATION_PARTS,
        "client_id": client_id,
        "version": version,
        "action": f"/clienten/{client_id}/bewerken" if client_id else "/clienten/nieuw",
    }
    return render(request, "client_form.html", context, user=user, status_code=status_code)


# --- a client's page ---------------------------------------------------------------------


def _client_page(
    request: Request,
    user: User,
    client: ClientPublic,
    *,
    names: dict[str, str],
    origins: frozenset[str],
    saved: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    """The client (BSN masked) and the openings at every bureau that suit them; introduce
    buttons only when the client consented to sharing an anonymised profile."""
    context: dict[str, Any] = {
        "client": client.model_copy(update={"bsn": mask_bsn(client.bsn)}),
        "saved": saved,
        "statuses": STATUS_LABELS,
        "benefits": BENEFIT_LABELS,
        "result": None,
        "match_problem": None,
    }
    try:
        with db.transaction(get_engine(request)) as session:
            context["result"] = matching.openings_for_client(
                session=session, client=client, bureau_names=names, origins=origins
            )
    except TopmatchError as e:
        context["match_problem"] = e
    if client.consent_share_profile:
        context["introduce_client"] = client.id
        context["own_node"] = get_settings(request).node_id
    return render(request, "client_page.html", context, user=user, status_code=status_code)


@router.get("/clienten/nieuw", response_class=HTMLResponse)
def new_client_form(request: Request, user: ConsultantPage) -> HTMLResponse:
    return _form_page(request, user, _blank())


@router.post("/clienten/nieuw", response_class=HTMLResponse)
def create_client(
    request: Request,
    user: ConsultantPage,
    _: CsrfChecked,
    form: PostedForm,
    names: BureauNames,
    origins: Visible,
) -> HTMLResponse:
    """Validate, store, and answer with the new client's page (201) or the form (422)."""
    gettext = _gettext(request)
    values = _entered(form)
    data, errors = forms.validate(
        ClientCreate, _payload(values), gettext, fields=_field_names(values)
    )
    if data is None:
        return _form_page(request, user, values, errors=errors, status_code=422)
    now = _now(request)
    try:
        with db.transaction(get_engine(request)) as session:
            vault = _vault(request)
            created = service.create_client(
                session=session, vault=vault, data=data, actor=Actor(name=user.name), now=now
            )
            publish_all(session=session, publisher=get_publisher(request), now=now)
            client = service.client_public(created, vault)
    except (InputError, ConflictError) as e:  # a birth date in the future, a known BSN
        errors = forms.explain(e, gettext, aliases={"bsn_index": "bsn"})
        return _form_page(request, user, values, errors=errors, status_code=status_of(e))
    except TopmatchError as e:
        return _refusal(request, user, e)
    response = _client_page(
        request, user, client, names=names, origins=origins, saved=True, status_code=201
    )
    response.headers["Content-Location"] = f"/clienten/{client.id}"
    return response


@router.get("/clienten/{client_id}", response_class=HTMLResponse)
def client_page(
    request: Request, client_id: str, user: ConsultantPage, names: BureauNames, origins: Visible
) -> HTMLResponse:
    """One client in full (the read is audited) with openings that suit them."""
    try:
        client = _read(request, user, client_id)
    except TopmatchError as e:
        return _refusal(request, user, e)
    return _client_page(request, user, client, names=names, origins=origins)


def _read(request: Request, user: User, client_id: str) -> ClientPublic:
    with db.transaction(get_engine(request)) as session:
        return service.read_client(
            session=session,
            vault=_vault(request),
            client_id=client_id,
            actor=Actor(name=user.name),
            now=_now(request),
        )


# --- editing -----------------------------------------------------------------------------


@router.get("/clienten/{client_id}/bewerken", response_class=HTMLResponse)
def edit_form(request: Request, client_id: str, user: ConsultantPage) -> HTMLResponse:
    try:
        client = _read(request, user, client_id)
    except TopmatchError as e:
        return _refusal(request, user, e)
    return _form_page(
        request, user, _values_of(client), client_id=client.id, version=str(client.version)
    )


def _changes(before: ClientPublic, edit: ClientEdit) -> ClientUpdate:
    """Only what the form changed, so that the audit trail names those fields, on the
    version the form was made from (the service refuses a stale one)."""
    fields = set(ClientFields.model_fields)
    old = before.model_dump(include=fields)
    old["email"] = old["email"] or None  # stored as "" when there is none
    new = edit.model_dump(include=fields)
    changed = {name: value for name, value in new.items() if value != old[name]}
    changed.pop("hours_per_week", None)  # the old single figure: not on the form, kept as it is
    if edit.bsn is not None and edit.bsn != before.bsn:
        changed["bsn"] = edit.bsn
    if changed.get("consent_share_profile") is True and "consent_date" not in changed:
        changed["consent_date"] = None  # consent given now: today, not the withdrawal date
    return ClientUpdate.model_validate({"version": edit.version, **changed})


@router.post("/clienten/{client_id}/bewerken", response_class=HTMLResponse)
def update_client(
    request: Request,
    client_id: str,
    user: ConsultantPage,
    _: CsrfChecked,
    form: PostedForm,
    names: BureauNames,
    origins: Visible,
) -> HTMLResponse:
    """Store the changes and answer with the client's page, or the form with why not."""
    gettext = _gettext(request)
    values = _entered(form)
    version = str(form.get("version") or "")
    edit, errors = forms.validate(
        ClientEdit,
        {**_payload(values), "version": version},
        gettext,
        fields=_field_names(values) | {"version"},
    )
    if edit is None:
        return _form_page(
            request, user, values, errors=errors, client_id=client_id, version=version,
            status_code=422,
        )  # fmt: skip
    now = _now(request)
    actor = Actor(name=user.name)
    try:
        with db.transaction(get_engine(request)) as session:
            vault = _vault(request)
            before = service.read_client(
                session=session, vault=vault, client_id=client_id, actor=actor, now=now
            )
            changes = _changes(before, edit)
            client = service.update_client(
                session=session, vault=vault, client_id=client_id, changes=changes,
                if_match=None, actor=actor, now=now,
            )  # fmt: skip
            if changes.model_fields_set & NAME_FIELDS:
                publish_all(session=session, publisher=get_publisher(request), now=now)
    except (InputError, ConflictError) as e:  # a stale version, a BSN of another client
        errors = forms.explain(e, gettext, aliases={"bsn_index": "bsn"})
        return _form_page(
            request, user, values, errors=errors, client_id=client_id, version=version,
            status_code=status_of(e),
        )  # fmt: skip
    except TopmatchError as e:
        return _refusal(request, user, e)
    return _client_page(request, user, client, names=names, origins=origins, saved=True)
