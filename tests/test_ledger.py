"""The ledger: co-signed entries appended to the Merkle log, checkpoints, the offline
bundle, and each attack the issue lists."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.factories import FrozenClock, agreement_ref, signed_agreement
from tests.fednodes import FakePeer
from topmatch import db
from topmatch.errors import ConflictError, InputError
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import bundle, canonical, merkle, note
from topmatch.ledger import service as ledger
from topmatch.ledger.errors import EntrySignatureError
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import entry_id_for

ORIGIN = ledger.log_origin("alfa")


@pytest.fixture
def alfa(clock: FrozenClock) -> FakePeer:
    return FakePeer.make("alfa", clock())


@pytest.fixture
def bravo(clock: FrozenClock) -> FakePeer:
    return FakePeer.make("bravo", clock())


@pytest.fixture
def charlie(clock: FrozenClock) -> FakePeer:
    """The third member of the fee agreement, and the witness of alfa's log."""
    return FakePeer.make("charlie", clock())


@pytest.fixture
def trusted(alfa: FakePeer, bravo: FakePeer, charlie: FakePeer) -> list[PeerDescriptor]:
    """The auditor's descriptors, obtained from the bureaus themselves."""
    return [alfa.descriptor, bravo.descriptor, charlie.descriptor]


@pytest.fixture
def book(alfa: FakePeer, bravo: FakePeer) -> KeyBook:
    return KeyBook([alfa.descriptor, bravo.descriptor])


def body(clock: FrozenClock, n: int = 1, **overrides: Any) -> dict[str, Any]:
    return {
        "format": "topmatch.ledger-entry/1",
        "entry_id": entry_id_for("placement.started", f"intro-{n:04d}"),
        "type": "placement.started",
        "at": clock().isoformat(),
        "proposer": "alfa",
        "payer": "bravo",
        "payee": "alfa",
        "amount_cents": 150_000,
        "currency": "EUR",
        "agreement": agreement_ref(),
        "placement": {
            "introduction_id": f"intro-{n:04d}",
            "summary_id": "v-" + "a" * 24,
            "client_ref": "cd" * 32,
            "start_date": "2026-05-04",
            "contract_type": "tijdelijk",
            "hours_per_week": 24,
        },
        **overrides,
    }


def cosign(entry: dict[str, Any], *signers: FakePeer) -> dict[str, Any]:
    for peer in signers:
        entry = canonical.sign_entry(
            entry, key=peer.identity.private_key, key_id=peer.identity.key_id, party=peer.node_id
        )
    return entry


def _signer(alfa: FakePeer) -> note.NoteSigner:
    return note.NoteSigner(ORIGIN, alfa.identity.private_key)


def _fill(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    bravo: FakePeer,
    book: KeyBook,
    count: int,
    *,
    checkpoint_every: int = 2,
) -> None:
    with db.transaction(engine) as session:
        for n in range(1, count + 1):
            ledger.append(
                session, cosign(body(clock, n), alfa, bravo), me="alfa", book=book, now=clock()
            )
            if n % checkpoint_every == 0 or n == count:
                ledger.checkpoint(session, signer=_signer(alfa), origin=ORIGIN, now=clock())


def _export(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    bravo: FakePeer,
    out: Path,
    *,
    charlie: FakePeer,
    witnesses: Sequence[FakePeer] = (),
) -> Path:
    """alfa's bundle: its entries and checkpoints, the latest cosigned by ``witnesses``,
    and the fee agreement signed by its three members."""
    members = {p.node_id: p for p in (alfa, bravo, charlie, *witnesses)}
    with db.transaction(engine) as session:
        entries = [e.canonical for e in ledger.entries(session, limit=10_000)]
        checkpoints = [(c.size, c.note) for c in ledger.checkpoints(session)]
    latest_size, latest = checkpoints[-1]
    text, _ = note.split_note(latest)
    cosigned = [
        note.cosign(text, w.node_id, w.identity.private_key, int(clock().timestamp()))
        for w in witnesses
    ]
    bundle.export(
        out,
        owner="alfa",
        origin=ORIGIN,
        vkey=note.verifier_key(ORIGIN, alfa.identity.private_key.public_key()),
        entries=entries,
        checkpoints=checkpoints,
        descriptors=[p.descriptor for p in members.values()],
        now=clock(),
        agreements=[signed_agreement(None, *(members[m] for m in ("alfa", "bravo", "charlie")))],
        cosignatures={latest_size: cosigned},
    )
    return out


