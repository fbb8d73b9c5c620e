"""Exports of a settlement statement: canonical JSON, CSV, a Beancount journal and HTML. Pure.

Every export is a function of the :class:`~topmatch.settlement.schemas.Statement` (and the
bureau display names passed in), so the same statement always gives the same bytes: no
clock, no locale, no I/O beyond reading the packaged HTML template.

- :func:`to_json`: the statement's RFC 8785 canonical bytes, the form that is hashed.
- :func:`to_csv`: one row per line for an accountant's import; ``;``-separated (the Dutch
  spreadsheet convention), optionally with decimal commas.
- :func:`to_beancount`: a Beancount v3 double-entry journal of the period, with ``balance``
  assertions that make ``bean-check`` verify the statement's totals against its lines.
- :func:`to_html`: a standalone, printable Dutch statement for one counterparty.

Amounts are integer euro cents throughout; :func:`euros` and :func:`eurobedrag` format them
with integer arithmetic only.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Final

import jinja2

from topmatch.ledger.canonical import canonical
from topmatch.settlement.schemas import (
    CounterpartySection,
    Excluded,
    Line,
    LineType,
    NettingProposal,
    Statement,
)

__all__ = [
    "CSV_HEADER",
    "SOORT",
    "VAT_PAYABLE",
    "VAT_RECEIVABLE",
    "account_component",
    "creditor_account",
    "datum",
    "debtor_account",
    "eurobedrag",
    "euros",
    "to_beancount",
    "to_csv",
    "to_html",
    "to_json",
]

_CENTS_PER_EURO: Final = 100
_PLACEMENT_PREFIX: Final = 12
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Control characters (newlines included) never reach a Beancount string or comment.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: A spreadsheet reads a cell starting with one of these as a formula (OWASP: CSV injection).
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")

_MAANDEN: Final = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)

#: The Dutch label of each line type, as the HTML statement shows it.
SOORT: Final[Mapping[LineType, str]] = {
    "placement.started": "Plaatsing (start)",
    "placement.retained": "Plaatsing duurzaam (na 6 maanden)",
    "placement.adjusted": "Correctie",
    "placement.voided": "Terugboeking",
    "handover.completed": "Overdracht cliënt",
    "licence.charged": "Licentie trainingsmethode",
}

#: The income or expense account (below ``Income:Topmatch`` / ``Expenses:Topmatch``) of
#: each line type; a reversal or correction of a placement stays with placement fees.
_CATEGORY: Final[Mapping[LineType, str]] = {
    "placement.started": "Plaatsingsfees",
    "placement.retained": "Plaatsingsfees",
    "placement.adjusted": "Plaatsingsfees",
    "placement.voided": "Plaatsingsfees",
    "handover.completed": "Overdrachten",
    "licence.charged": "Licenties",
}

_STATUS: Final = {"voided": "vervallen", "disputed": "betwist"}
_RECEIVABLE: Final = "te_ontvangen"
_PAYABLE: Final = "te_betalen"

VAT_PAYABLE: Final = "Liabilities:BTW:Verschuldigd"
VAT_RECEIVABLE: Final = "Assets:BTW:Voorbelasting"


# --- amounts and dates -----------------------------------------------------------------


def euros(cents: int, *, decimal_comma: bool = False) -> str:
    """Cents as plain euros with two decimals: 123456 -> ``1234.56`` (or ``1234,56``),
    -5 -> ``-0.05``. No thousands separator, no currency sign."""
    whole, fraction = divmod(abs(cents), _CENTS_PER_EURO)
    sign = "-" if cents < 0 else ""
    separator = "," if decimal_comma else "."
    return f"{sign}{whole}{separator}{fraction:02d}"


def eurobedrag(cents: int) -> str:
    """Cents as a Dutch amount: 123456 -> ``€ 1.234,56``, -5 -> ``€ -0,05``
    (CLDR ``nl``: dot thousands separator, decimal comma, sign after the euro sign)."""
    whole, fraction = divmod(abs(cents), _CENTS_PER_EURO)
    sign = "-" if cents < 0 else ""
    grouped = f"{whole:,}".replace(",", ".")
    return f"€ {sign}{grouped},{fraction:02d}"


def datum(day: date) -> str:
    """A date in Dutch, independent of the system locale: ``1 oktober 2026``."""
    return f"{day.day} {_MAANDEN[day.month - 1]} {day.year}"


def _name(names: Mapping[str, str], node: str) -> str:
    return names.get(node, node)


# --- JSON ------------------------------------------------------------------------------


def to_json(statement: Statement) -> bytes:
    """The statement's RFC 8785 canonical bytes (what its SHA-256 is taken over)."""
    return canonical(statement.model_dump(mode="json"))


