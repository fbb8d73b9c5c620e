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
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.clock import Clock
from topmatch.errors import PeerError, TopmatchError
from topmatch.federation.transport import PeerClient, describe_peer_problem
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import canonical
from topmatch.ledger import service as ledger
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import EntryBody
from topmatch.settlement import service as settlement
from topmatch.settlement.schemas import SignedAgreement

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
    """Fetch every peer's fee agreements (at once) and keep the member signatures that
    verify (one peer after the other: two copies of a new version must not race)."""
    fetched = await asyncio.gather(*(_fetch_agreements(peer=p, client=client) for p in peers))

    def merge() -> list[ExchangeResult]:
        results = []
        for peer, (documents, problem) in zip(peers, fetched, strict=True):
            if problem is not None:
                results.append(ExchangeResult(node_id=peer.node_id, ok=False, detail=problem))
                continue
            notes = []
            for document in documents:  # one transaction each: a bad one spoils no other
                try:
                    with db.transaction(engine) as session:
                        notes.append(
                            settlement.merge_agreement(
                                session, document, me=me, book=book, now=clock()
                            )
                        )
                except TopmatchError as e:
                    notes.append(f"{document.version}: {e.diagnostics()}")
                except IntegrityError:  # another round stored it first: merged next round
                    notes.append(f"{document.version}: stored concurrently, merged next round")
            results.append(
                ExchangeResult(node_id=peer.node_id, ok=True, detail="; ".join(notes) or None)
            )
        return results

    return await run_in_threadpool(merge)


async def _fetch_agreements(
    *, peer: PeerDescriptor, client: PeerClient
) -> tuple[list[SignedAgreement], str | None]:
    try:
        response = await client.call(peer, "GET", AGREEMENTS_PATH)
        if response.status != 200:  # noqa: PLR2004
            return [], describe_peer_problem(peer, f"HTTP {response.status}")
        documents = json.loads(response.body)
        if not isinstance(documents, list) or len(documents) > MAX_DOCUMENTS:
            return [], describe_peer_problem(peer, "not a list of agreements")
        return [settlement.parse_agreement(d) for d in documents], None
    except (PeerError, TopmatchError, ValueError) as e:
        return [], describe_peer_problem(peer, e if isinstance(e, TopmatchError) else str(e))


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
            return [], describe_peer_problem(peer, f"HTTP {response.status}")
        items = json.loads(response.body)
        if not isinstance(items, list):
            return [], describe_peer_problem(peer, "not a list of entries")
    except (PeerError, ValueError) as e:
        return [], describe_peer_problem(peer, e if isinstance(e, PeerError) else str(e))
    good, problems = [], []
    for item in items:
        try:
            good.append(verified_closing(item, period=period, book=book))
        except (TopmatchError, ValueError, TypeError) as e:
            problems.append(e.diagnostics() if isinstance(e, TopmatchError) else str(e))
    return good, (describe_peer_problem(peer, "; ".join(problems[:3])) if problems else None)


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