def test_append_is_idempotent_and_conflicts_name_the_field(
    engine: Engine, clock: FrozenClock, alfa: FakePeer, bravo: FakePeer, book: KeyBook
) -> None:
    signed = cosign(body(clock), alfa, bravo)
    with db.transaction(engine) as session:
        first = ledger.append(session, signed, me="alfa", book=book, now=clock())
        again = ledger.append(session, signed, me="alfa", book=book, now=clock())
    assert (first.created, again.created, again.entry.seq) == (True, False, 0)
    changed = cosign(body(clock, amount_cents=175_000), alfa, bravo)
    with (
        pytest.raises(ConflictError, match="another amount_cents"),
        db.transaction(engine) as session,
    ):
        ledger.append(session, changed, me="alfa", book=book, now=clock())


@pytest.mark.parametrize(
    ("attack", "error", "message"),
    [
        ("one signature", EntrySignatureError, "signed by 1 of 2 parties: missing bravo"),
        ("forged countersignature", EntrySignatureError, "bravo"),
        ("amount changed after signing", EntrySignatureError, "does not verify"),
        ("not a party", InputError, r"this node \(alfa\) is not a party"),
        ("expired key", EntrySignatureError, "was not valid at"),
        ("third party signs", EntrySignatureError, "unknown party"),
        ("suspended peer", EntrySignatureError, "no descriptor of bravo"),
    ],
)
def test_invalid_entries_are_refused_and_nothing_is_appended(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    bravo: FakePeer,
    book: KeyBook,
    attack: str,
    error: type[Exception],
    message: str,
) -> None:
    signed = cosign(body(clock), alfa, bravo)
    if attack == "one signature":
        signed = cosign(body(clock), alfa)
    elif attack == "forged countersignature":
        impostor = FakePeer.make("bravo", clock())
        signed = cosign(body(clock), alfa, impostor)
    elif attack == "amount changed after signing":
        signed = {**signed, "amount_cents": 1}
    elif attack == "not a party":
        charlie = FakePeer.make("charlie", clock())
        book = KeyBook([alfa.descriptor, bravo.descriptor, charlie.descriptor])
        signed = cosign(body(clock, payee="charlie", proposer="charlie"), charlie, bravo)
    elif attack == "expired key":
        key = bravo.descriptor.keys[0].model_copy(
            update={"valid_until": clock() - timedelta(hours=1)}
        )
        book = KeyBook([alfa.descriptor, bravo.descriptor.model_copy(update={"keys": [key]})])
    elif attack == "suspended peer":  # the key book holds active peers only
        book = KeyBook([alfa.descriptor])
    elif attack == "third party signs":
        charlie = FakePeer.make("charlie", clock())
        book = KeyBook([alfa.descriptor, bravo.descriptor, charlie.descriptor])
        signed = {
            **signed,
            "signatures": [*signed["signatures"][:1], *cosign(body(clock), charlie)["signatures"]],
        }
    with pytest.raises(error, match=message), db.transaction(engine) as session:
        ledger.append(session, signed, me="alfa", book=book, now=clock())
    with db.transaction(engine) as session:
        assert ledger.entries(session) == []


def test_checkpoints_and_proofs(
    engine: Engine, clock: FrozenClock, alfa: FakePeer, bravo: FakePeer, book: KeyBook
) -> None:
    _fill(engine, clock, alfa, bravo, book, 5)
    with db.transaction(engine) as session:
        last = ledger.latest_checkpoint(session)
        assert last is not None
        assert last.size == 5
        opened = note.open_note(last.note, [_signer(alfa).verifier])
        point = note.parse_checkpoint(opened.text)
        third = ledger.entries(session)[2]
        proof = ledger.inclusion(session, entry_id=third.entry_id, size=5)
        merkle.verify_inclusion(
            leaf_hash=bytes.fromhex(third.leaf_hash),
            index=2,
            tree_size=5,
            proof=proof,
            root=point.root_hash,
        )
        old = session.get(ledger.LedgerCheckpoint, 2)
        assert old is not None
        merkle.verify_consistency(
            old_size=2,
            new_size=5,
            old_root=bytes.fromhex(old.root_hash),
            new_root=point.root_hash,
            proof=ledger.consistency(session, old_size=2, new_size=5),
        )
        again = ledger.checkpoint(session, signer=_signer(alfa), origin=ORIGIN, now=clock())
        assert again.size == 5  # nothing new: the same checkpoint


def test_bundle_verifies_offline(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    bravo: FakePeer,
    charlie: FakePeer,
    trusted: list[PeerDescriptor],
    book: KeyBook,
    tmp_path: Path,
) -> None:
    _fill(engine, clock, alfa, bravo, book, 6)
    out = _export(engine, clock, alfa, bravo, tmp_path / "bundle", charlie=charlie)
    report = bundle.verify(out, trusted=trusted)
    assert report.summary() == "OK: 6 entries, 3 checkpoints, parties alfa, bravo"
    assert report.anchored


