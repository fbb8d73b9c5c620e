"""The settlement pages' and endpoints' shared wiring: what netting needs to ask the
peers for their closings (:class:`topmatch.settlement.reports.Federation`), from the typed
dependencies, so that neither the router nor the web app reads ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from topmatch.api.deps import ClockDep, EngineDep, PeerClientDep, PeersDep
from topmatch.ledger.deps import BookDep
from topmatch.settlement.reports import Federation


def federation(
    engine: EngineDep, clock: ClockDep, peers: PeersDep, client: PeerClientDep, book: BookDep
) -> Federation:
    return Federation(engine=engine, clock=clock, peers=peers, client=client, book=book)


FederationDep = Annotated[Federation, Depends(federation)]
