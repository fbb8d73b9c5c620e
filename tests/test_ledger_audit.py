"""``topmatch ledger audit``: three bureaus' real bundles checked against each other.

Each bureau's bundle is built the way a node builds it: the co-signed entries it is a
party to go through ``ledger.append`` into its own migrated SQLite database,
``ledger.checkpoint`` signs checkpoints, and ``bundle.export`` writes the folder. Every
bundle here passes ``bundle.verify`` on its own; only the comparison shows what is wrong.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.factories import agreement_document, agreement_ref, signed_agreement
from tests.fednodes import FakePeer
from topmatch import db
from topmatch.cli import main
from topmatch.ledger import audit, bundle, canonical, note
from topmatch.ledger import service as ledger
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import EntryBody, closing_entry_id, entry_id_for
from topmatch.settlement import statement as statements
from topmatch.settlement.periods import parse_period
from topmatch.settlement.schemas import FeeAgreement

START = datetime(2026, 6, 1, tzinfo=UTC)
EXPORTED = datetime(2026, 10, 3, 12, 0, tzinfo=UTC)
CLOSED = datetime(2026, 10, 2, 10, 0, tzinfo=UTC)
NODES = ("alfa", "bravo", "charlie")
DOCUMENT = agreement_document()
TERMS = FeeAgreement.model_validate_json(json.dumps(DOCUMENT))
AGREEMENT = agreement_ref(DOCUMENT)
START_FEE = 150_000  # half of the EUR 3,000 for a temporary placement (agreement_document)

Entry = dict[str, Any]


PEERS = {name: FakePeer.make(name, START) for name in NODES}


@pytest.fixture(scope="module")
def peers() -> dict[str, FakePeer]:
    return PEERS


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each bureau's database starts as a copy of it."""
    path = tmp_path_factory.mktemp("template") / "node.sqlite"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    return path


def placement(
    n: int, day: int, payer: str, payee: str, amount: int = START_FEE, summary: str = "a"
) -> EntryBody:
    introduction = f"intro-{n:04d}"
    return EntryBody.model_validate_json(
        json.dumps(
            {
                "format": "topmatch.ledger-entry/1",
                "entry_id": entry_id_for("placement.started", introduction),
                "type": "placement.started",
                "at": (datetime(2026, 7, 1, 10, tzinfo=UTC) + timedelta(days=day)).isoformat(),
                "proposer": payee,
                "payer": payer,
                "payee": payee,
                "amount_cents": amount,
                "agreement": AGREEMENT,
                "placement": {
                    "introduction_id": introduction,
                    "summary_id": "v-" + summary * 24,
                    "client_ref": "cd" * 32,
                    "start_date": "2026-09-01",
                    "contract_type": "tijdelijk",
                    "hours_per_week": 24,
                },
            }
        )
    )


def closing(
    entries: Sequence[EntryBody], a: str, b: str, *, amount: int | None = None
) -> EntryBody:
    """The settlement.closed of 2026-Q3 as a node computes it (optionally a wrong amount)."""
    made = statements.bilateral(
        entries,
        parties=(a, b),
        period=parse_period("2026-Q3"),
        agreements={(TERMS.version, AGREEMENT["sha256"]): TERMS},
    )
    return EntryBody(
        format="topmatch.ledger-entry/1",
        entry_id=closing_entry_id("2026-Q3", [a, b]),
        type="settlement.closed",
        at=CLOSED,
        proposer=a,
        payer=made.net.payer,
        payee=made.net.payee,
        amount_cents=made.net.total_cents if amount is None else amount,
        period="2026-Q3",
        statement_sha256=statements.report_sha256(made),
        reason="afrekening 2026-Q3",
    )


def signed(body: EntryBody, peers: dict[str, FakePeer]) -> Entry:
    """Both parties' signatures, the proposer's first."""
    data: Entry = json.loads(body.model_dump_json(exclude_none=True))
    other = next(iter(body.parties - {body.proposer}))
    for name in (body.proposer, other):
        peer = peers[name]
        data = canonical.sign_entry(
            data, key=peer.identity.private_key, key_id=peer.identity.key_id, party=name
        )
    return data