# --- CSV -------------------------------------------------------------------------------

CSV_HEADER: Final = (
    "periode",
    "regel",
    "datum",
    "tegenpartij",
    "tegenpartij_naam",
    "richting",
    "soort",
    "plaatsing",
    "overeenkomst",
    "bedrag_excl_btw",
    "btw",
    "totaal",
    "status",
)


def to_csv(
    statement: Statement,
    *,
    names: Mapping[str, str] | None = None,
    decimal_comma: bool = False,
) -> str:
    """One row per line: per counterparty (in statement order) its receivables, then its
    payables, then the excluded lines of every counterparty with their state.

    Separated by ``;`` always; ``regel`` is the ledger entry id, ``soort`` the line type
    code, ``plaatsing`` the full placement entry id. Excluded rows carry only the amount
    excluding VAT. A display name that a spreadsheet would read as a formula is prefixed
    with ``'``.
    """
    names = names or {}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for section in statement.counterparties:
        name = _cell_text(_name(names, section.counterparty))
        for direction, lines in ((_RECEIVABLE, section.receivables), (_PAYABLE, section.payables)):
            writer.writerows(
                _csv_line(statement.period, line, section.counterparty, name, direction)
                + _csv_amounts(line, decimal_comma=decimal_comma)
                + ["geboekt"]
                for line in lines
            )
    for section in statement.counterparties:
        name = _cell_text(_name(names, section.counterparty))
        writer.writerows(
            _csv_excluded(statement, item, section.counterparty, name, decimal_comma=decimal_comma)
            for item in section.excluded
        )
    return out.getvalue()


def _csv_line(
    period: str, line: Line | Excluded, counterparty: str, name: str, direction: str
) -> list[str]:
    agreement = line.agreement_version if isinstance(line, Line) else None
    return [
        period,
        line.entry_id,
        line.date.isoformat(),
        counterparty,
        name,
        direction,
        line.type,
        line.placement or "",
        agreement or "",
    ]


def _csv_amounts(line: Line, *, decimal_comma: bool) -> list[str]:
    return [
        euros(line.amount_cents, decimal_comma=decimal_comma),
        euros(line.vat_cents, decimal_comma=decimal_comma),
        euros(line.total_cents, decimal_comma=decimal_comma),
    ]


def _csv_excluded(
    statement: Statement, item: Excluded, counterparty: str, name: str, *, decimal_comma: bool
) -> list[str]:
    direction = _RECEIVABLE if item.payee == statement.node else _PAYABLE
    return [
        *_csv_line(statement.period, item, counterparty, name, direction),
        euros(item.amount_cents, decimal_comma=decimal_comma),
        "",
        "",
        _STATUS[item.state],
    ]


