"""Statements from the ledger alone: deterministic, the same bytes on every node.

A money entry (a placement's start or retention fee, an adjustment, a handover, a
licence) becomes a *line* of the period holding its Amsterdam date, unless its placement
is voided or disputed at the end of that period: then it is *excluded*, listed with that
state. What happens later is booked later, never by changing a past period:

- a placement disputed at the end of the line's period is held back; the line is booked
  in the first later period at whose end the dispute is resolved ("vrijgegeven na
  geschil"), or never when the placement is voided first;
- a placement voided after its lines were booked gets a reversal line (minus the amount
  and minus the VAT of each booked line) in the period of the void.

All of it is decided per period of the statement's own rhythm (quarters for ``2026-Q4``,
months for ``2026-11``); a federation settles in one rhythm. Two bureaus compute the same
:class:`BilateralStatement` from the entries they both signed, so its SHA-256 is what a
``settlement.closed`` entry names.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from topmatch.ledger import canonical
from topmatch.ledger.schemas import MONEY_TYPES, EntryBody
from topmatch.settlement import agreement as pricing
from topmatch.settlement.periods import Period, local_date, period_of
from topmatch.settlement.schemas import (
    BILATERAL_FORMAT,
    STATEMENT_FORMAT,
    BilateralStatement,
    CounterpartySection,
    Excluded,
    FeeAgreement,
    Line,
    Net,
    NettingProposal,
    Statement,
    Totals,
)

AgreementKey = tuple[str, str]
State = Literal["open", "disputed", "voided"]
STATE_EVENTS = frozenset({"placement.disputed", "placement.resolved", "placement.voided"})
RELEASED = "vrijgegeven na geschil"
REVERSAL = "terugboeking"


class StatementError(ValueError):
    """The ledger holds something a statement cannot price."""


def report_sha256(model: BilateralStatement | Statement | NettingProposal) -> str:
    """SHA-256 of the RFC 8785 bytes of a statement: the number finance compares."""
    return hashlib.sha256(canonical.canonical(model.model_dump(mode="json"))).hexdigest()


@dataclass
class _Placement:
    """One placement's entries, in ledger order (date, then entry id)."""

    money: list[EntryBody] = field(default_factory=list)
    states: list[EntryBody] = field(default_factory=list)

    def state_before(self, end: date) -> State:
        state: State = "open"
        for event in self.states:
            if local_date(event.at) >= end:
                break
            if event.type == "placement.voided":
                return "voided"
            if event.type == "placement.disputed":
                state = "disputed"
            elif event.type == "placement.resolved":
                state = "open"
        return state

    def resolved_in(self, period: Period) -> date:
        """The day of the last resolution within ``period``."""
        days = [
            local_date(e.at)
            for e in self.states
            if e.type == "placement.resolved" and local_date(e.at) in period
        ]
        return max(days, default=period.start)

    def void(self) -> EntryBody | None:
        return next((e for e in self.states if e.type == "placement.voided"), None)


