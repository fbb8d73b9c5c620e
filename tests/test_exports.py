"""Exports of a settlement statement: JSON, CSV, Beancount (checked by bean-check) and HTML."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest

from topmatch.ledger.canonical import parse_canonical
from topmatch.settlement.exports import (
    CSV_HEADER,
    eurobedrag,
    euros,
    to_beancount,
    to_csv,
    to_html,
    to_json,
)
from topmatch.settlement.schemas import (
    CounterpartySection,
    Excluded,
    Line,
    LineType,
    NettingProposal,
    Payment,
    Position,
    Statement,
    Totals,
)

ALFA, BRAVO, CHARLIE, DELTA = "bureau-alfa", "bureau-bravo", "bureau-charlie", "bureau-delta"
NAMES = {
    ALFA: "Werkpad Alfa B.V.",
    BRAVO: "Bravo Re-integratie",
    CHARLIE: "Charlie & Co",
}
BEAN_CHECK = Path(sys.executable).with_name("bean-check")
VAT_BP = 2100


def _id(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _line(
    label: str,
    day: date,
    kind: LineType,
    *,
    payer: str,
    payee: str,
    amount: int,
    placement: str | None = None,
    reverses: str | None = None,
    note: str | None = None,
) -> Line:
    vat = amount * VAT_BP // 10_000
    return Line(
        entry_id=_id(label),
        date=day,
        type=kind,
        payer=payer,
        payee=payee,
        placement=_id(placement) if placement else None,
        agreement_version="2026.1",
        reverses=_id(reverses) if reverses else None,
        amount_cents=amount,
        vat_cents=vat,
        total_cents=amount + vat,
        note=note,
    )


def _totals(lines: list[Line]) -> Totals:
    return Totals(
        amount_cents=sum(line.amount_cents for line in lines),
        vat_cents=sum(line.vat_cents for line in lines),
        total_cents=sum(line.total_cents for line in lines),
    )


def _minus(a: Totals, b: Totals) -> Totals:
    return Totals(
        amount_cents=a.amount_cents - b.amount_cents,
        vat_cents=a.vat_cents - b.vat_cents,
        total_cents=a.total_cents - b.total_cents,
    )


def _section(
    counterparty: str, receivables: list[Line], payables: list[Line], excluded: list[Excluded]
) -> CounterpartySection:
    receivable, payable = _totals(receivables), _totals(payables)
    return CounterpartySection(
        counterparty=counterparty,
        statement_sha256=_id(f"bilateral {counterparty}"),
        receivables=receivables,
        payables=payables,
        excluded=excluded,
        receivable=receivable,
        payable=payable,
        net=_minus(receivable, payable),
    )


def _statement(sections: list[CounterpartySection]) -> Statement:
    receivable = _totals([line for s in sections for line in s.receivables])
    payable = _totals([line for s in sections for line in s.payables])
    return Statement(
        format="topmatch.statement/1",
        node=ALFA,
        period="2026-Q4",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 12, 31),
        counterparties=sections,
        receivable=receivable,
        payable=payable,
        net=_minus(receivable, payable),
    )


def _bravo() -> CounterpartySection:
    receivables = [
        _line("start p1", date(2026, 10, 5), "placement.started",
              payer=BRAVO, payee=ALFA, amount=150_000, placement="p1"),
        _line("retained p0", date(2026, 11, 20), "placement.retained",
              payer=BRAVO, payee=ALFA, amount=150_000, placement="p0"),
        _line("void p1", date(2026, 12, 1), "placement.voided",
              payer=BRAVO, payee=ALFA, amount=-150_000, placement="p1",
              reverses="start p1", note="plaatsing binnen proeftijd beëindigd"),
    ]  # fmt: skip
    payables = [
        _line("handover h1", date(2026, 10, 12), "handover.completed",
              payer=ALFA, payee=BRAVO, amount=25_000),
    ]  # fmt: skip
    excluded = [
        Excluded(entry_id=_id("start p2"), date=date(2026, 11, 2), type="placement.started",
                 payer=BRAVO, payee=ALFA, placement=_id("p2"), amount_cents=150_000,
                 state="disputed"),
    ]  # fmt: skip
    return _section(BRAVO, receivables, payables, excluded)


def _charlie() -> CounterpartySection:
    receivables = [
        _line("licence l1", date(2026, 11, 3), "licence.charged",
              payer=CHARLIE, payee=ALFA, amount=40_000),
    ]  # fmt: skip
    payables = [
        _line("start p3", date(2026, 12, 10), "placement.started",
              payer=ALFA, payee=CHARLIE, amount=200_000, placement="p3"),
        _line("adjust p3", date(2026, 12, 15), "placement.adjusted",
              payer=ALFA, payee=CHARLIE, amount=-20_000, placement="p3",
              note="uren per week gecorrigeerd"),
    ]  # fmt: skip
    excluded = [
        Excluded(entry_id=_id("start p4"), date=date(2026, 10, 20), type="placement.started",
                 payer=ALFA, payee=CHARLIE, placement=_id("p4"), amount_cents=100_000,
                 state="voided"),
    ]  # fmt: skip
    return _section(CHARLIE, receivables, payables, excluded)


@pytest.fixture
def statement() -> Statement:
    return _statement([_bravo(), _charlie()])


def _netting() -> NettingProposal:
    return NettingProposal(
        format="topmatch.netting/1",
        period="2026-Q4",
        based_on=[_id("closed bravo"), _id("closed charlie")],
        positions=[
            Position(node=ALFA, net_cents=-18_150),
            Position(node=BRAVO, net_cents=-100_000),
            Position(node=CHARLIE, net_cents=18_150),
            Position(node=DELTA, net_cents=100_000),
        ],
        payments=[
            Payment(payer=ALFA, payee=CHARLIE, amount_cents=18_150),
            Payment(payer=BRAVO, payee=DELTA, amount_cents=100_000),
        ],
        method="exact",
        gross_cents=300_000,
        moved_cents=118_150,
    )


def test_the_fixture_is_consistent(statement: Statement) -> None:
    assert statement.receivable == Totals(
        amount_cents=190_000, vat_cents=39_900, total_cents=229_900
    )
    assert statement.payable == Totals(amount_cents=205_000, vat_cents=43_050, total_cents=248_050)
    assert statement.counterparties[0].net.total_cents == 151_250
    assert statement.counterparties[1].net.total_cents == -169_400


# --- euros -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "point", "comma"),
    [
        (0, "0.00", "0,00"),
        (5, "0.05", "0,05"),
        (-5, "-0.05", "-0,05"),
        (100, "1.00", "1,00"),
        (-100, "-1.00", "-1,00"),
        (123_456, "1234.56", "1234,56"),
        (-181_500, "-1815.00", "-1815,00"),
        (10**15, "10000000000000.00", "10000000000000,00"),
        (-(10**15) + 1, "-9999999999999.99", "-9999999999999,99"),
    ],
)
def test_euros(cents: int, point: str, comma: str) -> None:
    assert euros(cents) == point
    assert euros(cents, decimal_comma=True) == comma


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "€ 0,00"),
        (-5, "€ -0,05"),
        (99_999, "€ 999,99"),
        (100_000, "€ 1.000,00"),
        (181_500, "€ 1.815,00"),
        (-123_456_789, "€ -1.234.567,89"),
    ],
)
def test_eurobedrag(cents: int, text: str) -> None:
    assert eurobedrag(cents) == text


# --- JSON ------------------------------------------------------------------------------


def test_json_is_canonical_and_round_trips(statement: Statement) -> None:
    data = to_json(statement)
    assert parse_canonical(data) == json.loads(data)  # raises unless canonical
    assert Statement.model_validate_json(data) == statement
    assert to_json(Statement.model_validate_json(data)) == data


# --- CSV -------------------------------------------------------------------------------


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def _cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, fraction = text.lstrip("-").replace(",", ".").split(".")
    return sign * (int(whole) * 100 + int(fraction))


def test_csv_has_one_row_per_line_and_sums_to_the_totals(statement: Statement) -> None:
    text = to_csv(statement, names=NAMES)
    assert "\r" not in text
    header, *rows = _rows(text)
    assert tuple(header) == CSV_HEADER
    assert len(rows) == 7 + 2
    assert all(len(row) == len(CSV_HEADER) for row in rows)
    column = {name: index for index, name in enumerate(CSV_HEADER)}
    booked = [row for row in rows if row[column["status"]] == "geboekt"]
    assert [row[column["status"]] for row in rows[7:]] == ["betwist", "vervallen"]
    for direction, totals in (
        ("te_ontvangen", statement.receivable),
        ("te_betalen", statement.payable),
    ):
        mine = [row for row in booked if row[column["richting"]] == direction]
        for name, expected in (
            ("bedrag_excl_btw", totals.amount_cents),
            ("btw", totals.vat_cents),
            ("totaal", totals.total_cents),
        ):
            assert sum(_cents(row[column[name]]) for row in mine) == expected
    first = rows[0]
    assert first[: column["overeenkomst"] + 1] == [
        "2026-Q4", _id("start p1"), "2026-10-05", BRAVO, "Bravo Re-integratie",
        "te_ontvangen", "placement.started", _id("p1"), "2026.1",
    ]  # fmt: skip
    assert rows[2][column["totaal"]] == "-1815.00"
    disputed = rows[7]
    assert disputed[column["richting"]] == "te_ontvangen"
    assert disputed[column["bedrag_excl_btw"]] == "1500.00"
    assert disputed[column["btw"]] == disputed[column["totaal"]] == ""
    assert rows[8][column["richting"]] == "te_betalen"
    assert rows[8][column["tegenpartij_naam"]] == "Charlie & Co"


def test_csv_decimal_comma(statement: Statement) -> None:
    text = to_csv(statement, decimal_comma=True)
    header, *rows = _rows(text)
    totaal = header.index("totaal")
    assert rows[0][totaal] == "1815,00"
    assert rows[2][totaal] == "-1815,00"
    assert "." not in "".join(row[totaal] for row in rows)
    # without names the id stands in for the name
    assert rows[0][header.index("tegenpartij_naam")] == BRAVO
    assert to_csv(statement, decimal_comma=True) == text


def test_csv_defuses_a_name_that_is_a_formula(statement: Statement) -> None:
    text = to_csv(statement, names={BRAVO: '=HYPERLINK("http://x.example")'})
    header, *rows = _rows(text)
    assert rows[0][header.index("tegenpartij_naam")] == '\'=HYPERLINK("http://x.example")'


# --- Beancount -------------------------------------------------------------------------


def _bean_check(tmp_path: Path, journal: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "afrekening.beancount"
    path.write_text(journal, encoding="utf-8")
    return subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, check=False)


def test_beancount_passes_bean_check(statement: Statement, tmp_path: Path) -> None:
    journal = to_beancount(statement, names=NAMES)
    result = _bean_check(tmp_path, journal)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert 'option "operating_currency" "EUR"' in journal
    assert "2026-10-01 open Assets:Debiteuren:Bureau-bravo EUR" in journal
    assert "2026-10-01 open Liabilities:Crediteuren:Bureau-charlie EUR" in journal
    assert "2027-01-01 balance Assets:Debiteuren:Bureau-bravo  1815.00 EUR" in journal
    assert "2027-01-01 balance Liabilities:Crediteuren:Bureau-charlie  -2178.00 EUR" in journal
    assert f'  entry: "{_id("void p1")}"' in journal
    assert f'  reverses: "{_id("start p1")}"' in journal
    for account in (
        "Income:Topmatch:Plaatsingsfees",
        "Income:Topmatch:Licenties",
        "Expenses:Topmatch:Plaatsingsfees",
        "Expenses:Topmatch:Overdrachten",
        "Liabilities:BTW:Verschuldigd",
        "Assets:BTW:Voorbelasting",
    ):
        assert f" open {account} EUR" in journal
    assert journal.count(" * ") == 7
    assert to_beancount(statement, names=NAMES) == journal


def test_beancount_books_a_line_dated_before_the_period(tmp_path: Path) -> None:
    # A start fee released from a dispute is booked now, under its own (earlier) date.
    released = _line("start p5", date(2026, 9, 15), "placement.started",
                     payer=CHARLIE, payee=ALFA, amount=150_000, placement="p5",
                     note="vrijgegeven na geschil")  # fmt: skip
    statement = _statement([_bravo(), _section(CHARLIE, [released], [], [])])
    journal = to_beancount(statement)
    result = _bean_check(tmp_path, journal)
    assert result.returncode == 0, result.stderr
    assert "2026-09-15 open Assets:Debiteuren:Bureau-charlie EUR" in journal
    assert "2027-01-01 balance Assets:Debiteuren:Bureau-charlie  1815.00 EUR" in journal


def test_beancount_assertions_are_real(statement: Statement, tmp_path: Path) -> None:
    bravo, charlie = statement.counterparties
    wrong = bravo.model_copy(
        update={"receivable": Totals(amount_cents=1, vat_cents=0, total_cents=1)}
    )
    broken = statement.model_copy(update={"counterparties": [wrong, charlie]})
    result = _bean_check(tmp_path, to_beancount(broken))
    assert result.returncode != 0
    assert "Balance failed for 'Assets:Debiteuren:Bureau-bravo'" in result.stderr


def test_beancount_survives_hostile_names(statement: Statement, tmp_path: Path) -> None:
    names = {ALFA: 'Alfa "\\"', BRAVO: 'Bravo"\n2026-10-01 open Assets:Stiekem\n"'}
    journal = to_beancount(statement, names=names)
    result = _bean_check(tmp_path, journal)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "\n2026-10-01 open Assets:Stiekem" not in journal


def test_beancount_refuses_an_inconsistent_line(statement: Statement) -> None:
    bravo, charlie = statement.counterparties
    bad = bravo.receivables[0].model_copy(update={"total_cents": 1})
    broken = statement.model_copy(
        update={"counterparties": [bravo.model_copy(update={"receivables": [bad]}), charlie]}
    )
    with pytest.raises(ValueError, match="expected total 181500"):
        to_beancount(broken)


# --- HTML ------------------------------------------------------------------------------


def test_html_statement(statement: Statement) -> None:
    page = to_html(statement, BRAVO, names=NAMES)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="nl">' in page
    assert "<title>Afrekening 2026-Q4: Werkpad Alfa B.V. en Bravo Re-integratie</title>" in page
    assert "<h1>Afrekening 2026-Q4</h1>" in page
    assert "1 oktober 2026 tot en met 31 december 2026" in page
    assert "<caption>Tegoed van Bravo Re-integratie</caption>" in page
    assert "<caption>Verschuldigd aan Bravo Re-integratie</caption>" in page
    assert '<th scope="col">Datum</th>' in page
    for text in (
        "€ 1.815,00",
        "€ -1.815,00",
        "€ 302,50",
        "Plaatsing (start)",
        "Plaatsing duurzaam (na 6 maanden)",
        "Terugboeking",
        "Overdracht cliënt",
        "plaatsing binnen proeftijd beëindigd",
        _id("p1")[:12],
        "betwist",
        "Bravo Re-integratie betaalt Werkpad Alfa B.V. € 1.512,50",
    ):
        assert text in page
    assert _id("p1") not in page
    assert "verrekening over alle bureaus" not in page
    assert "Controlegetal" not in page
    assert "http" not in page  # no external assets
    assert "<link" not in page
    assert "<script" not in page


def test_html_we_pay_and_nothing_to_settle(statement: Statement) -> None:
    page = to_html(statement, CHARLIE, names=NAMES)
    assert "Werkpad Alfa B.V. betaalt Charlie &amp; Co € 1.694,00" in page
    assert "vervallen" in page
    assert "Licentie trainingsmethode" in page
    assert "Correctie" in page
    empty = _section(DELTA, [], [], [])
    quiet = _statement([empty])
    page = to_html(quiet, DELTA)
    assert "Niets te verrekenen" in page
    assert "Geen regels in deze periode." in page
    assert "<table>" in page


def test_html_netting_and_check_number(statement: Statement) -> None:
    digest = hashlib.sha256(to_json(statement)).hexdigest()
    page = to_html(statement, BRAVO, names=NAMES, netting=_netting(), report_sha256=digest)
    assert "Betaling na verrekening over alle bureaus</h2>" in page
    assert "Werkpad Alfa B.V. betaalt Charlie &amp; Co € 181,50" in page
    assert "betaalt bureau-delta" not in page  # a payment that does not involve us
    assert "Controlegetal (SHA-256)" in page
    assert digest in page


def _instructions(page: str) -> tuple[list[str], str]:
    """The payment instruction sections of a statement page, and the page without them."""
    found = re.findall(r'<section class="betaalopdracht".*?</section>', page, flags=re.S)
    rest = re.sub(r'<section class="betaalopdracht".*?</section>', "", page, flags=re.S)
    return found, rest


def test_a_statement_says_once_what_to_pay_to_whom(statement: Statement) -> None:
    for counterparty in (BRAVO, CHARLIE):
        for netting in (None, _netting()):
            page = to_html(statement, counterparty, names=NAMES, netting=netting)
            instructions, rest = _instructions(page)
            assert len(instructions) == 1, (counterparty, netting)
            assert "betaalt" not in rest  # the bilateral amounts are information only
            assert "Te betalen" not in rest
    netted = to_html(statement, BRAVO, names=NAMES, netting=_netting())
    (instruction,), rest = _instructions(netted)
    assert "Werkpad Alfa B.V. betaalt Charlie &amp; Co € 181,50" in instruction
    assert "Werkpad Alfa B.V. heeft € 1.512,50 tegoed van Bravo Re-integratie" in rest
    assert "dit saldo wordt niet apart betaald" in rest
    bilateral = to_html(statement, BRAVO, names=NAMES)
    (instruction,), _ = _instructions(bilateral)
    assert "Bravo Re-integratie betaalt Werkpad Alfa B.V. € 1.512,50" in instruction


def test_html_escapes_names(statement: Statement) -> None:
    evil = {BRAVO: "<script>alert(1)</script>", ALFA: '"><img src=x onerror=alert(1)>'}
    page = to_html(statement, BRAVO, names=evil, netting=_netting())
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page


def test_html_refuses_unknown_counterparty_and_other_period(statement: Statement) -> None:
    with pytest.raises(ValueError, match="bureau-delta"):
        to_html(statement, DELTA)
    with pytest.raises(ValueError, match="period 2026-Q3"):
        to_html(statement, BRAVO, netting=_netting().model_copy(update={"period": "2026-Q3"}))
    with pytest.raises(ValueError, match="report_sha256"):
        to_html(statement, BRAVO, report_sha256="not a digest")


def test_template_ships_in_the_package() -> None:
    template = files("topmatch.settlement") / "templates" / "statement.html.j2"
    assert template.is_file()
    assert "<!DOCTYPE html>" in template.read_text(encoding="utf-8")
