"""What every page shares: templates per language, the signed-in user from the session
cookie, CSRF tokens, and rendering.

Signing in: a consultant pastes the token an admin gave them; the node checks it like the
API does and keeps it in a cookie that JavaScript cannot read (HttpOnly), that is only
sent to this site (SameSite=Strict) and, behind HTTPS, only over HTTPS (Secure). Every form
that changes something carries a CSRF token, an HMAC of the session under a node secret,
checked before anything happens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache, partial
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from topmatch import db
from topmatch.accounts import service as accounts
from topmatch.accounts.models import Role, User
from topmatch.api.cardbox_deps import get_publisher
from topmatch.api.deps import get_engine, get_settings
from topmatch.api.errors import status_of
from topmatch.errors import AuthenticationError, PermissionDeniedError, TopmatchError
from topmatch.settlement import exports
from topmatch.settlement.periods import AMSTERDAM
from topmatch.web import i18n, messages, reasons

SESSION_COOKIE = "topmatch_sessie"
LANGUAGE_COOKIE = "topmatch_taal"
SESSION_SECONDS = 8 * 3600  # a working day


class SignInRequired(Exception):  # noqa: N818 - a redirect, not a failure
    """No valid session: the page answers with the sign-in form."""


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("topmatch.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["euro"] = euro
    env.filters["datum"] = partial(datum, language=language)
    env.filters["moment"] = partial(moment, language=language)
    gettext = i18n.translations(language).gettext
    env.filters["refusal"] = partial(messages.problem_html, gettext=gettext)
    env.filters["peer_error"] = partial(messages.peer_error_html, gettext=gettext)
    env.filters["detail"] = partial(messages.detail, gettext=gettext)
    env.filters["term"] = partial(messages.term, gettext=gettext)
    env.filters["reasons"] = partial(reasons.in_language, language=language)
    env.filters["hours"] = partial(messages.hours, catalogue=i18n.translations(language))
    # A form that creates something carries a fresh key: sent twice, it creates once.
    env.globals["idempotency_key"] = lambda: uuid.uuid4().hex
    return env


def euro(cents: int | None) -> str:
    """€ 1.234,56 (Dutch notation, integer arithmetic); empty for no amount."""
    return "" if cents is None else exports.eurobedrag(int(cents))


MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
#: how a moment names its clock, per language: the web app shows every time in Amsterdam
ZONE_NAMES = {"nl": "Nederlandse tijd", "en": "Dutch time"}


def _parsed(value: date | datetime | str) -> date | datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def datum(value: date | datetime | str | None, *, language: str = "nl") -> str:
    """A date in the page's language ("1 oktober 2026", "1 October 2026"), from a date, a
    datetime (its day on the Amsterdam clock) or ISO text."""
    if value is None or value == "":
        return ""
    value = _parsed(value)
    day = value.astimezone(AMSTERDAM).date() if isinstance(value, datetime) else value
    if language == "en":
        return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
    return exports.datum(day)


def moment(value: datetime | str | None, *, language: str = "nl", zone: bool = False) -> str:
    """A moment on the Amsterdam clock, in the page's language: ``30 november 2026 10:00``;
    with ``zone``, the clock is named: ``30 november 2026 10:00 (Nederlandse tijd)``."""
    if value is None or value == "":
        return ""
    parsed = _parsed(value)
    if not isinstance(parsed, datetime):
        return datum(parsed, language=language)
    local = parsed.astimezone(AMSTERDAM)
    text = f"{datum(local, language=language)} {local:%H:%M}"
    return f"{text} ({ZONE_NAMES.get(language, ZONE_NAMES['nl'])})" if zone else text


def language_of(request: Request) -> str:
    return i18n.choose(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


def _secret(request: Request) -> bytes:
    publisher = get_publisher(request)
    return hmac.new(publisher.secret, b"topmatch web csrf", hashlib.sha256).digest()


def csrf_token(request: Request, session_token: str) -> str:
    return hmac.new(_secret(request), session_token.encode(), hashlib.sha256).hexdigest()[:40]


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def signed_in(request: Request) -> User:
    """The user behind the session cookie, or SignInRequired."""
    token = session_token(request)
    if not token:
        raise SignInRequired
    try:
        with db.transaction(get_engine(request)) as session:
            return accounts.authenticate(session=session, token=token)
    except AuthenticationError as e:
        raise SignInRequired from e


WebUser = Annotated[User, Depends(signed_in)]


def requires(user: User, *roles: Role) -> None:
    """PermissionDeniedError unless the user has one of ``roles`` (the API's own check)."""
    accounts.require_role(user, frozenset(roles))


def page_for(*roles: Role) -> Callable[[User], User]:
    """A dependency: the signed-in user, if their role may see the page."""

    def check(user: WebUser) -> User:
        requires(user, *roles)
        return user

    return check


ConsultantPage = Annotated[User, Depends(page_for(Role.consultant, Role.admin))]


def check_csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """Every form post comes from this node's own pages (Origin or Referer, when given) and
    names the session's CSRF token (constant-time comparison)."""
    if origin := cross_site(request):
        raise PermissionDeniedError(
            f"the form is outdated or came from another site: reload (posted from {origin})"
        )
    token = session_token(request) or ""
    if not token or not hmac.compare_digest(csrf, csrf_token(request, token)):
        raise PermissionDeniedError("the form is outdated or came from another site: reload")


CsrfChecked = Annotated[None, Depends(check_csrf)]


# --- signing in: before there is a session ------------------------------------------------
# The sign-in form has no session to bind its CSRF token to, so a pre-session cookie takes
# that place: a random value set with the form (HttpOnly, SameSite=Strict), and the form's
# token is an HMAC of it. A page on another site can neither read the cookie nor compute
# the token, so it cannot sign a visitor in under its own token ("login CSRF"). The Origin
# (or Referer) header must name this node as well.

PRE_SESSION_COOKIE = "topmatch_voorsessie"
SIGN_IN_FORM_SECONDS = 3600


def pre_session(request: Request) -> str:
    """The visitor's pre-session value: the cookie's, or a new one to set."""
    return request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(24)


def sign_in_token(request: Request, pre: str) -> str:
    return hmac.new(_secret(request), b"sign-in " + pre.encode(), hashlib.sha256).hexdigest()[:40]


def sign_in_token_ok(request: Request, csrf: str) -> bool:
    pre = request.cookies.get(PRE_SESSION_COOKIE)
    return bool(pre) and hmac.compare_digest(csrf, sign_in_token(request, pre or ""))


def own_origins(request: Request) -> set[str]:
    """The origins this node is reached at: the one asked for, and the public URL's."""
    origins = {f"{request.url.scheme}://{request.url.netloc}"}
    public = str(get_settings(request).public_url or "")
    if public:
        parsed = urlsplit(public)
        origins.add(f"{parsed.scheme}://{parsed.netloc}")
    return origins


def cross_site(request: Request) -> str | None:
    """The other site a post came from (by its Origin, else its Referer), or None.

    A request with neither header (curl, a script) is not a browser's cross-site post; the
    CSRF token still applies to it."""
    origin = request.headers.get("origin")
    if origin is None and (referer := request.headers.get("referer")):
        parsed = urlsplit(referer)
        origin = f"{parsed.scheme}://{parsed.netloc}"
    if origin is None or origin in own_origins(request):
        return None
    return origin


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: User | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page in the visitor's language, with what the layout needs."""
    language = language_of(request)
    token = session_token(request)
    page = environment(language).get_template(template)
    html = page.render(
        request=request,
        user=user,
        lang=language,
        csrf=csrf_token(request, token) if token and user else "",
        node_name=get_settings(request).display_name or get_settings(request).node_id,
        path=request.url.path,
        **(context or {}),
    )
    headers = dict(SECURITY_HEADERS)
    if user is not None:  # a signed-in page may show personal data: keep it out of caches
        headers["Cache-Control"] = "no-store"
    return HTMLResponse(html, status_code=status_code, headers=headers)


SECURITY_HEADERS = {
    # everything is served by the node itself: no script, style or image from elsewhere
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def error_page(
    request: Request,
    error: TopmatchError,
    *,
    user: User | None,
    message: str | None = None,
    detail: str | None = None,
) -> HTMLResponse:
    """A refused action, explained in the page's language, with the raw detail only when
    no rule knew the message, and with the status the API would give. A caller that
    already has the message in the page's language passes it (and the raw ``detail``)."""
    if message is None:
        message, detail = messages.explain(error, i18n.translations(language_of(request)).gettext)
    return render(
        request,
        "error.html",
        {"message": message, "detail": detail},
        user=user,
        status_code=status_of(error),
    )