@dataclass
class _Books:
    """What one period's statement collects."""

    period: Period
    agreements: Mapping[AgreementKey, FeeAgreement]
    lines: list[Line] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)

    def same_rhythm(self, day: date) -> Period:
        return period_of(day, quarterly="Q" in self.period.name)

    def line(self, entry: EntryBody, placement: str | None, note: str | None = None) -> Line:
        if entry.agreement is None:
            raise StatementError(f"entry {entry.entry_id} names no fee agreement")
        key = (entry.agreement.version, entry.agreement.sha256)
        terms = self.agreements.get(key)
        if terms is None:
            raise StatementError(
                f"entry {entry.entry_id} is priced under agreement {key[0]} ({key[1][:12]}), "
                "which this node does not hold"
            )
        vat = pricing.vat(entry.amount_cents, terms.vat_rate_bp)
        return Line(
            entry_id=entry.entry_id,
            date=local_date(entry.at),
            type=entry.type,  # type: ignore[arg-type] # a money type, checked by the caller
            payer=entry.payer,
            payee=entry.payee,
            placement=placement,
            agreement_version=terms.version,
            amount_cents=entry.amount_cents,
            vat_cents=vat,
            total_cents=entry.amount_cents + vat,
            note=note,
        )

    def exclude(self, entry: EntryBody, placement: str | None, state: State) -> None:
        assert state != "open"  # noqa: S101
        self.excluded.append(
            Excluded(
                entry_id=entry.entry_id,
                date=local_date(entry.at),
                type=entry.type,  # type: ignore[arg-type]
                payer=entry.payer,
                payee=entry.payee,
                placement=placement,
                amount_cents=entry.amount_cents,
                state=state,
            )
        )

    def standalone(self, entry: EntryBody) -> None:
        if local_date(entry.at) in self.period:
            self.lines.append(self.line(entry, None))

    def placement(self, placement_id: str, group: _Placement) -> None:
        void = group.void()
        for entry in group.money:
            own = self.same_rhythm(local_date(entry.at))
            if own.start > self.period.start:
                continue
            booked = self._booked_in(group, own)
            if booked == self.period:
                if booked == own:
                    self.lines.append(self.line(entry, placement_id))
                else:  # booked on the day the dispute ended
                    released = self.line(entry, placement_id, RELEASED)
                    day = group.resolved_in(booked)
                    self.lines.append(released.model_copy(update={"date": day}))
            elif booked is None and self._listed(own, group, void):
                self.exclude(entry, placement_id, group.state_before(self.period.end))
            elif booked is not None and void is not None and local_date(void.at) in self.period:
                self._reverse(entry, void, placement_id)

    def _listed(self, own: Period, group: _Placement, void: EntryBody | None) -> bool:
        """An unbooked line is listed in its own period, in every later one while its
        dispute lasts, and in the period of the void that ends it."""
        if own == self.period:
            return True
        if void is not None:
            return local_date(void.at) in self.period
        return group.state_before(self.period.end) == "disputed"

    def _booked_in(self, group: _Placement, own: Period) -> Period | None:
        """The period a money line is booked in: its own, or the first later one at whose
        end its placement is open again; None when it is not (yet) booked."""
        candidates = [own] + [
            self.same_rhythm(local_date(e.at)) for e in group.states if local_date(e.at) >= own.end
        ]
        for candidate in sorted(set(candidates)):
            if candidate.start > self.period.start:
                return None
            state = group.state_before(candidate.end)
            if state == "open":
                return candidate
            if state == "voided":
                return None
        return None

    def _reverse(self, entry: EntryBody, void: EntryBody, placement_id: str) -> None:
        original = self.line(entry, placement_id)
        self.lines.append(
            Line(
                entry_id=void.entry_id,
                date=local_date(void.at),
                type="placement.voided",
                payer=entry.payer,
                payee=entry.payee,
                placement=placement_id,
                agreement_version=original.agreement_version,
                reverses=entry.entry_id,
                amount_cents=-original.amount_cents,
                vat_cents=-original.vat_cents,
                total_cents=-original.total_cents,
                note=REVERSAL,
            )
        )


def _group(entries: Iterable[EntryBody]) -> tuple[dict[str, _Placement], list[EntryBody]]:
    placements: dict[str, _Placement] = {}
    events: list[EntryBody] = []
    standalone: list[EntryBody] = []
    for entry in sorted(entries, key=lambda e: (e.at, e.entry_id)):
        if entry.type == "placement.started":
            placements.setdefault(entry.entry_id, _Placement()).money.append(entry)
        elif entry.refers_to is not None:
            events.append(entry)
        elif entry.type in MONEY_TYPES:
            standalone.append(entry)
    for event in events:
        group = placements.get(event.refers_to or "")
        if group is None:
            raise StatementError(
                f"entry {event.entry_id} refers to {event.refers_to}, "
                "which is not a placement in this ledger"
            )
        (group.money if event.type in MONEY_TYPES else group.states).append(event)
    for group in placements.values():
        group.money.sort(key=lambda e: (e.at, e.entry_id))
    return placements, standalone


