"""Our append-only, Merkle-logged ledger: appending co-signed entries, checkpoints, proofs.

Every entry in our log names us as payer or payee and carries both parties' signatures,
checked against their descriptors (topmatch.ledger.keybook) before it is appended.
Appending the same entry twice is a no-op; the same entry id with any other content is
refused, naming the first field that differs. The log's leaves are the entries' canonical
bytes (RFC 9162 leaf hashes); checkpoints are C2SP tlog-checkpoint notes signed with the
node's key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import BigInteger, func, literal, text
from sqlmodel import Session, col, select

from topmatch import wiretext
from topmatch.errors import ConflictError, InputError, NotFoundError, input_error
from topmatch.ledger import canonical, merkle, note
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.models import Cosignature, LedgerCheckpoint, LedgerEntry, WitnessAlarm
from topmatch.ledger.schemas import EntryBody, SignedEntry

LEDGER_LOCK = 0x6C656467  # "ledg": serialises appends on PostgreSQL
MAX_ENTRY_AGE = timedelta(days=7)  # a proposal may wait this long for its countersignature


def log_origin(node_id: str) -> str:
    """The checkpoint origin line (and note key name) of a node's ledger log."""
    return f"topmatch.ledger/{node_id}"


@dataclass(frozen=True)
class Appended:
    entry: LedgerEntry
    created: bool


def _scrubbed(entry: EntryBody, signed: Mapping[str, Any]) -> None:
    """Refuse an entry whose free text the wire gate had to scrub: it was signed with
    personal data in it, and we would keep and countersign that for good."""
    fields = wiretext.unscrubbed(entry, signed)
    if fields:
        raise InputError(
            f"the entry's {fields[0]} holds personal data (a name, number, address or date); "
            "it must be scrubbed before the entry is signed",
            field=fields[0],
        )


def body_of(data: Mapping[str, Any]) -> EntryBody:
    """The entry's fields (signatures aside), validated, or InputError naming the field."""
    try:
        entry = EntryBody.model_validate_json(
            json.dumps({k: v for k, v in data.items() if k != "signatures"})
        )
    except ValidationError as e:
        raise input_error(e, "not a valid ledger entry") from e
    _scrubbed(entry, data)
    return entry


def check_entry(
    signed: Mapping[str, Any], *, me: str, book: KeyBook, now: datetime, check_age: bool = True
) -> SignedEntry:
    """Validate an entry's shape, parties, date and both signatures. Pure."""
    try:
        entry = SignedEntry.model_validate_json(json.dumps(dict(signed)))
    except ValidationError as e:
        raise input_error(e, "not a valid ledger entry") from e
    _scrubbed(entry, signed)
    if me not in entry.parties:
        raise InputError(
            f"the entry names {entry.payer} and {entry.payee}; this node ({me}) is not a party",
            field="payer",
        )
    if check_age and abs(now - entry.at) > MAX_ENTRY_AGE:
        raise InputError(
            f"entry is dated {entry.at.isoformat()}, more than {MAX_ENTRY_AGE.days} days from now",
            field="at",
        )
    canonical.verify_entry(
        signed, resolve_key=book.resolver(entry.at), required_parties=entry.parties
    )
    return entry


def _first_difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    for name in sorted(set(old) | set(new)):
        if name != "signatures" and old.get(name) != new.get(name):
            return name
    return "signatures"


def append(
    session: Session,
    signed: Mapping[str, Any],
    *,
    me: str,
    book: KeyBook,
    now: datetime,
    check_age: bool = True,
) -> Appended:
    """Append a co-signed entry to our log (idempotent for identical entries).

    ``check_age=False`` only for an entry both parties already signed and the other party
    already logged (we catch up after downtime): its date may then be old.
    """
    entry = check_entry(signed, me=me, book=book, now=now, check_age=check_age)
    data = canonical.canonical(dict(signed))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK})
    existing = session.exec(
        select(LedgerEntry).where(LedgerEntry.entry_id == entry.entry_id)
    ).first()
    if existing is not None:
        if existing.canonical == data:
            return Appended(existing, created=False)
        stored = json.loads(existing.canonical)
        field = _first_difference(stored, signed)
        raise ConflictError(
            f"entry {entry.entry_id} is already in the ledger with another {field}", field=field
        )
    seq = session.exec(select(func.count()).select_from(LedgerEntry)).one()
    row = LedgerEntry(
        seq=seq,
        entry_id=entry.entry_id,
        type=entry.type,
        refers_to=entry.refers_to,
        payer=entry.payer,
        payee=entry.payee,
        amount_cents=entry.amount_cents,
        at=entry.at,
        canonical=data,
        leaf_hash=merkle.leaf_hash(data).hex(),
        appended_at=now,
    )
    session.add(row)
    session.flush()
    return Appended(row, created=True)