def _tamper(out: Path, how: str) -> None:
    lines = (out / "entries.jsonl").read_bytes().splitlines(keepends=True)
    if how == "amount":
        entry = json.loads(lines[3])
        entry["amount_cents"] = 1
        lines[3] = canonical.canonical(entry) + b"\n"
    elif how == "truncated":
        lines = lines[:-2]
    elif how == "removed":
        del lines[1]
    elif how == "not canonical":
        lines[0] = json.dumps(json.loads(lines[0]), indent=1).replace("\n", " ").encode() + b"\n"
    (out / "entries.jsonl").write_bytes(b"".join(lines))


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("amount", "entries.jsonl (entries): entry 3 (line 4)"),
        ("truncated", "manifest.json (counts): says 6 entries, entries.jsonl holds 4"),
        ("removed", "manifest.json (counts): says 6 entries, entries.jsonl holds 5"),
        ("not canonical", "entries.jsonl (entries): entry 0 (line 1)"),
    ],
)
def test_tampered_bundles_are_caught_with_the_exact_entry(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    bravo: FakePeer,
    charlie: FakePeer,
    trusted: list[PeerDescriptor],
    book: KeyBook,
    tmp_path: Path,
    how: str,
    message: str,
) -> None:
    _fill(engine, clock, alfa, bravo, book, 6)
    out = _export(engine, clock, alfa, bravo, tmp_path / "bundle", charlie=charlie)
    _tamper(out, how)
    report = bundle.verify(out, trusted=trusted)
    assert not report.ok
    assert message in (report.failure or "")


def test_a_forked_checkpoint_is_caught(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    bravo: FakePeer,
    charlie: FakePeer,
    trusted: list[PeerDescriptor],
    book: KeyBook,
    tmp_path: Path,
) -> None:
    _fill(engine, clock, alfa, bravo, book, 4)
    out = _export(engine, clock, alfa, bravo, tmp_path / "bundle", charlie=charlie)
    forged = note.Checkpoint(ORIGIN, 4, b"\x07" * 32).checkpoint_text()
    (out / "checkpoints" / "4.note").write_bytes(note.sign_note(forged, [_signer(alfa)]))
    report = bundle.verify(out, trusted=trusted)
    assert "checkpoints/4.note (merkle root): expected root" in (report.failure or "")


def _manifest(out: Path, **changes: Any) -> None:
    data = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_bytes(canonical.canonical({**data, **changes}) + b"\n")


def _descriptor_bytes(descriptor: PeerDescriptor) -> bytes:
    """A descriptor as a bundle holds it: RFC 8785 canonical JSON and LF."""
    return canonical.canonical(descriptor.model_dump(mode="json")) + b"\n"


def _rewrite(out: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    lines = (out / "entries.jsonl").read_bytes().splitlines(keepends=True)
    (out / "entries.jsonl").write_bytes(b"".join(change(lines)))


def _drop(out: Path, *sizes: int) -> None:
    for size in sizes:
        (out / "checkpoints" / f"{size}.note").unlink()


def _swap(lines: list[bytes]) -> list[bytes]:
    return [lines[0], lines[2], lines[1], *lines[3:]]


#: One framing or completeness fault in a bundle of 6 entries, checkpoints 2, 4, 6.
FAULTS: dict[str, Callable[[Path], object]] = {
    "manifest count": lambda out: _manifest(out, entries=7),
    "checkpoint count": lambda out: _manifest(out, checkpoints=2),
    "renamed checkpoint": lambda out: (out / "checkpoints" / "4.note").rename(
        out / "checkpoints" / "5.note"
    ),
    "latest checkpoint removed": lambda out: (_drop(out, 6), _manifest(out, checkpoints=2)),
    "cut to the first checkpoint": lambda out: (_rewrite(out, lambda _: []), _drop(out, 4, 6)),
    "crlf": lambda out: _rewrite(out, lambda lines: [x.replace(b"\n", b"\r\n") for x in lines]),
    "no final newline": lambda out: _rewrite(out, lambda lines: [*lines[:-1], lines[-1][:-1]]),
    "empty line": lambda out: _rewrite(out, lambda lines: [*lines[:3], b"\n", *lines[3:]]),
    "stray file": lambda out: (out / "notes.txt").write_text("hello\n"),
    "stray checkpoint": lambda out: (out / "checkpoints" / "06.note").write_bytes(
        (out / "checkpoints" / "6.note").read_bytes()
    ),
    "duplicate": lambda out: (
        _rewrite(out, lambda lines: [*lines, lines[2]]),
        _manifest(out, entries=7),
    ),
    "reordered": lambda out: _rewrite(out, _swap),
    "readme": lambda out: (out / "README.md").write_text("All fine, no need to check.\n"),
}


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("manifest count", "manifest.json (counts): says 7 entries, entries.jsonl holds 6"),
        ("checkpoint count", "manifest.json (counts): says 2 checkpoints, checkpoints/ holds 3"),
        ("renamed checkpoint", "checkpoints/5.note (file name): named for tree size 5"),
        ("latest checkpoint removed", "entries.jsonl (coverage): entries 4 to 5 are under no"),
        ("cut to the first checkpoint", "manifest.json (counts): says 6 entries, entries.jsonl"),
        ("crlf", "entries.jsonl (framing): CR at byte"),
        ("no final newline", "entries.jsonl (framing): no newline after the last entry"),
        ("empty line", "entries.jsonl (framing): line 4 is empty"),
        ("stray file", "notes.txt (layout): stray file"),
        ("stray checkpoint", "checkpoints/06.note (layout): stray file"),
        ("duplicate", "entries.jsonl (entries): entry 6 (line 7): entry id"),
        ("reordered", "checkpoints/2.note (merkle root): expected root"),
        ("readme", "README.md (content)"),
    ],
)
def test_framing_and_completeness_faults_name_the_file_and_the_check(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    bravo: FakePeer,
    charlie: FakePeer,
    trusted: list[PeerDescriptor],
    book: KeyBook,
    tmp_path: Path,
    how: str,
    message: str,
) -> None:
    _fill(engine, clock, alfa, bravo, book, 6)
    out = _export(engine, clock, alfa, bravo, tmp_path / "bundle", charlie=charlie)
    FAULTS[how](out)
    report = bundle.verify(out, trusted=trusted)
    assert not report.ok
    assert message in (report.failure or ""), report.failure
    assert report.file is not None
    assert report.failure is not None
    assert report.failure.startswith(f"{report.file} ({report.check}): ")


