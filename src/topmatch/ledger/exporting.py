"""Exporting the audit bundle from a node's database (``topmatch ledger export``).

Gathers what :func:`topmatch.ledger.bundle.export` writes: every entry and checkpoint (after
signing a checkpoint of the log as it is now), the witnesses' cosignatures of each
checkpoint, the signed fee agreements the entries name, and the descriptors of the owner,
the parties, the agreements' members and the witnesses. The caller owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import bundle, note
from topmatch.ledger import service as ledger
from topmatch.ledger.models import Cosignature
from topmatch.roster.models import Roster
from topmatch.settlement import service as settlement
from topmatch.settlement.models import FeeAgreementRecord
from topmatch.settlement.schemas import SignedAgreement


@dataclass(frozen=True)
class Exported:
    entries: int
    checkpoints: int
    agreements: int
    cosignatures: int
    rosters: int = 0


def agreements_named(session: Session, canonicals: Iterable[bytes]) -> list[SignedAgreement]:
    """The signed agreements (this node's copies) that the entries name by version and
    hash; an agreement not held here, or held with another hash, is left out (verify then
    says which entry names a missing agreement)."""
    named: set[tuple[str, str]] = set()
    for data in canonicals:
        ref = json.loads(data).get("agreement")
        if ref is not None:
            named.add((ref["version"], ref["sha256"]))
    found = []
    for version, digest in sorted(named):
        record = session.get(FeeAgreementRecord, version)
        if record is not None and record.sha256 == digest:
            found.append(settlement.document(record))
    return found


def cosignatures(session: Session) -> tuple[dict[int, list[bytes]], set[str]]:
    """The witnesses' cosignature lines of each of our checkpoints, by tree size, and the
    witnesses."""
    rows = session.exec(
        select(Cosignature).order_by(col(Cosignature.size), col(Cosignature.witness))
    ).all()
    lines: dict[int, list[bytes]] = {}
    for row in rows:
        lines.setdefault(row.size, []).append(row.line)
    return lines, {row.witness for row in rows}


def export_bundle(
    session: Session,
    out: Path,
    *,
    signer: note.NoteSigner,
    own: PeerDescriptor,
    peers: Iterable[PeerDescriptor],
    now: datetime,
    rosters: Sequence[Roster] = (),
) -> Exported:
    """Sign a checkpoint of the log as it is now, then write the bundle to ``out``, with
    ``rosters``: the federation roster versions the node holds."""
    origin = ledger.log_origin(own.node_id)
    ledger.checkpoint(session, signer=signer, origin=origin, now=now)
    rows = ledger.entries(session, limit=10_000_000)
    points = ledger.checkpoints(session)
    agreements = agreements_named(session, (r.canonical for r in rows))
    lines, witnesses = cosignatures(session)
    needed = {r.payer for r in rows} | {r.payee for r in rows} | witnesses
    needed |= {m for a in agreements for m in a.members}
    descriptors = [own, *(p for p in peers if p.node_id in needed and p.node_id != own.node_id)]
    bundle.export(
        out,
        owner=own.node_id,
        origin=origin,
        vkey=note.verifier_key(origin, signer.private_key.public_key()),
        entries=[r.canonical for r in rows],
        checkpoints=[(p.size, p.note) for p in points],
        descriptors=descriptors,
        now=now,
        agreements=agreements,
        cosignatures=lines,
        rosters=rosters,
    )
    return Exported(
        len(rows),
        len(points),
        len(agreements),
        sum(len(v) for v in lines.values()),
        len(rosters),
    )
