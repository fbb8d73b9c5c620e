"""``topmatch agreement ...`` and ``topmatch settle``: fee agreements and statements from
the command line, for the admin and for finance."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from topmatch import db
from topmatch.cli import _peer_client, _registry, _session, app, err, out, state
from topmatch.cli.formats import count
from topmatch.clock import shifted_clock
from topmatch.federation import outbox
from topmatch.federation.transport import PeerClient
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import flows, proposals
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.models import PendingProposal
from topmatch.publishing.service import derive_publishing_secret
from topmatch.referrals import service as referrals
from topmatch.settings import Settings
from topmatch.settlement import agreement as pricing
from topmatch.settlement import exchange, exports
from topmatch.settlement import service as settlement
from topmatch.settlement import statement as statements
from topmatch.settlement.schemas import NettingProposal, Statement

agreement_app = typer.Typer(
    help="The fee agreement every member bureau signs.", no_args_is_help=True
)
app.add_typer(agreement_app, name="agreement")


def _show(record: Any) -> None:
    document = settlement.document(record)
    signed = settlement.signers(record)
    missing = sorted(set(document.members) - set(signed))
    status = (
        "[green]in force[/]" if record.in_force else f"[yellow]waiting for {', '.join(missing)}[/]"
    )
    out.print(f"[bold]{escape(document.version)}[/] {escape(document.title)}: {status}")
    out.print(
        f"  valid {document.valid_from} to {document.valid_to or 'open end'}, "
        f"sha256 {record.sha256}"
    )
    out.print(f"  members: {', '.join(document.members)}; signed by: {', '.join(signed)}")
    table = Table("contract", "hours", "fee (EUR)", "start", "retention")
    terms = settlement.terms(record)
    for band in terms.placement_fees:
        start = pricing.start_part(terms, band.fee_cents)
        table.add_row(
            band.contract_type.value,
            f"{band.min_hours}-{band.max_hours}",
            exports.euros(band.fee_cents),
            exports.euros(start),
            exports.euros(band.fee_cents - start),
        )
    out.print(table)


def _clock(settings: Settings) -> Any:
    return shifted_clock(settings.clock_offset_days)


@agreement_app.command("propose")
def agreement_propose(
    document: Annotated[
        Path,
        typer.Argument(
            help="The agreement as JSON (schemas/fee-agreement.schema.json).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
) -> None:
    """Propose a new agreement version, signed by this bureau; peers fetch it on their next
    ledger round and their admins sign it with `topmatch agreement sign`."""
    settings = state.settings()
    node = identity.load_identity(settings)
    with _session(settings) as session:
        record = settlement.propose_agreement(
            session,
            document.read_bytes(),
            me=settings.node_id or "",
            node=node,
            now=_clock(settings)(),
        )
        _show(record)


@agreement_app.command("sign")
def agreement_sign(version: Annotated[str, typer.Argument(help="e.g. 2026-1")]) -> None:
    """Sign an agreement version on behalf of this bureau."""
    settings = state.settings()
    node = identity.load_identity(settings)
    with _session(settings) as session:
        record = settlement.sign_agreement(
            session, version, me=settings.node_id or "", node=node, now=_clock(settings)()
        )
        _show(record)


@agreement_app.command("show")
def agreement_show(
    version: Annotated[str | None, typer.Argument(help="One version; all when left out.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The signed document as JSON.")] = False,
) -> None:
    """The agreements this node holds and who signed them."""
    settings = state.settings()
    with _session(settings) as session:
        records = (
            [settlement.get_agreement(session, version)]
            if version
            else list(settlement.agreements(session))
        )
        for record in records:
            if as_json:
                out.print_json(settlement.document(record).model_dump_json())
            else:
                _show(record)
        if not records:
            out.print("no fee agreements yet: `topmatch agreement propose FILE`")


@asynccontextmanager
async def _peers(
    settings: Settings,
) -> AsyncIterator[tuple[PeerClient, list[PeerDescriptor], KeyBook]]:
    registry = _registry(settings)
    own = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    async with _peer_client(settings, registry, _clock(settings)) as client:
        yield client, registry.active(), KeyBook([own, *registry.active()])


async def _netting(settings: Settings, period: str) -> NettingProposal:
    with _session(settings) as session:
        own = settlement.closed_entries(session)
    async with _peers(settings) as (client, peers, book):
        theirs, results = await exchange.closed_entries(
            period=period, peers=peers, client=client, book=book
        )
    for r in results:
        if not r.ok:  # the detail names the peer and its address (describe_peer_problem)
            err.print(f"[yellow]niet meegeteld: {escape(r.detail or '')}[/]")
    return settlement.netting([*own, *theirs], period_name=period)


async def _close(settings: Settings, period: str) -> list[flows.ProposalResult]:
    """Queue the closings in the outbox (one transaction), then run one delivery step to
    the counterparties; what it does not deliver the node's worker delivers later."""
    clock = _clock(settings)
    secret = derive_publishing_secret(identity.load_cardbox_secret(settings))
    me = flows.proposer_from(settings, node=identity.load_identity(settings), secret=secret)
    with _session(settings) as session:
        queued = proposals.close_period(session, period=period, proposer=me, now=clock())
    engine = db.make_engine(settings.resolved_database_url())
    try:
        async with _peers(settings) as (client, _, book):
            courier = outbox.Courier(
                engine=engine,
                client=client,
                registry=_registry(settings),
                clock=clock,
                on_delivered=referrals.ON_DELIVERED,
                on_answer=flows.answer_hooks(me=me.me, book=lambda: book),
            )
            await outbox.deliver(courier, peers={r.counterparty or "" for r in queued})
        with db.transaction(engine) as session:
            rows = [session.get(PendingProposal, r.entry_id) for r in queued]
            return [flows.result_of(session, row) for row in rows if row is not None]
    finally:
        engine.dispose()


