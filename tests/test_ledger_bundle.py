"""Bundles that prove every fee (issue 14, item 2): one real bundle of alfa's log with
every kind of money entry, the fee agreement they name and a witness's cosignature; each
fee rule broken on its own; the witness quorum; and a property test over single mutations
of any file, each rejected with a reason naming the file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.factories import FrozenClock, agreement_document, agreement_ref, signed_agreement
from tests.fednodes import FakePeer
from topmatch import db
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import bundle, canonical, merkle, note
from topmatch.ledger import service as ledger
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import (
    entry_id_for,
    handover_entry_id,
    licence_entry_id,
)
from topmatch.roster import edit
from topmatch.roster import verify as roster_verify
from topmatch.roster.models import ALL_PURPOSES, Purpose, Roster, RosterKey, RosterMember

ORIGIN = ledger.log_origin("alfa")
PLACED = entry_id_for("placement.started", "intro-0001")
PLACED_2 = entry_id_for("placement.started", "intro-0002")
RETAINED = entry_id_for("placement.retained", f"{PLACED}:6m", PLACED)
VOIDED = entry_id_for("placement.voided", f"{PLACED_2}:1", PLACED_2)
Entry = dict[str, Any]


class Federation:
    """alfa (the log's owner), bravo (its counterparty), charlie (the third member of the
    fee agreement, and alfa's witness)."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.alfa = FakePeer.make("alfa", clock())
        self.bravo = FakePeer.make("bravo", clock())
        self.charlie = FakePeer.make("charlie", clock())
        self.peers = {p.node_id: p for p in (self.alfa, self.bravo, self.charlie)}

    @property
    def trusted(self) -> list[PeerDescriptor]:
        return [p.descriptor for p in self.peers.values()]

    def rosters(
        self, *, fork: bool = False, purposes: dict[str, list[Purpose]] | None = None
    ) -> list[Roster]:
        """Version 1 of the federation's roster (threshold 2, signed by alfa and bravo) and
        version 2 (renewed, signed by all three); ``fork``: another version 2 (threshold 3);
        ``purposes``: what a member's key may sign, when not everything."""
        members = [
            RosterMember(
                node_id=p.node_id,
                name=p.descriptor.name,
                base_url=str(p.descriptor.base_url),
                keys=[
                    RosterKey(
                        key_id=k.key_id,
                        public_key=k.public_key,
                        valid_from=k.valid_from,
                        purposes=(purposes or {}).get(p.node_id, list(ALL_PURPOSES)),
                    )
                    for k in p.descriptor.keys
                ],
            )
            for p in self.peers.values()
        ]
        now = self.clock()
        first = edit.genesis(
            federation="Test",
            members=members,
            threshold=2,
            issued_at=now,
            expires=now + timedelta(days=365),
        )
        first = self._roster_signed(first, "alfa", "bravo")
        second = edit.propose(first, issued_at=now, threshold=3 if fork else None)
        return [first, self._roster_signed(second, "alfa", "bravo", "charlie")]

    def _roster_signed(self, roster: Roster, *names: str) -> Roster:
        for name in names:
            key = self.peers[name].identity.private_key
            roster = roster_verify.sign(roster, node_id=name, key=key)
        return roster

    def entry(self, **fields: Any) -> Entry:
        return {
            "format": "topmatch.ledger-entry/1",
            "at": self.clock().isoformat(),
            "currency": "EUR",
            "agreement": agreement_ref(),
            **fields,
        }

    def sign(self, entry: Entry) -> Entry:
        for party in sorted({entry["payer"], entry["payee"]}):
            peer = self.peers[party]
            entry = canonical.sign_entry(
                entry, key=peer.identity.private_key, key_id=peer.identity.key_id, party=party
            )
        return entry

    def entries(self) -> list[Entry]:
        """Every kind of money entry, each priced as agreement_document() says."""
        return [
            self.entry(
                entry_id=PLACED,
                type="placement.started",
                proposer="alfa",
                payer="bravo",
                payee="alfa",
                amount_cents=150_000,  # half of 3,000 euro, tijdelijk
                placement=_placement("intro-0001", "tijdelijk", 24),
            ),
            self.entry(
                entry_id=PLACED_2,
                type="placement.started",
                proposer="bravo",
                payer="alfa",
                payee="bravo",
                amount_cents=225_000,  # half of 4,500 euro, vast 24 hours or more
                placement=_placement("intro-0002", "vast", 32),
            ),
            self.entry(
                entry_id=RETAINED,
                type="placement.retained",
                refers_to=PLACED,
                proposer="alfa",
                payer="bravo",
                payee="alfa",
                amount_cents=150_000,
                reason="na zes maanden nog aan het werk",
            ),
            self.entry(
                entry_id=handover_entry_id("alfa", "dossier-17"),
                type="handover.completed",
                proposer="alfa",
                payer="alfa",  # the handing bureau pays
                payee="bravo",
                amount_cents=50_000,
                handover={
                    "reference": "dossier-17",
                    "from_bureau": "alfa",
                    "client_ref": "ef" * 32,
                    "handed_over_on": "2026-11-20",
                },
            ),
            self.entry(
                entry_id=licence_entry_id("bravo", "cursus-3"),
                type="licence.charged",
                proposer="bravo",
                payer="bravo",
                payee="alfa",  # the method's owner
                amount_cents=37_500,
                licence={
                    "reference": "cursus-3",
                    "method": "baanbrekers-training",
                    "participants": 3,
                },
            ),
            {
                **self.entry(
                    entry_id=VOIDED,
                    type="placement.voided",
                    refers_to=PLACED_2,
                    proposer="alfa",
                    payer="alfa",
                    payee="bravo",
                    amount_cents=0,
                    reason="niet begonnen",
                ),
                "agreement": None,
            },
        ]

    def export(
        self,
        engine: Engine,
        out: Path,
        entries: list[Entry] | None = None,
        *,
        agreement: Any = None,
        witnesses: tuple[FakePeer, ...] | None = None,
    ) -> Path:
        """alfa's log of ``entries`` (self.entries() by default), checkpoints at 2, 4 and
        6, the latest cosigned by ``witnesses`` (charlie by default), as alfa exports it."""
        book = KeyBook(self.trusted)
        signer = note.NoteSigner(ORIGIN, self.alfa.identity.private_key)
        with db.transaction(engine) as session:
            for n, entry in enumerate(entries or self.entries(), 1):
                body = {k: v for k, v in entry.items() if v is not None}
                signed = self.sign(body)
                ledger.append(
                    session, signed, me="alfa", book=book, now=self.clock(), check_age=False
                )
                if n % 2 == 0:
                    ledger.checkpoint(session, signer=signer, origin=ORIGIN, now=self.clock())
            rows = [r.canonical for r in ledger.entries(session, limit=100)]
            points = [(p.size, p.note) for p in ledger.checkpoints(session)]
        size, latest = points[-1]
        text, _ = note.split_note(latest)
        stamp = int(self.clock().timestamp())
        cosigners = (self.charlie,) if witnesses is None else witnesses
        lines = [note.cosign(text, w.node_id, w.identity.private_key, stamp) for w in cosigners]
        bundle.export(
            out,
            owner="alfa",
            origin=ORIGIN,
            vkey=note.verifier_key(ORIGIN, self.alfa.identity.private_key.public_key()),
            entries=rows,
            checkpoints=points,
            descriptors=self.trusted,
            now=self.clock(),
            agreements=[agreement or signed_agreement(None, *self.peers.values())],
            cosignatures={size: lines},
            rosters=self.rosters(),
        )
        return out


def _placement(introduction: str, contract: str, hours: int) -> dict[str, Any]:
    return {
        "introduction_id": introduction,
        "summary_id": "v-" + "a" * 24,
        "client_ref": "cd" * 32,
        "start_date": "2026-05-04",
        "contract_type": contract,
        "hours_per_week": hours,
    }


@pytest.fixture
def fed(clock: FrozenClock) -> Federation:
    return Federation(clock)


def test_a_real_bundle_proves_every_fee(fed: Federation, engine: Engine, tmp_path: Path) -> None:
    out = fed.export(engine, tmp_path / "bundle")
    report = bundle.verify(out, trusted=fed.trusted, witness_quorum=1)
    assert report.ok, report.failure
    assert report.summary() == "OK: 6 entries, 3 checkpoints, parties alfa, bravo"
    assert (report.agreements, report.witnesses, report.anchored) == (1, ["charlie"], True)
    name = f"agreements/{agreement_ref()['sha256']}.json"
    assert b'"signatures":[{"key_id":' in (out / name).read_bytes()  # signed, canonical


def _change(index: int, **fields: Any) -> Callable[[list[Entry]], list[Entry]]:
    def change(entries: list[Entry]) -> list[Entry]:
        entries[index] = {**entries[index], **fields}
        return entries

    return change


def _other_agreement() -> dict[str, str]:
    return agreement_ref(agreement_document(version="2026-2"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _change(0, amount_cents=150_001),
            "entries.jsonl (fees): entry 0 (line 1): amount 150001 cents, agreement 2026-1 "
            "prices 150000 cents",
        ),
        (
            _change(2, payer="alfa", payee="bravo"),
            "entries.jsonl (payer/payee): entry 2 (line 3): alfa pays bravo, but in its "
            "placement bravo pays alfa",
        ),
        (
            _change(2, refers_to="ab" * 32),
            f"entries.jsonl (references): entry 2 (line 3): refers to {'ab' * 32}, which is no "
            "earlier placement.started entry",
        ),
        (
            _change(2, amount_cents=149_999),
            "entries.jsonl (fees): entry 2 (line 3): amount 149999 cents is not the retention "
            "part of the fee: 150000 cents",
        ),
        (
            _change(
                0,
                placement={**_placement("intro-0001", "tijdelijk", 24), "start_date": "2026-06-15"},
            ),
            "entries.jsonl (fees): entry 2 (line 3): a retention is confirmed after 6 months: "
            "not before 2026-12-15",
        ),
        (
            _change(3, payer="bravo", payee="alfa", proposer="bravo"),
            "entries.jsonl (payer/payee): entry 3 (line 4): under agreement 2026-1 the handing "
            "bureau pays a handover: expected payer alfa, got bravo",
        ),
        (
            _change(
                4,
                entry_id=licence_entry_id("alfa", "cursus-3"),
                payer="alfa",
                payee="bravo",
                proposer="alfa",
            ),
            "entries.jsonl (payer/payee): entry 4 (line 5): method baanbrekers-training belongs "
            "to alfa, not bravo",
        ),
        (
            _change(4, proposer="alfa"),
            "entries.jsonl (payer/payee): entry 4 (line 5): a licence.charged entry is "
            "proposed by the payer (bravo)",
        ),
        (
            _change(0, agreement=_other_agreement()),
            "entries.jsonl (agreement): entry 0 (line 1): names agreement 2026-2",
        ),
        (
            _change(0, agreement={**agreement_ref(), "version": "2026-9"}),
            "entries.jsonl (agreement): entry 0 (line 1): names version 2026-9, the agreement "
            "is 2026-1",
        ),
        (
            _change(0, at="2028-01-01T09:00:00+00:00"),
            "entries.jsonl (agreement): entry 0 (line 1): agreement 2026-1 is not valid on "
            "2028-01-01",
        ),
    ],
)
def test_each_fee_rule_broken_alone_is_caught(
    fed: Federation,
    engine: Engine,
    tmp_path: Path,
    change: Callable[[list[Entry]], list[Entry]],
    message: str,
) -> None:
    out = fed.export(engine, tmp_path / "bundle", change(fed.entries()))
    report = bundle.verify(out, trusted=fed.trusted)
    assert not report.ok
    assert message in (report.failure or ""), report.failure