def federation_entries(peers: dict[str, FakePeer]) -> list[Entry]:
    """alfa-bravo: three placements and the closing of 2026-Q3; alfa-charlie and
    bravo-charlie: two placements each."""
    alfa_bravo = [
        placement(1, 1, "bravo", "alfa"),
        placement(2, 5, "alfa", "bravo"),
        placement(3, 9, "bravo", "alfa"),
    ]
    others = [
        placement(4, 2, "charlie", "alfa"),
        placement(5, 6, "alfa", "charlie"),
        placement(6, 3, "charlie", "bravo"),
        placement(7, 7, "bravo", "charlie"),
    ]
    ordered = sorted([*alfa_bravo, *others], key=lambda e: e.at)
    return [signed(e, peers) for e in [*ordered, closing(alfa_bravo, "alfa", "bravo")]]


def build(
    template: Path,
    out: Path,
    node: str,
    entries: Sequence[Entry],
    peers: dict[str, FakePeer],
    *,
    checkpoint_every: int = 2,
    exported: datetime = EXPORTED,
) -> Path:
    """``node``'s bundle of the entries it is a party to, through its own database."""
    database = out.with_suffix(".sqlite")
    shutil.copy(template, database)
    engine = db.make_engine(f"sqlite:///{database}")
    book = KeyBook(p.descriptor for p in peers.values())
    origin = ledger.log_origin(node)
    signer = note.NoteSigner(origin, peers[node].identity.private_key)
    mine = [e for e in entries if node in (e["payer"], e["payee"])]
    with db.transaction(engine) as session:
        for n, entry in enumerate(mine, 1):
            ledger.append(session, entry, me=node, book=book, now=exported, check_age=False)
            if n % checkpoint_every == 0 or n == len(mine):
                session.flush()
                ledger.checkpoint(session, signer=signer, origin=origin, now=exported)
        rows = ledger.entries(session, limit=1000)
        points = ledger.checkpoints(session)
    engine.dispose()
    parties = {node} | {r.payer for r in rows} | {r.payee for r in rows}
    bundle.export(
        out,
        owner=node,
        origin=origin,
        vkey=note.verifier_key(origin, peers[node].identity.private_key.public_key()),
        entries=[r.canonical for r in rows],
        checkpoints=[(p.size, p.note) for p in points],
        descriptors=[peers[p].descriptor for p in sorted(parties)],
        now=exported,
        agreements=[signed_agreement(DOCUMENT, *peers.values())],
    )
    anchor = [p.descriptor for p in peers.values()]
    assert bundle.verify(out, trusted=anchor).ok, bundle.verify(out, trusted=anchor).summary()
    return out