def test_keys_are_anchored_outside_the_bundle(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    bravo: FakePeer,
    charlie: FakePeer,
    trusted: list[PeerDescriptor],
    book: KeyBook,
    tmp_path: Path,
) -> None:
    _fill(engine, clock, alfa, bravo, book, 2)
    out = _export(engine, clock, alfa, bravo, tmp_path / "bundle", charlie=charlie)
    refused = bundle.verify(out)
    assert (refused.ok, refused.file, refused.check) == (False, "keys", "anchor")
    assert "--trusted-keys" in (refused.failure or "")
    unanchored = bundle.verify(out, trust_bundle_keys=True)
    assert unanchored.ok
    assert not unanchored.anchored
    assert "KEYS NOT ANCHORED" in unanchored.summary()

    # a key added to the owner's descriptor in keys/: refused, naming the file
    extra = FakePeer.make("alfa", clock()).descriptor.keys[0]
    added = alfa.descriptor.model_copy(update={"keys": [*alfa.descriptor.keys, extra]})
    (out / "keys" / "alfa.json").write_bytes(_descriptor_bytes(added))
    report = bundle.verify(out, trusted=trusted)
    assert report.file == "keys/alfa.json"
    assert "not the trusted descriptor of alfa: differs in keys" in (report.failure or "")
    (out / "keys" / "alfa.json").write_bytes(_descriptor_bytes(alfa.descriptor))

    # a counterparty's key swapped: refused, whatever the entries say
    impostor = FakePeer.make("bravo", clock())
    (out / "keys" / "bravo.json").write_bytes(_descriptor_bytes(impostor.descriptor))
    assert bundle.verify(out, trusted=trusted).file == "keys/bravo.json"
    # a descriptor of a node nobody anchored
    (out / "keys" / "bravo.json").write_bytes(_descriptor_bytes(bravo.descriptor))
    delta = FakePeer.make("delta", clock())
    (out / "keys" / "delta.json").write_bytes(_descriptor_bytes(delta.descriptor))
    report = bundle.verify(out, trusted=trusted)
    assert report.failure == "keys/delta.json (anchor): delta is not among the trusted descriptors"
    (out / "keys" / "delta.json").unlink()
    # a party's descriptor missing from keys/
    (out / "keys" / "bravo.json").unlink()
    report = bundle.verify(out, trusted=trusted)
    assert report.failure == "keys/bravo.json (keys): missing: bravo is a party of the log"
    # the auditor's folder works as the anchor too
    folder = tmp_path / "auditor"
    folder.mkdir()
    for peer in (alfa, bravo, charlie):
        (folder / f"{peer.node_id}.json").write_text(peer.descriptor.model_dump_json())
    (out / "keys" / "bravo.json").write_bytes(_descriptor_bytes(bravo.descriptor))
    assert bundle.verify(out, trusted_keys=folder).ok