def _print_statement(made: Statement, report: str, names: dict[str, str]) -> None:
    """The statement for finance, in Dutch with Dutch amounts (the exports use the same
    words and formatter: settlement.exports)."""
    table = Table(
        "tegenpartij",
        "te ontvangen",
        "te betalen",
        "saldo (incl. btw)",
        "niet meegeteld",
        title=f"Afrekening {made.period} ({exports.datum(made.period_start)} t/m "
        f"{exports.datum(made.period_end)})",
    )
    for s in made.counterparties:
        table.add_row(
            names.get(s.counterparty, s.counterparty),
            exports.eurobedrag(s.receivable.total_cents),
            exports.eurobedrag(s.payable.total_cents),
            exports.eurobedrag(s.net.total_cents),
            count(len(s.excluded), "boeking", "boekingen") if s.excluded else "",
        )
    table.add_row(
        "[bold]totaal[/]",
        exports.eurobedrag(made.receivable.total_cents),
        exports.eurobedrag(made.payable.total_cents),
        exports.eurobedrag(made.net.total_cents),
        "",
    )
    out.print(table)
    out.print(f"controlegetal van deze afrekening (sha256): {report}")


#: What a closing proposal's status means, for the finance clerk.
CLOSING_STATUS = {
    "countersigned": "[green]medeondertekend[/]",
    "pending": "[yellow]nog niet beantwoord (de node blijft het proberen)[/]",
    "refused": "[red]geweigerd[/]",
}


def _print_closings(results: list[flows.ProposalResult]) -> None:
    for result in results:
        status = CLOSING_STATUS.get(result.status, escape(result.status))
        out.print(
            f"afsluiting {result.entry_id[:12]}: {status} {escape(result.error or '')}".rstrip()
        )


def _print_netting(proposal: NettingProposal, names: dict[str, str]) -> None:
    """After netting, the payments are what is paid; the bilateral nets above are only
    information (docs/settlement.md)."""
    pairs = count(len(proposal.based_on), "gesloten paar", "gesloten paren")
    out.print(
        f"verrekening over de federatie ({pairs}, "
        f"controlegetal {statements.report_sha256(proposal)}):"
    )
    if not proposal.payments:
        out.print("  niemand hoeft iets te betalen")
    for payment in proposal.payments:
        out.print(
            f"  {escape(names.get(payment.payer, payment.payer))} betaalt "
            f"{escape(names.get(payment.payee, payment.payee))} "
            f"{exports.eurobedrag(payment.amount_cents)}"
        )
    out.print(
        f"{count(len(proposal.payments), 'overboeking', 'overboekingen')}, samen "
        f"{exports.eurobedrag(proposal.moved_cents)} (zonder verrekening "
        f"{exports.eurobedrag(proposal.gross_cents)})"
    )


def _write(
    directory: Path,
    made: Statement,
    names: dict[str, str],
    netting: NettingProposal | None,
    report: str,
    decimal_comma: bool,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"topmatch-{made.node}-{made.period}"
    renders: list[tuple[str, Callable[[], str]]] = [
        (f"{stem}.json", lambda: exports.to_json(made).decode()),
        (f"{stem}.csv", lambda: exports.to_csv(made, names=names, decimal_comma=decimal_comma)),
        (f"{stem}.beancount", lambda: exports.to_beancount(made, names=names)),
    ]
    for section in made.counterparties:
        renders.append(
            (
                f"{stem}-{section.counterparty}.html",
                partial(
                    exports.to_html,
                    made,
                    section.counterparty,
                    names=names,
                    netting=netting,
                    report_sha256=report,
                ),
            )
        )
    files = renders
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("exports", total=len(files))
        for filename, render in files:
            (directory / filename).write_text(render())
            progress.advance(task)
    out.print(f"{count(len(files), 'bestand', 'bestanden')} geschreven naar {directory}")


@app.command("settle")
def settle(
    period: Annotated[str, typer.Option(help="A quarter like 2026-Q4 or a month like 2026-11.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write JSON, CSV, Beancount and HTML here.")
    ] = None,
    close: Annotated[
        bool, typer.Option(help="Propose the co-signed closing of the period to each counterparty.")
    ] = False,
    netting: Annotated[
        bool, typer.Option(help="Net the period across the federation (asks peers).")
    ] = False,
    decimal_comma: Annotated[bool, typer.Option(help="CSV amounts with a decimal comma.")] = False,
) -> None:
    """Our statement of a period from the ledger: per counterparty, line by line."""
    settings = state.settings()
    names = {p.node_id: p.name for p in _registry(settings).all()}
    names[settings.node_id or ""] = settings.display_name or settings.node_id or ""
    with _session(settings) as session:
        made, _ = settlement.statement(
            session, me=settings.node_id or "", period_name=period, now=_clock(settings)()
        )
    report = statements.report_sha256(made)
    _print_statement(made, report, names)
    if close:
        _print_closings(asyncio.run(_close(settings, period)))
    proposal = asyncio.run(_netting(settings, period)) if netting else None
    if proposal is not None:
        _print_netting(proposal, names)
    if out_dir is not None:
        _write(out_dir, made, names, proposal, report, decimal_comma)