def test_the_agreement_is_proved_by_its_members_signatures(
    fed: Federation, engine: Engine, tmp_path: Path
) -> None:
    unsigned = signed_agreement(None, fed.alfa, fed.bravo)  # charlie has not signed yet
    out = fed.export(engine, tmp_path / "bundle", agreement=unsigned)
    report = bundle.verify(out, trusted=fed.trusted)
    assert report.check == "agreement signatures"
    assert "not in force: signed by 2 of 3 parties: missing charlie" in (report.failure or "")
    # a forged agreement signature by a key the bundle swapped in is refused with the anchor
    impostor = FakePeer.make("charlie", fed.clock())
    forged = signed_agreement(None, fed.alfa, fed.bravo, impostor)
    out = fed.export(engine, tmp_path / "forged", agreement=forged)
    report = bundle.verify(out, trusted=fed.trusted)
    assert report.file is not None
    assert report.file.startswith("agreements/")
    assert "key" in (report.failure or "")


def _truncate(out: Path) -> None:
    """The owner's rollback: drop the latest checkpoint and the entries after the previous
    one, and fix the manifest up. Nothing inside the bundle contradicts it."""
    (out / "checkpoints" / "6.note").unlink()
    lines = (out / "entries.jsonl").read_bytes().splitlines(keepends=True)
    (out / "entries.jsonl").write_bytes(b"".join(lines[:4]))
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.update(entries=4, checkpoints=2)
    (out / "manifest.json").write_bytes(canonical.canonical(manifest) + b"\n")


