"""Signing in and out, the language, and search across all bureaus."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from topmatch import db
from topmatch.accounts import service as accounts
from topmatch.accounts.models import Role
from topmatch.api.deps import BureauNames, Visible, get_engine, get_settings
from topmatch.errors import (
    AuthenticationError,
    InputError,
    PermissionDeniedError,
    TopmatchError,
)
from topmatch.matching import service as matching
from topmatch.vocabulary import ContractType, EducationLevel
from topmatch.web import i18n
from topmatch.web.core import (
    LANGUAGE_COOKIE,
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    SIGN_IN_FORM_SECONDS,
    CsrfChecked,
    WebUser,
    cross_site,
    error_page,
    language_of,
    pre_session,
    render,
    requires,
    sign_in_token,
    sign_in_token_ok,
)
from topmatch.web.forms import N_

router = APIRouter(include_in_schema=False)


def _secure(request: Request) -> bool:
    public = str(get_settings(request).public_url or "")
    return request.url.scheme == "https" or public.startswith("https://")


FAVICON = resources.files("topmatch.web") / "static" / "favicon.svg"


@router.get("/favicon.ico", response_model=None)
def favicon() -> Response:
    """The node's icon, for browsers that ask at the root (every browser does)."""
    return Response(
        FAVICON.read_bytes(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/inloggen", response_class=HTMLResponse)
def sign_in_form(
    request: Request,
    next: Annotated[str, Query(max_length=500)] = "/",
) -> HTMLResponse:
    return _sign_in_page(request, next)


def _sign_in_page(
    request: Request, next: str, problem: str | None = None, status_code: int = 200
) -> HTMLResponse:
    """The sign-in form, with its CSRF token bound to the visitor's pre-session cookie."""
    pre = pre_session(request)
    context = {
        "next": _local(next),
        "problem": problem,
        "sign_in_csrf": sign_in_token(request, pre),
    }
    response = render(request, "login.html", context, status_code=status_code)
    response.set_cookie(
        PRE_SESSION_COOKIE,
        pre,
        max_age=SIGN_IN_FORM_SECONDS,
        httponly=True,
        secure=_secure(request),
        samesite="strict",
    )
    return response


CROSS_SITE = N_(
    "This sign-in came from another website (%(origin)s). Sign in on this node's own page."
)


@router.post("/inloggen", response_model=None)
def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Exchange the token an admin handed out for a session cookie.

    Refused before the token is looked at: a post from another site (Origin or Referer),
    and a form without this visitor's sign-in token (expired, or not from our page)."""
    if (origin := cross_site(request)) is not None:
        error = PermissionDeniedError(f"sign-in posted from another site: {origin}")
        gettext = i18n.translations(language_of(request)).gettext
        message = gettext(CROSS_SITE) % {"origin": origin}
        return error_page(request, error, user=None, message=message, detail=error.diagnostics())
    if not sign_in_token_ok(request, csrf):
        return _sign_in_page(request, next, problem="expired", status_code=403)
    try:
        with db.transaction(get_engine(request)) as session:
            accounts.authenticate(session=session, token=token.strip())
    except AuthenticationError:
        return _sign_in_page(request, next, problem="unknown", status_code=401)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token.strip(),
        max_age=SESSION_SECONDS,
        httponly=True,
        secure=_secure(request),
        samesite="strict",
    )
    return response


@router.post("/uitloggen")
def sign_out(request: Request, _: CsrfChecked) -> RedirectResponse:
    response = RedirectResponse("/inloggen", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, secure=_secure(request), samesite="strict"
    )
    return response


@router.post("/taal")
def choose_language(
    request: Request,
    lang: Annotated[str, Form(max_length=5)] = i18n.DEFAULT_LANGUAGE,
    next: Annotated[str, Form(max_length=500)] = "/",
) -> RedirectResponse:
    response = RedirectResponse(_local(next), status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            secure=_secure(request),
            samesite="lax",
        )
    return response


def _local(target: str) -> str:
    """Only paths on this node: never redirect a signed-in user elsewhere."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/", response_model=None)
@router.get("/zoeken", response_model=None)
def search_page(
    request: Request,
    user: WebUser,
    names: BureauNames,
    origins: Visible,
    q: Annotated[str, Query(max_length=200)] = "",
    place: Annotated[str, Query(max_length=100)] = "",
    radius_km: Annotated[str, Query(max_length=5)] = "",
    hours: Annotated[str, Query(max_length=2)] = "",
    education: Annotated[str, Query(max_length=20)] = "",
    contract_type: Annotated[str, Query(max_length=30)] = "",
    occupation: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Ranked openings of every bureau, with why each matches (one request, no script)."""
    if user.role == Role.finance and request.url.path == "/":
        return RedirectResponse("/financien", status_code=303)
    requires(user, Role.consultant, Role.admin)
    form = {
        "q": q,
        "place": place,
        "radius_km": radius_km,
        "hours": hours,
        "education": education,
        "contract_type": contract_type,
        "occupation": occupation,
    }
    asked = any(form.values())
    context: dict[str, object] = {
        "form": form,
        "asked": asked,
        "result": None,
        "problem": None,
        "educations": [e.value for e in EducationLevel],
        "contract_types": [c.value for c in ContractType],
        "occupations": [label for label, _ in matching.occupation_choices()],
    }
    if asked:
        try:
            search = _search_request(form, origins)
            with db.transaction(get_engine(request)) as session:
                context["result"] = matching.search(
                    session=session, request=search, bureau_names=names
                )
        except InputError as e:
            context["problem"] = e
        except TopmatchError as e:
            return error_page(request, e, user=user)
    return render(request, "search.html", context, user=user)


def _search_request(form: dict[str, str], origins: frozenset[str]) -> matching.SearchRequest:
    isco08, labels = matching.request_for_label(form["occupation"])
    try:
        return matching.SearchRequest(
            q=form["q"] or None,
            place=form["place"] or None,
            radius_km=float(form["radius_km"]) if form["radius_km"] else None,
            hours=int(form["hours"]) if form["hours"] else None,
            education=EducationLevel(form["education"]) if form["education"] else None,
            contract_types=frozenset([ContractType(form["contract_type"])])
            if form["contract_type"]
            else frozenset(),
            isco08=isco08,
            occupation_labels=labels,
            limit=20,
            origins=origins,
        )
    except (ValueError, ValidationError) as e:
        raise InputError(f"check the filters: {e}", field="filters") from e