def leaf_hashes(session: Session, size: int | None = None) -> list[bytes]:
    query = select(LedgerEntry.leaf_hash).order_by(col(LedgerEntry.seq))
    if size is not None:
        query = query.limit(size)
    return [bytes.fromhex(h) for h in session.exec(query).all()]


def tree(session: Session) -> merkle.MerkleTree:
    return merkle.MerkleTree(leaf_hashes(session))


def checkpoints(session: Session) -> Sequence[LedgerCheckpoint]:
    return session.exec(select(LedgerCheckpoint).order_by(col(LedgerCheckpoint.size))).all()


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.exec(
        select(LedgerCheckpoint).order_by(col(LedgerCheckpoint.size).desc())
    ).first()


def checkpoint(
    session: Session, *, signer: note.NoteSigner, origin: str, now: datetime
) -> LedgerCheckpoint:
    """Sign a checkpoint of the log as it is now (the last one again if nothing changed)."""
    hashes = leaf_hashes(session)
    last = latest_checkpoint(session)
    if last is not None and last.size == len(hashes):
        return last
    root = merkle.root(hashes)
    text_ = note.Checkpoint(origin=origin, size=len(hashes), root_hash=root).checkpoint_text()
    row = LedgerCheckpoint(
        size=len(hashes), root_hash=root.hex(), note=note.sign_note(text_, [signer]), created_at=now
    )
    session.add(row)
    session.flush()
    return row


def entries(
    session: Session, *, party: str | None = None, after: int = -1, limit: int = 500
) -> Sequence[LedgerEntry]:
    # ``after`` may be any 64-bit whole number (the API's bound); bound as a BIGINT so that
    # PostgreSQL compares it with the 32-bit column instead of refusing to cast it.
    query = select(LedgerEntry).where(col(LedgerEntry.seq) > literal(after, BigInteger))
    if party is not None:
        query = query.where((LedgerEntry.payer == party) | (LedgerEntry.payee == party))
    return session.exec(query.order_by(col(LedgerEntry.seq)).limit(limit)).all()


def get_entry(session: Session, entry_id: str) -> LedgerEntry:
    row = session.exec(select(LedgerEntry).where(LedgerEntry.entry_id == entry_id)).first()
    if row is None:
        raise NotFoundError(f"no ledger entry {entry_id}")
    return row


def inclusion(session: Session, *, entry_id: str, size: int) -> list[bytes]:
    row = get_entry(session, entry_id)
    hashes = leaf_hashes(session)
    if not row.seq < size <= len(hashes):
        raise InputError(
            f"size must be within {row.seq + 1}..{len(hashes)}, got {size}", field="size"
        )
    return merkle.inclusion_proof(hashes[:size], row.seq)


def consistency(session: Session, *, old_size: int, new_size: int) -> list[bytes]:
    hashes = leaf_hashes(session)
    if not 0 <= old_size <= new_size <= len(hashes):
        raise InputError(
            f"need 0 <= old <= new <= {len(hashes)}, got {old_size} and {new_size}", field="old"
        )
    return merkle.consistency_proof(hashes[:new_size], old_size)


def witnessed_checkpoint(session: Session) -> dict[str, Any]:
    """Our newest checkpoint and which peers cosigned (witnessed) it (NotFoundError
    before the first)."""
    point = latest_checkpoint(session)
    if point is None:
        raise NotFoundError("no checkpoint yet")
    witnesses = session.exec(
        select(Cosignature.witness).where(Cosignature.size == point.size)
    ).all()
    return {
        "size": point.size,
        "root_hash": point.root_hash,
        "note": point.note.decode(),
        "witnessed_by": sorted(witnesses),
    }


def alarms(session: Session) -> list[dict[str, Any]]:
    """Equivocation, rollback, inconsistency or missing entries seen in peers' logs,
    newest first (the evidence stays in the database)."""
    rows = session.exec(select(WitnessAlarm).order_by(col(WitnessAlarm.raised_at).desc())).all()
    return [
        {
            "node_id": r.node_id,
            "kind": r.kind,
            "detail": r.detail,
            "raised_at": r.raised_at.isoformat(),
        }
        for r in rows
    ]