def test_a_rolled_back_log_is_caught_only_with_a_witness_quorum(
    fed: Federation, engine: Engine, tmp_path: Path
) -> None:
    out = fed.export(engine, tmp_path / "bundle")
    _truncate(out)
    assert bundle.verify(out, trusted=fed.trusted).ok  # the limit of one bundle alone
    report = bundle.verify(out, trusted=fed.trusted, witness_quorum=1)
    assert (report.file, report.check) == ("checkpoints/4.note", "witness quorum")
    assert "cosigned by 0 of 1 required witnesses" in (report.failure or "")


def test_the_quorum_counts_distinct_trusted_witnesses_but_not_the_owner(
    fed: Federation, engine: Engine, tmp_path: Path
) -> None:
    out = fed.export(engine, tmp_path / "bundle", witnesses=(fed.charlie, fed.bravo))
    assert bundle.verify(out, trusted=fed.trusted, witness_quorum=2).witnesses == [
        "bravo",
        "charlie",
    ]
    assert not bundle.verify(out, trusted=fed.trusted, witness_quorum=3).ok
    own = fed.export(engine, tmp_path / "own", witnesses=(fed.alfa,))
    report = bundle.verify(own, trusted=fed.trusted, witness_quorum=1)
    assert report.check == "signature"  # the owner's cosignature key is no witness's
    # a cosignature by a witness nobody trusts is refused, not skipped
    stranger = FakePeer.make("delta", fed.clock())
    odd = fed.export(engine, tmp_path / "stranger", witnesses=(stranger,))
    report = bundle.verify(odd, trusted=fed.trusted)
    assert (report.file, report.check) == ("checkpoints/6.note", "signature")
    assert "no trusted key" in (report.failure or "")


