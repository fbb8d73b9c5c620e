"""What settlement asks of peers: their copies of fee agreements (to collect the members'
signatures) and the closed bilateral nets of a period (to net across the federation).

Each peer is asked on its own; whatever goes wrong with one stays that peer's result.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.clock import Clock
from topmatch.errors import PeerError, TopmatchError
from topmatch.federation.transport import PeerClient
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import canonical
from topmatch.ledger import service as ledger
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import EntryBody
from topmatch.settlement import service as settlement

log = logging.getLogger("topmatch.settlement")

AGREEMENTS_PATH = "/federation/v1/agreements"
CLOSED_PATH = "/federation/v1/settlement/closed"
MAX_DOCUMENTS = 100


class ExchangeResult(BaseModel):
    node_id: str
    ok: bool
    detail: str | None = None


async def pull_agreements(
    *,
    peers: Sequence[PeerDescriptor],
    client: PeerClient,
    engine: Engine,
    me: str,
    book: KeyBook,
    clock: Clock,
) -> list[ExchangeResult]:
    """Fetch every peer's fee agreements and keep the member signatures that verify."""
    return list(
        await asyncio.gather(
            *(
                _pull_one(peer=p, client=client, engine=engine, me=me, book=book, clock=clock)
                for p in peers
            )
        )
    )


async def _pull_one(
    *,
    peer: PeerDescriptor,
    client: PeerClient,
    engine: Engine,
    me: str,
    book: KeyBook,
    clock: Clock,
) -> ExchangeResult:
    try:
        response = await client.call(peer, "GET", AGREEMENTS_PATH)
        if response.status != 200:  # noqa: PLR2004
            return ExchangeResult(node_id=peer.node_id, ok=False, detail=f"HTTP {response.status}")
        documents = json.loads(response.body)
        if not isinstance(documents, list) or len(documents) > MAX_DOCUMENTS:
            return ExchangeResult(node_id=peer.node_id, ok=False, detail="not a list of agreements")
        parsed = [settlement.parse_agreement(d) for d in documents]
    except (PeerError, TopmatchError, ValueError) as e:
        detail = e.diagnostics() if isinstance(e, TopmatchError) else str(e)
        return ExchangeResult(node_id=peer.node_id, ok=False, detail=detail)

    def merge() -> list[str]:
        notes = []
        for document in parsed:  # one transaction each: one bad document spoils no other
            with db.transaction(engine) as session:
                notes.append(
                    settlement.merge_agreement(session, document, me=me, book=book, now=clock())
                )
        return notes

    notes = await run_in_threadpool(merge)
    return ExchangeResult(node_id=peer.node_id, ok=True, detail="; ".join(notes) or None)


async def closed_entries(
    *, period: str, peers: Sequence[PeerDescriptor], client: PeerClient, book: KeyBook
) -> tuple[list[EntryBody], list[ExchangeResult]]:
    """The settlement.closed entries of a period that peers hold, each verified with both
    parties' keys; entries that do not verify are left out and reported."""
    answers = await asyncio.gather(
        *(_closed_from(peer=p, period=period, client=client, book=book) for p in peers)
    )
    found: list[EntryBody] = []
    results = []
    for peer, (entries, problem) in zip(peers, answers, strict=True):
        found.extend(entries)
        results.append(ExchangeResult(node_id=peer.node_id, ok=problem is None, detail=problem))
    return found, results


async def _closed_from(
    *, peer: PeerDescriptor, period: str, client: PeerClient, book: KeyBook
) -> tuple[list[EntryBody], str | None]:
    try:
        response = await client.call(peer, "GET", CLOSED_PATH, params={"period": period})
        if response.status != 200:  # noqa: PLR2004
            return [], f"HTTP {response.status}"
        items = json.loads(response.body)
        if not isinstance(items, list):
            return [], "not a list of entries"
    except (PeerError, ValueError) as e:
        return [], e.diagnostics() if isinstance(e, PeerError) else str(e)
    good, problems = [], []
    for item in items:
        try:
            good.append(verified_closing(item, period=period, book=book))
        except (TopmatchError, ValueError, TypeError) as e:
            problems.append(e.diagnostics() if isinstance(e, TopmatchError) else str(e))
    return good, ("; ".join(problems[:3]) if problems else None)


def verified_closing(item: Any, *, period: str, book: KeyBook) -> EntryBody:
    """A closing entry of ``period`` signed by both its parties, or an error."""
    if not isinstance(item, dict):
        raise TypeError("an entry is a JSON object")
    entry = ledger.body_of(item)
    if entry.type != "settlement.closed" or entry.period != period:
        raise ValueError(f"entry {entry.entry_id} is not a closing of {period}")
    canonical.verify_entry(
        item, resolve_key=book.resolver(entry.at), required_parties=entry.parties
    )
    return entry
