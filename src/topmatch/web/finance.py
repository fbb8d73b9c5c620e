"""Finance pages: a period's statement per counterparty, closing it, netting, downloads.

No settlement rule lives here. Closing a period calls the ledger's propose use case
(``ledger.proposals.close_period``) and kicks the outbox after the commit, as the API
does; the other pages call the settlement API's own handlers as plain functions
(``get_statement``, ``get_netting``, ``export_statement``, ``statement_html``), with the
session user for their role parameter, and render what they return; a refusal
(``TopmatchError``) is shown, not raised. The downloads are web routes because a
browser sends the session cookie, never the API's bearer header.
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
from topmatch.errors import InputError, TopmatchError
from topmatch.federation import outbox
from topmatch.ledger import flows, proposals
from topmatch.ledger.flows import ProposalResult
from topmatch.settlement import api as settlement_api
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


def statement_context(request: Request, user: User, period: str) -> dict[str, Any]:
    """What the statement page shows: the API's statement view of ``period``, or the
    reason there is none (``problem``)."""
    state = request.app.state
    now: datetime = state.clock()
    context: dict[str, Any] = {
        **period_choices(now),
        "period": period,
        "view": None,
        "problem": None,
        "closable": _is_over(period, now),
        "names": settlement_api.names(request, state.settings),
        "me": state.settings.node_id or "",
        "soort": LINE_TYPES,
    }
    try:
        with db.transaction(state.engine) as session:
            context["view"] = settlement_api.get_statement(
                period, session, state.settings, now, user
            )
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
    context = statement_context(request, user, period)
    context["closing"] = None if closing is None else closing_rows(closing)
    context["closing_problem"] = closing_problem
    status = 422 if context["problem"] is not None else 200
    return render(request, "finance.html", context, user=user, status_code=status)


@router.get("/financien", response_class=HTMLResponse)
def finance_page(
    request: Request, user: WebUser, periode: PeriodText = "", maand: PeriodText = ""
) -> HTMLResponse:
    """The statement of the chosen period; by default the current quarter."""
    if refused := _refused(request, user):
        return refused
    chosen = (
        maand.strip()
        or periode.strip()
        or period_choices(request.app.state.clock())["current_quarter"]
    )
    return _statement_page(request, user, chosen)


@router.post("/financien/{period}/afsluiten", response_class=HTMLResponse)
async def close_period(
    period: str, request: Request, user: WebUser, _: CsrfChecked, tasks: BackgroundTasks
) -> HTMLResponse:
    """Propose the co-signed closing to every counterparty not closed yet (queued in the
    outbox, delivered right after this answer), then show the statement with each
    proposal and where its message stands."""
    if refused := _refused(request, user):
        return refused
    state = request.app.state
    results: list[ProposalResult] | None = None
    problem: TopmatchError | None = None

    def close() -> list[ProposalResult]:
        me = flows.proposer_from(state.settings, node=state.identity, secret=state.publisher.secret)
        with db.transaction(state.engine) as session:
            return proposals.close_period(session, period=period, proposer=me, now=state.clock())

    try:
        results = await run_in_threadpool(close)
    except TopmatchError as e:
        problem = e
    for peer in {r.counterparty for r in results or [] if r.status == "pending"}:
        if peer:
            tasks.add_task(outbox.kick, state.courier, peer)
    return await run_in_threadpool(
        _statement_page, request, user, period, closing=results, closing_problem=problem
    )


@router.get("/financien/{period}/verrekening", response_class=HTMLResponse)
async def netting_page(period: str, request: Request, user: WebUser) -> HTMLResponse:
    """The netting proposal of a period: it asks every active peer for its closings."""
    if refused := _refused(request, user):
        return refused
    settings = request.app.state.settings
    try:
        view = await settlement_api.get_netting(period, request, settings, user)
    except TopmatchError as e:
        return error_page(request, e, user=user)
    context = {
        "period": period,
        "netting": view,
        "names": settlement_api.names(request, settings),
        "me": settings.node_id or "",
    }
    return render(request, "finance_netting.html", context, user=user)


@router.get("/financien/{period}/export.{kind}", response_model=None)
def export(
    period: str,
    kind: ExportKind,
    request: Request,
    user: WebUser,
    decimal_comma: bool = False,
) -> Response:
    """The statement as a file to save: CSV, Beancount or JSON (the API's own export)."""
    if refused := _refused(request, user):
        return refused
    state = request.app.state
    try:
        with db.transaction(state.engine) as session:
            return settlement_api.export_statement(
                period, kind, request, session, state.settings, state.clock(), user, decimal_comma
            )
    except TopmatchError as e:
        return error_page(request, e, user=user)


@router.get("/financien/{period}/afrekening/{counterparty}.html", response_model=None)
async def statement_html(
    period: str, counterparty: str, request: Request, user: WebUser
) -> Response:
    """The printable Dutch statement with one counterparty, shown in the browser."""
    if refused := _refused(request, user):
        return refused
    try:
        response = await settlement_api.statement_html(
            period, counterparty, request, request.app.state.settings, user
        )
    except TopmatchError as e:
        return error_page(request, e, user=user)
    filename = f"afrekening-{period}-{counterparty}.html"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