# --- every single change to any file is rejected ----------------------------------------

Mutation = Callable[[Path, st.DataObject, Federation], str]


def _files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def _flip(out: Path, data: st.DataObject, fed: Federation) -> str:
    """Flip one or more bits of one byte of any file but the manifest's export time."""
    name = data.draw(st.sampled_from(_files(out)), label="file")
    raw = bytearray((out / name).read_bytes())
    at = data.draw(st.integers(0, len(raw) - 1), label="byte")
    stamp = raw.find(b'"exported_at"')
    if name == "manifest.json" and stamp <= at < raw.find(b",", stamp):
        at = raw.find(b'"entries"')  # the export time is the one unauthenticated field
    raw[at] ^= data.draw(st.integers(1, 255), label="mask")
    (out / name).write_bytes(bytes(raw))
    return name


def _rewrite_entries(out: Path, change: Callable[[list[bytes]], list[bytes]]) -> str:
    lines = (out / "entries.jsonl").read_bytes().splitlines(keepends=True)
    (out / "entries.jsonl").write_bytes(b"".join(change(lines)))
    return "entries.jsonl"


def _field(out: Path, data: st.DataObject, fed: Federation) -> str:
    """Change one field of one entry (re-canonicalised; its signatures then break)."""
    lines = (out / "entries.jsonl").read_bytes().splitlines()
    index = data.draw(st.integers(0, len(lines) - 1), label="entry")
    entry = json.loads(lines[index])
    name = data.draw(
        st.sampled_from(sorted(k for k in entry if k not in {"format", "signatures"})),
        label="field",
    )
    entry[name] = data.draw(
        st.one_of(st.integers(-5, 10**6), st.text(max_size=8), st.none()), label="value"
    )
    if entry[name] == json.loads(lines[index]).get(name):
        entry[name] = "changed"
    lines[index] = canonical.canonical(entry)
    return _rewrite_entries(out, lambda _: [line + b"\n" for line in lines])