def _cell_text(text: str) -> str:
    """Free text for a spreadsheet cell, defused if it would start a formula."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


# --- Beancount -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Posting:
    account: str
    cents: int


@dataclass(frozen=True)
class _Booking:
    """One line of the statement as a Beancount transaction."""

    line: Line
    counterparty: str
    receivable: bool


def account_component(node: str) -> str:
    """A node id as a Beancount account component: ``bureau-alfa`` -> ``Bureau-alfa``.

    Node ids are lower-case letters, digits and dashes; a component must start with a
    capital or a digit and may hold letters, digits and dashes.
    """
    return node[:1].upper() + node[1:]


def debtor_account(node: str) -> str:
    return f"Assets:Debiteuren:{account_component(node)}"


def creditor_account(node: str) -> str:
    return f"Liabilities:Crediteuren:{account_component(node)}"


def to_beancount(statement: Statement, *, names: Mapping[str, str] | None = None) -> str:
    """The period as a Beancount v3 journal that ``bean-check`` accepts.

    One transaction per booked line (by date, then statement order): a receivable debits
    the counterparty's ``Assets:Debiteuren`` account with the total and credits income and
    ``Liabilities:BTW:Verschuldigd``; a payable debits expense and
    ``Assets:BTW:Voorbelasting`` and credits ``Liabilities:Crediteuren``. Accounts open on
    the period start (or the earliest line, if a line predates it). ``balance`` assertions
    on the day after the period check every counterparty account and both VAT accounts
    against the statement's totals. Excluded lines appear as comments only.

    Raises ValueError for a line whose total is not its amount plus VAT.
    """
    names = names or {}
    bookings = _bookings(statement)
    postings = [_postings(booking) for booking in bookings]
    parts = [
        _header(statement, names),
        _opens(statement, bookings, postings),
        *(
            _transaction(booking, booking_postings, names)
            for booking, booking_postings in zip(bookings, postings, strict=True)
        ),
        _excluded_comments(statement),
        _balances(statement, bookings),
    ]
    return "\n".join(part for part in parts if part)


def _bookings(statement: Statement) -> list[_Booking]:
    bookings = [
        _Booking(line, section.counterparty, receivable)
        for section in statement.counterparties
        for receivable, lines in ((True, section.receivables), (False, section.payables))
        for line in lines
    ]
    return sorted(bookings, key=lambda booking: booking.line.date)


def _postings(booking: _Booking) -> tuple[_Posting, ...]:
    line = booking.line
    if line.total_cents != line.amount_cents + line.vat_cents:
        raise ValueError(
            f"line {line.entry_id}: expected total {line.amount_cents + line.vat_cents} "
            f"(amount {line.amount_cents} + VAT {line.vat_cents}), got {line.total_cents}"
        )
    category = _CATEGORY[line.type]
    if booking.receivable:
        return (
            _Posting(debtor_account(booking.counterparty), line.total_cents),
            _Posting(f"Income:Topmatch:{category}", -line.amount_cents),
            _Posting(VAT_PAYABLE, -line.vat_cents),
        )
    return (
        _Posting(f"Expenses:Topmatch:{category}", line.amount_cents),
        _Posting(VAT_RECEIVABLE, line.vat_cents),
        _Posting(creditor_account(booking.counterparty), -line.total_cents),
    )


def _header(statement: Statement, names: Mapping[str, str]) -> str:
    title = f"Afrekening {statement.period} van {_name(names, statement.node)}"
    return (
        f"; Topmatch: afrekening {statement.period} van {statement.node}, "
        f"{statement.period_start.isoformat()} t/m {statement.period_end.isoformat()}\n"
        f"option {_bean_string('title')} {_bean_string(title)}\n"
        f'option "operating_currency" "{statement.currency}"\n'
    )


def _opens(
    statement: Statement, bookings: Sequence[_Booking], postings: Iterable[Iterable[_Posting]]
) -> str:
    # A line dated before the period (e.g. a released dispute) still needs an open account.
    opened = min([statement.period_start, *(booking.line.date for booking in bookings)])
    accounts = sorted({posting.account for group in postings for posting in group})
    return "".join(
        f"{opened.isoformat()} open {account} {statement.currency}\n" for account in accounts
    )


def _transaction(booking: _Booking, postings: Iterable[_Posting], names: Mapping[str, str]) -> str:
    line = booking.line
    name = _name(names, booking.counterparty)
    direction = "te ontvangen van" if booking.receivable else "te betalen aan"
    narration = f"{SOORT[line.type]}, {direction} {name}"
    meta = {
        "entry": line.entry_id,
        "placement": line.placement,
        "agreement": line.agreement_version,
        "reverses": line.reverses,
        "note": line.note,
    }
    text = f"{line.date.isoformat()} * {_bean_string(name)} {_bean_string(narration)}\n"
    text += "".join(
        f"  {key}: {_bean_string(value)}\n" for key, value in meta.items() if value is not None
    )
    return text + "".join(
        f"  {posting.account}  {euros(posting.cents)} EUR\n" for posting in postings
    )


def _excluded_comments(statement: Statement) -> str:
    lines = [
        f"; {item.date.isoformat()} {item.type} {euros(item.amount_cents)} EUR, "
        f"{item.payer} -> {item.payee}, {_STATUS[item.state]}: {item.entry_id}\n"
        for section in statement.counterparties
        for item in section.excluded
    ]
    if not lines:
        return ""
    return "; Niet verrekend (vervallen of betwist), niet geboekt:\n" + "".join(lines)


def _balances(statement: Statement, bookings: Sequence[_Booking]) -> str:
    after = (statement.period_end + timedelta(days=1)).isoformat()
    expected: list[tuple[str, int]] = []
    for section in statement.counterparties:
        if section.receivables:
            expected.append((debtor_account(section.counterparty), section.receivable.total_cents))
        if section.payables:
            # Beancount shows a liability's balance as negative.
            expected.append((creditor_account(section.counterparty), -section.payable.total_cents))
    if any(booking.receivable for booking in bookings):
        expected.append((VAT_PAYABLE, -statement.receivable.vat_cents))
    if any(not booking.receivable for booking in bookings):
        expected.append((VAT_RECEIVABLE, statement.payable.vat_cents))
    return "".join(
        f"{after} balance {account}  {euros(cents)} EUR\n" for account, cents in expected
    )


def _bean_string(text: str) -> str:
    """A Beancount string literal: backslash and quote escaped, control characters blanked."""
    escaped = _CONTROL.sub(" ", text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


# --- HTML ------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("topmatch.settlement", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["eurobedrag"] = eurobedrag
    environment.filters["datum"] = datum
    environment.filters["soort"] = SOORT.__getitem__
    environment.filters["kort"] = _short
    environment.filters["status"] = _STATUS.__getitem__
    return environment


def _short(entry_id: str | None) -> str:
    return entry_id[:_PLACEMENT_PREFIX] if entry_id else "–"


def to_html(
    statement: Statement,
    counterparty: str,
    *,
    names: Mapping[str, str] | None = None,
    netting: NettingProposal | None = None,
    report_sha256: str | None = None,
) -> str:
    """A standalone Dutch HTML statement between our bureau and ``counterparty``.

    The page gives one payment instruction (``<section class="betaalopdracht">``): with
    ``netting`` (of the same period) the payments across the federation that involve our
    bureau, and the bilateral net only as information; without it, the bilateral net. With
    ``report_sha256`` it shows that digest as a check number. Raises ValueError for a
    counterparty not in the statement, a netting proposal of another period, or a digest
    that is not 64 lower-case hex characters.
    """
    names = names or {}
    section = _section(statement, counterparty)
    if netting is not None and netting.period != statement.period:
        raise ValueError(
            f"netting proposal is for period {netting.period}, expected {statement.period}"
        )
    if report_sha256 is not None and not _SHA256.fullmatch(report_sha256):
        raise ValueError(
            f"report_sha256 must be 64 lower-case hex characters, got {report_sha256!r}"
        )
    ours, theirs = _name(names, statement.node), _name(names, counterparty)
    return (
        _environment()
        .get_template("statement.html.j2")
        .render(
            statement=statement,
            section=section,
            ours=ours,
            theirs=theirs,
            excluded=[
                (item, _name(names, item.payer), _name(names, item.payee))
                for item in section.excluded
            ],
            balance=_balance_text(section.net.total_cents, ours=ours, theirs=theirs),
            net=_net_text(section.net.total_cents, ours=ours, theirs=theirs),
            payments=_payments(statement.node, netting, names),
            netting=netting,
            report_sha256=report_sha256,
        )
    )


def _section(statement: Statement, counterparty: str) -> CounterpartySection:
    for section in statement.counterparties:
        if section.counterparty == counterparty:
            return section
    known = ", ".join(section.counterparty for section in statement.counterparties) or "none"
    raise ValueError(
        f"counterparty {counterparty!r} is not in the statement of {statement.node} for "
        f"{statement.period}; expected one of: {known}"
    )


def _balance_text(total_cents: int, *, ours: str, theirs: str) -> str:
    """The bilateral net as information (who has a claim on whom), never as an order to
    pay: with netting, what is paid differs from it."""
    if total_cents > 0:
        return f"{ours} heeft {eurobedrag(total_cents)} tegoed van {theirs}"
    if total_cents < 0:
        return f"{theirs} heeft {eurobedrag(-total_cents)} tegoed van {ours}"
    return "Saldo nihil: over en weer even veel"


def _net_text(total_cents: int, *, ours: str, theirs: str) -> str:
    if total_cents > 0:
        return f"{theirs} betaalt {ours} {eurobedrag(total_cents)}"
    if total_cents < 0:
        return f"{ours} betaalt {theirs} {eurobedrag(-total_cents)}"
    return "Niets te verrekenen"


def _payments(node: str, netting: NettingProposal | None, names: Mapping[str, str]) -> list[str]:
    if netting is None:
        return []
    return [
        f"{_name(names, payment.payer)} betaalt {_name(names, payment.payee)} "
        f"{eurobedrag(payment.amount_cents)}"
        for payment in netting.payments
        if node in (payment.payer, payment.payee)
    ]
