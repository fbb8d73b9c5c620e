"""Finance pages: a period's statement per counterparty, closing it, netting, downloads.

No settlement rule lives here. Closing a period calls the ledger's propose use case
(``ledger.proposals.close_period``) and kicks the outbox after the commit, as the API
does; the other pages call the settlement use cases the API's handlers call
(``settlement.reports``: ``statement_view``, ``netting``, ``export``, ``statement_html``)
and render what they return; a refusal (``TopmatchError``) is shown, not raised. The
downloads are web routes because a browser sends the session cookie, never the API's
bearer header.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.accounts.models import Role, User
from topmatch.api.deps import (
    BureauNames,
    ClockDep,
    CourierDep,
    EngineDep,
    SettingsDep,
    bureau_names,
    get_clock,
    get_engine,
    get_settings,
)
from topmatch.errors import InputError, TopmatchError
from topmatch.ledger import proposals
from topmatch.ledger.deps import ProposerDep, queued
from topmatch.ledger.flows import ProposalResult
from topmatch.settlement import reports
from topmatch.settlement.deps import FederationDep
from topmatch.settlement.periods import add_months, local_date, parse_period, period_of
from topmatch.web.core import CsrfChecked, WebUser, error_page, render, requires
from topmatch.web.forms import N_

router = APIRouter(include_in_schema=False)

FINANCE = (Role.finance, Role.admin)
#: the line types (msgids); the Dutch catalogue names them as the Dutch exports do
LINE_TYPES: dict[str, str] = {
    "placement.started": N_("Placement (start)"),
    "placement.retained": N_("Lasting placement (after 6 months)"),
    "placement.adjusted": N_("Adjustment"),
    "placement.voided": N_("Reversal"),
    "handover.completed": N_("Client handed over"),
    "licence.charged": N_("Licence for a training method"),
}
QUARTERS_OFFERED = 8
MONTH_PATTERN = r"[0-9]{4}-(0[1-9]|1[0-2])"
PeriodText = Annotated[str, Query(max_length=20)]
ExportKind = Literal["csv", "beancount", "json"]


def _refused(request: Request, user: User) -> HTMLResponse | None:
    """The error page for a user who is neither finance nor admin, else None."""
    try:
        requires(user, *FINANCE)
    except TopmatchError as e:
        return error_page(request, e, user=user)
    return None


def period_choices(now: datetime) -> dict[str, Any]:
    """The current quarter, the quarters before it (newest first) and the current month."""
    today = local_date(now)
    quarter = period_of(today)
    quarters = []
    for _ in range(QUARTERS_OFFERED):
        quarters.append(quarter.name)
        quarter = period_of(add_months(quarter.start, -3))
    return {
        "current_quarter": quarters[0],
        "quarters": quarters,
        "this_month": period_of(today, quarterly=False).name,
        "month_pattern": MONTH_PATTERN,
    }


def _is_over(period: str, now: datetime) -> bool:
    try:
        return parse_period(period).is_over(now)
    except ValueError:
        return False


def statement_context(request: Request, period: str) -> dict[str, Any]:
    """What the statement page shows: the statement view of ``period`` (as the API gives
    it), or the reason there is none (``problem``)."""
    settings = get_settings(request)
    now: datetime = get_clock(request)()
    me = settings.node_id or ""
    context: dict[str, Any] = {
        **period_choices(now),
        "period": period,
        "view": None,
        "problem": None,
        "closable": _is_over(period, now),
        "names": bureau_names(request, settings),
        "me": me,
        "soort": LINE_TYPES,
    }
    try:
        with db.transaction(get_engine(request)) as session:
            context["view"] = reports.statement_view(session, me=me, period=period, now=now)
    except InputError as e:
        context["problem"] = e
    return context


def closing_rows(results: Sequence[ProposalResult]) -> list[dict[str, Any]]:
    """Each closing proposal with the counterparty it was proposed to."""
    return [{"counterparty": r.counterparty or "", "result": r} for r in results]


def _statement_page(
    request: Request,
    user: User,
    period: str,
    *,
    closing: Sequence[ProposalResult] | None = None,
    closing_problem: TopmatchError | None = None,
) -> HTMLResponse:
    context = statement_context(request, period)
    context["closing"] = None if closing is None else closing_rows(closing)
    context["closing_problem"] = closing_problem
    status = 422 if context["problem"] is not None else 200
    return render(request, "finance.html", context, user=user, status_code=status)


@router.get("/financien", response_class=HTMLResponse)
def finance_page(
    request: Request,
    user: WebUser,
    clock: ClockDep,
    periode: PeriodText = "",
    maand: PeriodText = "",
) -> HTMLResponse:
    """The statement of the chosen period; by default the current quarter."""
    if refused := _refused(request, user):
        return refused
    chosen = maand.strip() or periode.strip() or period_choices(clock())["current_quarter"]
    return _statement_page(request, user, chosen)


@router.post("/financien/{period}/afsluiten", response_class=HTMLResponse)
async def close_period(
    period: str,
    request: Request,
    user: WebUser,
    _: CsrfChecked,
    tasks: BackgroundTasks,
    me: ProposerDep,
    engine: EngineDep,
    clock: ClockDep,
    courier: CourierDep,
) -> HTMLResponse:
    """Propose the co-signed closing to every counterparty not closed yet (queued in the
    outbox, delivered right after this answer), then show the statement with each
    proposal and where its message stands."""
    if refused := _refused(request, user):
        return refused
    results: list[ProposalResult] | None = None
    problem: TopmatchError | None = None

    def close() -> list[ProposalResult]:
        with db.transaction(engine) as session:
            return proposals.close_period(session, period=period, proposer=me, now=clock())

    try:
        results = [queued(r, courier, tasks) for r in await run_in_threadpool(close)]
    except TopmatchError as e:
        problem = e
    return await run_in_threadpool(
        _statement_page, request, user, period, closing=results, closing_problem=problem
    )


@router.get("/financien/{period}/verrekening", response_class=HTMLResponse)
async def netting_page(
    period: str,
    request: Request,
    user: WebUser,
    settings: SettingsDep,
    names: BureauNames,
    federation: FederationDep,
) -> HTMLResponse:
    """The netting proposal of a period: it asks every active peer for its closings."""
    if refused := _refused(request, user):
        return refused
    try:
        view = await reports.netting(federation, period=period)
    except TopmatchError as e:
        return error_page(request, e, user=user)
    context = {
        "period": period,
        "netting": view,
        "names": names,
        "me": settings.node_id or "",
    }
    return render(request, "finance_netting.html", context, user=user)


@router.get("/financien/{period}/export.{kind}", response_model=None)
def export(
    period: str,
    kind: ExportKind,
    request: Request,
    user: WebUser,
    settings: SettingsDep,
    names: BureauNames,
    engine: EngineDep,
    clock: ClockDep,
    decimal_comma: bool = False,
) -> Response:
    """The statement as a file to save: CSV, Beancount or JSON (as the API exports it)."""
    if refused := _refused(request, user):
        return refused
    try:
        with db.transaction(engine) as session:
            made = reports.export(
                session,
                me=settings.node_id or "",
                period=period,
                kind=kind,
                names=names,
                now=clock(),
                decimal_comma=decimal_comma,
            )
    except TopmatchError as e:
        return error_page(request, e, user=user)
    headers = {"Content-Disposition": f'attachment; filename="{made.filename}"'}
    return Response(made.content, media_type=made.media_type, headers=headers)


@router.get("/financien/{period}/afrekening/{counterparty}.html", response_model=None)
async def statement_html(
    period: str,
    counterparty: str,
    request: Request,
    user: WebUser,
    settings: SettingsDep,
    names: BureauNames,
    federation: FederationDep,
) -> Response:
    """The printable Dutch statement with one counterparty, shown in the browser."""
    if refused := _refused(request, user):
        return refused
    try:
        html = await reports.statement_html(
            federation,
            me=settings.node_id or "",
            period=period,
            counterparty=counterparty,
            names=names,
        )
    except TopmatchError as e:
        return error_page(request, e, user=user)
    filename = f"afrekening-{period}-{counterparty}.html"
    headers = {
        "Content-Disposition": f'inline; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)