def bilateral(
    entries: Iterable[EntryBody],
    *,
    parties: tuple[str, str],
    period: Period,
    agreements: Mapping[AgreementKey, FeeAgreement],
) -> BilateralStatement:
    """Everything between two bureaus in ``period``, from the entries both signed."""
    a, b = sorted(parties)
    pair = frozenset((a, b))
    relevant = [
        e
        for e in entries
        if e.parties == pair and e.type != "settlement.closed" and local_date(e.at) < period.end
    ]
    placements, standalone = _group(relevant)
    books = _Books(period=period, agreements=agreements)
    for placement_id in sorted(placements):
        books.placement(placement_id, placements[placement_id])
    for entry in standalone:
        books.standalone(entry)
    return BilateralStatement(
        format=BILATERAL_FORMAT,
        period=period.name,
        parties=[a, b],
        lines=sorted(books.lines, key=lambda x: (x.date, x.entry_id, x.reverses or "")),
        excluded=sorted(books.excluded, key=lambda x: (x.date, x.entry_id)),
        net=_net(books.lines, a, b),
    )


def _net(lines: Sequence[Line], a: str, b: str) -> Net:
    """Set the two directions off: positive sums mean ``b`` pays ``a``."""
    amount = sum(x.amount_cents if x.payee == a else -x.amount_cents for x in lines)
    vat = sum(x.vat_cents if x.payee == a else -x.vat_cents for x in lines)
    total = amount + vat
    if total > 0 or (total == 0 and amount > 0):
        return Net(payer=b, payee=a, amount_cents=amount, vat_cents=vat, total_cents=total)
    return Net(payer=a, payee=b, amount_cents=-amount, vat_cents=-vat, total_cents=-total)


def _totals(lines: Iterable[Line]) -> Totals:
    return _sum(
        Totals(amount_cents=x.amount_cents, vat_cents=x.vat_cents, total_cents=x.total_cents)
        for x in lines
    )


def _minus(x: Totals, y: Totals) -> Totals:
    return Totals(
        amount_cents=x.amount_cents - y.amount_cents,
        vat_cents=x.vat_cents - y.vat_cents,
        total_cents=x.total_cents - y.total_cents,
    )


def _sum(items: Iterable[Totals]) -> Totals:
    values = list(items)
    return Totals(
        amount_cents=sum(t.amount_cents for t in values),
        vat_cents=sum(t.vat_cents for t in values),
        total_cents=sum(t.total_cents for t in values),
    )


def section(node: str, statement: BilateralStatement) -> CounterpartySection:
    """A bilateral statement seen from ``node``'s side."""
    counterparty = next(p for p in statement.parties if p != node)
    receivables = [x for x in statement.lines if x.payee == node]
    payables = [x for x in statement.lines if x.payer == node]
    receivable, payable = _totals(receivables), _totals(payables)
    return CounterpartySection(
        counterparty=counterparty,
        statement_sha256=report_sha256(statement),
        receivables=receivables,
        payables=payables,
        excluded=list(statement.excluded),
        receivable=receivable,
        payable=payable,
        net=_minus(receivable, payable),
    )


def for_node(
    entries: Sequence[EntryBody],
    *,
    node: str,
    period: Period,
    agreements: Mapping[AgreementKey, FeeAgreement],
) -> tuple[Statement, dict[str, BilateralStatement]]:
    """Our statement of ``period``, with the bilateral statement per counterparty."""
    by_counterparty: dict[str, list[EntryBody]] = defaultdict(list)
    for entry in entries:
        if node in entry.parties:
            other = next(iter(entry.parties - {node}))
            by_counterparty[other].append(entry)
    bilaterals: dict[str, BilateralStatement] = {}
    for counterparty in sorted(by_counterparty):
        made = bilateral(
            by_counterparty[counterparty],
            parties=(node, counterparty),
            period=period,
            agreements=agreements,
        )
        if made.lines or made.excluded:
            bilaterals[counterparty] = made
    sections = [section(node, made) for made in bilaterals.values()]
    receivable = _sum(s.receivable for s in sections)
    payable = _sum(s.payable for s in sections)
    statement = Statement(
        format=STATEMENT_FORMAT,
        node=node,
        period=period.name,
        period_start=period.start,
        period_end=period.last_day,
        counterparties=sections,
        receivable=receivable,
        payable=payable,
        net=_minus(receivable, payable),
    )
    return statement, bilaterals