@pytest.fixture(scope="module")
def clean(
    template: Path, peers: dict[str, FakePeer], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The three bureaus' bundles of one honest federation, and the agreement folder."""
    root = tmp_path_factory.mktemp("federation")
    entries = federation_entries(peers)
    found = {node: build(template, root / node, node, entries, peers) for node in NODES}
    (root / "agreements").mkdir()
    (root / "agreements" / "2026-1.json").write_text(json.dumps(DOCUMENT))
    (root / "keys").mkdir()  # the auditor's own copies of the bureaus' descriptors
    for node, peer in peers.items():
        (root / "keys" / f"{node}.json").write_text(peer.descriptor.model_dump_json())
    return {**found, "agreements": root / "agreements", "keys": root / "keys"}


def run(*bundles: Path, agreements: Path | None = None) -> audit.AuditReport:
    trusted = [peer.descriptor for peer in PEERS.values()]
    return audit.run(list(bundles), trusted=trusted, agreements=agreements)


def kinds(report: audit.AuditReport) -> list[str]:
    return [f.kind for f in report.findings]


def test_a_clean_federation_is_consistent(clean: dict[str, Path]) -> None:
    report = run(clean["alfa"], clean["bravo"], clean["charlie"], agreements=clean["agreements"])
    assert report.findings == [], report.findings
    assert report.exit_code == audit.EXIT_CONSISTENT
    # 4 alfa-bravo entries + 2 alfa-charlie + 2 bravo-charlie, each compared once
    assert report.checked["shared_entries"] == 8
    assert report.checked["statements"] == 2  # the closing, in alfa's and in bravo's bundle
    assert report.summary().startswith("CONSISTENT: 3 bundles")


def test_statements_are_recomputed_with_the_agreements_inside_the_bundles(
    clean: dict[str, Path],
) -> None:
    # every bundle carries the signed agreements its entries name, so no --agreements needed
    report = run(clean["alfa"], clean["bravo"])
    assert report.exit_code == audit.EXIT_CONSISTENT
    assert report.checked["statements"] == 2
    assert not [s for s in report.skipped if s.check == "statements"]


def test_an_omission_names_the_entry_and_the_bundle_that_lacks_it(
    template: Path, peers: dict[str, FakePeer], clean: dict[str, Path], tmp_path: Path
) -> None:
    entries = federation_entries(peers)
    dropped = entries[0]  # placement 1, bravo pays alfa: the first entry of both logs
    lacking = build(template, tmp_path / "bravo", "bravo", entries[1:], peers)
    report = run(clean["alfa"], lacking, clean["charlie"], agreements=clean["agreements"])
    assert report.exit_code == audit.EXIT_FINDINGS
    (omission,) = [f for f in report.findings if f.kind == "omission"]
    assert omission.entry_id == dropped["entry_id"]
    assert omission.log == "bravo"
    assert f"missing from {lacking}" in omission.detail
    assert omission.proof[0].where == f"{clean['alfa']}/entries.jsonl line 1"
    # bravo's own statement no longer matches the closing both signed
    (recomputed,) = [f for f in report.findings if f.kind == "statement"]
    assert recomputed.log == "bravo"


def test_equivocation_shows_both_versions(
    template: Path, peers: dict[str, FakePeer], clean: dict[str, Path], tmp_path: Path
) -> None:
    entries = federation_entries(peers)
    index = next(i for i, e in enumerate(entries) if e["payee"] == "charlie")
    # the same entry id, priced right, but for another opening: both versions verify alone
    other = signed(placement(5, 6, "alfa", "charlie", summary="b"), peers)
    assert other["entry_id"] == entries[index]["entry_id"]
    variant = [other if i == index else e for i, e in enumerate(entries)]
    charlie = build(template, tmp_path / "charlie", "charlie", variant, peers)
    report = run(clean["alfa"], clean["bravo"], charlie)
    (finding,) = report.findings
    assert finding.kind == "equivocation"
    assert finding.entry_id == other["entry_id"]
    first, second = finding.proof
    assert '"summary_id":"v-aaaaaaaaaaaaaaaaaaaaaaaa"' in first.text
    assert '"summary_id":"v-bbbbbbbbbbbbbbbbbbbbbbbb"' in second.text
    assert second.where.startswith(str(charlie))


def test_truncation_is_proved_by_a_checkpoint_seen_in_an_older_bundle(
    template: Path, peers: dict[str, FakePeer], clean: dict[str, Path], tmp_path: Path
) -> None:
    entries = federation_entries(peers)
    mine = [e for e in entries if "alfa" in (e["payer"], e["payee"])]
    later = EXPORTED + timedelta(days=1)
    cut = build(template, tmp_path / "alfa-cut", "alfa", mine[:3], peers, exported=later)
    report = run(clean["alfa"], cut, clean["bravo"], clean["charlie"])
    (truncation,) = [f for f in report.findings if f.kind == "truncation"]
    assert truncation.log == "alfa"
    assert f"{cut} holds 3 entries" in truncation.detail
    assert [p.where for p in truncation.proof] == [
        f"{clean['alfa']}/checkpoints/6.note",
        f"{cut}/checkpoints/3.note",
    ]
    assert truncation.proof[0].text.startswith("topmatch.ledger/alfa\n6\n")
    # the entries cut off are the counterparties' too: omissions from the current bundle
    assert {f.kind for f in report.findings} == {"truncation", "omission"}
    bundles = {b.label: b.current for b in report.bundles}
    assert bundles[str(cut)]
    assert not bundles[str(clean["alfa"])]


def test_truncation_is_proved_by_a_checkpoint_a_counterparty_witnessed(
    template: Path, peers: dict[str, FakePeer], clean: dict[str, Path], tmp_path: Path
) -> None:
    entries = federation_entries(peers)
    mine = [e for e in entries if "alfa" in (e["payer"], e["payee"])]
    cut = build(template, tmp_path / "alfa-cut", "alfa", mine[:4], peers)
    witness = tmp_path / "charlie"
    shutil.copytree(clean["charlie"], witness)
    (witness / "witnessed" / "alfa").mkdir(parents=True)
    shutil.copy(clean["alfa"] / "checkpoints" / "6.note", witness / "witnessed" / "alfa")
    report = run(cut, witness)
    truncation = next(f for f in report.findings if f.kind == "truncation")
    assert truncation.proof[0].where == f"{witness}/witnessed/alfa/6.note"


def test_a_forked_log_is_proved_by_both_signed_notes(
    template: Path, peers: dict[str, FakePeer], clean: dict[str, Path], tmp_path: Path
) -> None:
    entries = federation_entries(peers)
    mine = [e for e in entries if "alfa" in (e["payer"], e["payee"])]
    reordered = [mine[1], mine[0], *mine[2:]]  # the same entries, history rewritten
    later = EXPORTED + timedelta(days=1)
    forked = build(
        template,
        tmp_path / "alfa-fork",
        "alfa",
        reordered,
        peers,
        checkpoint_every=3,
        exported=later,
    )
    report = run(clean["alfa"], forked)
    forks = [f for f in report.findings if f.kind == "fork"]
    assert forks
    assert {f.kind for f in report.findings} == {"fork"}
    same_size = next(f for f in forks if "at size 6 with different roots" in f.detail)
    assert sorted(p.where for p in same_size.proof) == [
        f"{clean['alfa']}/checkpoints/6.note",
        f"{forked}/checkpoints/6.note",
    ]
    for proof in same_size.proof:
        assert proof.text.startswith("topmatch.ledger/alfa\n6\n")
        assert "\n\n\u2014 topmatch.ledger/alfa " in proof.text  # the owner's signature line
    prefix = next(f for f in forks if "is not a prefix" in f.detail)
    assert prefix.proof[0].where == f"{forked}/checkpoints/3.note"


def test_a_closing_that_does_not_match_its_statement_is_a_finding(
    template: Path, peers: dict[str, FakePeer], clean: dict[str, Path], tmp_path: Path
) -> None:
    *entries, right = federation_entries(peers)
    pair = [_body(e) for e in entries if {e["payer"], e["payee"]} == {"alfa", "bravo"}]
    wrong = [
        *entries,
        signed(closing(pair, "alfa", "bravo", amount=right["amount_cents"] - 1), peers),
    ]
    alfa = build(template, tmp_path / "alfa", "alfa", wrong, peers)
    bravo = build(template, tmp_path / "bravo", "bravo", wrong, peers)
    report = run(alfa, bravo, agreements=clean["agreements"])
    assert kinds(report) == ["statement", "statement"]
    assert {f.log for f in report.findings} == {"alfa", "bravo"}
    assert "recomputed from the entries" in report.findings[0].detail


def _body(entry: Entry) -> EntryBody:
    return EntryBody.model_validate_json(
        json.dumps({k: v for k, v in entry.items() if k != "signatures"})
    )


def test_a_bundle_that_fails_verify_and_a_forged_witnessed_note_are_findings(
    clean: dict[str, Path], peers: dict[str, FakePeer], tmp_path: Path
) -> None:
    tampered = tmp_path / "bravo"
    shutil.copytree(clean["bravo"], tampered)
    _change_amount(tampered)
    witness = tmp_path / "charlie"
    shutil.copytree(clean["charlie"], witness)
    (witness / "witnessed" / "alfa").mkdir(parents=True)
    forged = note.Checkpoint(ledger.log_origin("alfa"), 9, b"\x07" * 32).checkpoint_text()
    charlie_signer = note.NoteSigner(
        ledger.log_origin("alfa"), peers["charlie"].identity.private_key
    )
    (witness / "witnessed" / "alfa" / "9.note").write_bytes(
        note.sign_note(forged, [charlie_signer])
    )
    report = run(clean["alfa"], tampered, witness)
    invalid = [f for f in report.findings if f.kind == "invalid"]
    assert any(f.log == "bravo" and "ledger verify" in f.detail for f in invalid)
    assert any(f.log == "alfa" and "witnessed/alfa/9.note" in f.detail for f in invalid)
    assert "truncation" not in kinds(report)  # an unverified note proves nothing


def _change_amount(folder: Path) -> None:
    entries = folder / "entries.jsonl"
    changed = entries.read_bytes().replace(b'"amount_cents":150000', b'"amount_cents":150009', 1)
    entries.write_bytes(changed)


def test_cli_exit_codes_and_json(
    clean: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundles = [str(clean["alfa"]), str(clean["bravo"]), str(clean["charlie"])]
    argv = ["ledger", "audit", *bundles, "--trusted-keys", str(clean["keys"])]
    assert main([*argv, "--agreements", str(clean["agreements"])]) == 0
    assert "CONSISTENT: 3 bundles" in capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == audit.FORMAT
    assert data["exit_code"] == 0
    assert [b["owner"] for b in data["bundles"]] == list(NODES)
    assert main([*argv, str(tmp_path / "nothing")]) == 2
    assert "unreadable" in capsys.readouterr().err
    bad = tmp_path / "alfa"
    shutil.copytree(clean["alfa"], bad)
    _change_amount(bad)
    anchor = ["--trusted-keys", str(clean["keys"])]
    assert main(["ledger", "audit", str(bad), str(clean["bravo"]), *anchor]) == 1
    assert "1. invalid (alfa)" in capsys.readouterr().out