def _amount(out: Path, data: st.DataObject, fed: Federation) -> str:
    """Change an amount and sign again with both parties' keys: only the pricing catches it."""
    lines = (out / "entries.jsonl").read_bytes().splitlines()
    money = [i for i, line in enumerate(lines) if json.loads(line)["amount_cents"]]
    index = data.draw(st.sampled_from(money), label="entry")
    entry = json.loads(lines[index])
    entry["amount_cents"] += data.draw(st.sampled_from([-100, -1, 1, 100]), label="delta")
    del entry["signatures"]
    lines[index] = canonical.canonical(fed.sign(entry))
    return _rewrite_entries(out, lambda _: [line + b"\n" for line in lines])


def _manifest(out: Path, data: st.DataObject, fed: Federation) -> str:
    manifest = json.loads((out / "manifest.json").read_text())
    name = data.draw(st.sampled_from(["entries", "checkpoints", "owner", "origin", "note_key"]))
    value = manifest[name]
    manifest[name] = (
        value + data.draw(st.sampled_from([-1, 1]))
        if isinstance(value, int)
        else ("bravo" if name == "owner" else value + "x")
    )
    (out / "manifest.json").write_bytes(canonical.canonical(manifest) + b"\n")
    return "manifest.json"


def _entries_op(out: Path, data: st.DataObject, fed: Federation) -> str:
    op = data.draw(st.sampled_from(["remove", "add", "duplicate", "reorder", "crlf", "eol"]))
    n = len((out / "entries.jsonl").read_bytes().splitlines())
    i = data.draw(st.integers(0, n - 1), label="index")
    j = (i + 1) % n
    changes: dict[str, Callable[[list[bytes]], list[bytes]]] = {
        "remove": lambda lines: lines[:i] + lines[i + 1 :],
        "add": lambda lines: [*lines, _extra_entry(fed)],
        "duplicate": lambda lines: [*lines[: i + 1], lines[i], *lines[i + 1 :]],
        "reorder": lambda lines: _swapped(lines, i, j),
        "crlf": lambda lines: [*lines[:i], lines[i][:-1] + b"\r\n", *lines[i + 1 :]],
        "eol": lambda lines: [*lines[:-1], lines[-1][:-1]],
    }
    return _rewrite_entries(out, changes[op])


def _swapped(lines: list[bytes], i: int, j: int) -> list[bytes]:
    lines[i], lines[j] = lines[j], lines[i]
    return lines


def _extra_entry(fed: Federation) -> bytes:
    """A well-signed, well-priced placement the bundle never had."""
    entry = fed.entry(
        entry_id=entry_id_for("placement.started", "intro-0099"),
        type="placement.started",
        proposer="alfa",
        payer="bravo",
        payee="alfa",
        amount_cents=150_000,
        placement=_placement("intro-0099", "tijdelijk", 24),
    )
    return canonical.canonical(fed.sign(entry)) + b"\n"


