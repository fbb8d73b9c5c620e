"""What the ledger's and settlement's proposing routers share: who we are when proposing,
and the kick that delivers a queued proposal right after the request's commit.

HTTP wiring, not a use case (those are in :mod:`topmatch.ledger.proposals`); kept apart
from the routers so that no router imports another.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

from topmatch.api.deps import SettingsDep
from topmatch.federation import outbox
from topmatch.federation.outbox import Courier
from topmatch.ledger import flows
from topmatch.publishing.service import Publisher


def proposer(request: Request, settings: SettingsDep) -> flows.Proposer:
    """Who we are when proposing (identity, pseudonym secret, outbox horizon, limit)."""
    publisher: Publisher = request.app.state.publisher
    return flows.proposer_from(settings, node=request.app.state.identity, secret=publisher.secret)


ProposerDep = Annotated[flows.Proposer, Depends(proposer)]


def queued(
    result: flows.ProposalResult, courier: Courier, tasks: BackgroundTasks
) -> flows.ProposalResult:
    """After the commit, try to deliver the proposal's message right away (the worker
    retries whatever this does not deliver)."""
    if result.counterparty and result.status == "pending":
        tasks.add_task(outbox.kick, courier, result.counterparty)
    return result