def _checkpoint_op(out: Path, data: st.DataObject, fed: Federation) -> str:
    folder = out / "checkpoints"
    size = data.draw(st.sampled_from([2, 4, 6]), label="checkpoint")
    path = folder / f"{size}.note"
    op = data.draw(st.sampled_from(["remove", "rename", "replace"]), label="op")
    if op == "remove":
        path.unlink()
        return "checkpoints/"
    if op == "rename":
        path = path.rename(folder / f"{size + 1}.note")
    else:  # a new checkpoint over other entries, properly signed by the owner
        leaves = [merkle.leaf_hash(bytes([n])) for n in range(size)]
        text = note.Checkpoint(ORIGIN, size, merkle.root(leaves)).checkpoint_text()
        signer = note.NoteSigner(ORIGIN, fed.alfa.identity.private_key)
        path.write_bytes(note.sign_note(text, [signer]))
    return f"checkpoints/{path.name}"


def _key_op(out: Path, data: st.DataObject, fed: Federation) -> str:
    node = data.draw(st.sampled_from(["alfa", "bravo", "charlie", "delta"]), label="node")
    impostor = FakePeer.make(node, fed.clock())
    path = out / "keys" / f"{node}.json"
    if path.exists() and data.draw(st.booleans(), label="add a key"):
        own = PeerDescriptor.model_validate_json(path.read_bytes())
        descriptor = own.model_copy(update={"keys": [*own.keys, impostor.descriptor.keys[0]]})
    else:
        descriptor = impostor.descriptor
    path.write_bytes(canonical.canonical(descriptor.model_dump(mode="json")) + b"\n")
    return f"keys/{node}.json"


def _agreement_op(out: Path, data: st.DataObject, fed: Federation) -> str:
    path = next((out / "agreements").iterdir())
    document = json.loads(path.read_bytes())
    op = data.draw(st.sampled_from(["fee", "signature", "rename", "remove"]), label="op")
    if op == "remove":
        path.unlink()
        return "agreements/"
    if op == "rename":
        path.rename(path.with_name("0" * 64 + ".json"))
        return "agreements/" + "0" * 64 + ".json"
    if op == "fee":
        document["handover_fee_cents"] += 1
    else:
        document["signatures"] = document["signatures"][1:]
    path.write_bytes(canonical.canonical(document) + b"\n")
    return f"agreements/{path.name}"


def _roster_op(out: Path, data: st.DataObject, fed: Federation) -> str:
    """A roster version changed after signing, its signatures cut, renamed or removed.
    (Another version 2 validly signed by the members is a fork: only a pinned roster
    exposes it, test_keys_anchored_in_the_roster_the_auditor_pinned.)"""
    version = data.draw(st.sampled_from([1, 2]), label="version")
    path = out / "roster" / f"{version}.json"
    op = data.draw(st.sampled_from(["threshold", "signature", "remove", "rename"]), label="op")
    if op == "remove":
        path.unlink()
        return "roster"
    if op == "rename":
        path.rename(path.with_name("3.json"))
        return "roster/3.json"
    roster = fed.rosters()[version - 1]
    if op == "signature":
        roster = roster.model_copy(update={"signatures": roster.signatures[:1]})
    else:  # the threshold lowered after signing
        signed = roster.signed.model_copy(update={"threshold": 1})
        roster = roster.model_copy(update={"signed": signed})
    path.write_bytes(roster_verify.dump_roster(roster))
    return "roster"


MUTATIONS: dict[str, Mutation] = {
    "flip": _flip,
    "field": _field,
    "amount": _amount,
    "manifest": _manifest,
    "entries": _entries_op,
    "checkpoint": _checkpoint_op,
    "key": _key_op,
    "agreement": _agreement_op,
    "roster": _roster_op,
}


def test_every_single_mutation_of_any_file_is_rejected_naming_the_file(
    fed: Federation, engine: Engine, tmp_path: Path
) -> None:
    real_bundle = fed.export(engine, tmp_path / "original")
    assert bundle.verify(real_bundle, trusted=fed.trusted, witness_quorum=1).ok

    @settings(max_examples=150, deadline=None, database=None)
    @given(kind=st.sampled_from(sorted(MUTATIONS)), data=st.data())
    def mutated_is_rejected(kind: str, data: st.DataObject) -> None:
        out = tmp_path / "mutated"
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(real_bundle, out)
        changed = MUTATIONS[kind](out, data, fed)
        report = bundle.verify(out, trusted=fed.trusted)
        assert not report.ok, f"{kind} of {changed} passed"
        assert report.file is not None
        assert report.check is not None
        assert report.failure is not None
        assert report.failure.startswith(f"{report.file} ({report.check}): ")
        assert changed in report.failure, f"{kind} of {changed}: {report.failure}"

    mutated_is_rejected()


def test_keys_anchored_in_the_roster_the_auditor_pinned(
    fed: Federation, engine: Engine, tmp_path: Path
) -> None:
    """The auditor pins version 1; the bundle's version 2 follows from it and anchors the
    keys. The bundle's own roster/ anchors nothing alone, and a fork of version 2 fails."""
    out = fed.export(engine, tmp_path / "bundle")
    first, second = fed.rosters()
    report = bundle.verify(out, rosters=[first], witness_quorum=1)
    assert report.ok, report.failure
    assert (report.anchored, report.roster) == (True, 2)
    assert bundle.verify(out, rosters=[second]).ok  # a later pin: version 2 itself
    assert bundle.verify(out).check == "anchor"  # roster/ in the bundle is no anchor

    forked = fed.rosters(fork=True)[1]
    report = bundle.verify(out, rosters=[first, forked])
    assert (report.file, report.check) == ("roster", "anchor")
    assert "two different rosters claim version 2" in (report.failure or "")

    # a roster whose members are other keys: the bundle's keys/ are not the roster's
    stranger = Federation(fed.clock)
    report = bundle.verify(out, rosters=stranger.rosters()[:1])
    assert report.check == "anchor"


def test_a_key_verifies_only_what_the_roster_lists_it_for(
    fed: Federation, engine: Engine, tmp_path: Path
) -> None:
    """Keys per purpose (issue 14, item 4): a key the roster lists for HTTP and ledger only
    cosigns nothing; one listed for HTTP and witnessing signs no entry."""
    out = fed.export(engine, tmp_path / "bundle")
    no_witness = {"charlie": [Purpose.http, Purpose.ledger]}
    (pinned,) = fed.rosters(purposes=no_witness)[:1]
    assert bundle.verify(out, rosters=[pinned]).check == "anchor"  # not the bundle's chain
    assert bundle.verify(out, rosters=fed.rosters()[:1], witness_quorum=1).ok

    folder = tmp_path / "roster-purposes"
    shutil.copytree(out, folder)
    for roster in fed.rosters(purposes=no_witness):
        path = folder / "roster" / f"{roster.signed.version}.json"
        path.write_bytes(roster_verify.dump_roster(roster))
    report = bundle.verify(folder, rosters=[pinned], witness_quorum=1)
    assert (report.ok, report.file) == (False, "checkpoints/6.note"), report.failure

    no_ledger = {"bravo": [Purpose.http, Purpose.witness]}
    shutil.rmtree(folder)
    shutil.copytree(out, folder)
    for roster in fed.rosters(purposes=no_ledger):
        path = folder / "roster" / f"{roster.signed.version}.json"
        path.write_bytes(roster_verify.dump_roster(roster))
    report = bundle.verify(folder, rosters=fed.rosters(purposes=no_ledger)[:1])
    assert (report.ok, report.file, report.check) == (False, "entries.jsonl", "entries")
