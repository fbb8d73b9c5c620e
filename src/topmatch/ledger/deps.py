"""What the ledger's and settlement's proposing routers (and the web pages that propose)
share: who we are when proposing, and the kick that delivers a queued proposal right
after the request's commit.

HTTP wiring, not a use case (those are in :mod:`topmatch.ledger.proposals`); kept apart
from the routers so that no router imports another and the web app imports no router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends

from topmatch.api.cardbox_deps import PublisherDep
from topmatch.api.deps import IdentityDep, PeersDep, SettingsDep
from topmatch.federation import outbox
from topmatch.federation.outbox import Courier
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import flows
from topmatch.ledger.keybook import KeyBook
from topmatch.settings import Settings


def proposer(
    settings: SettingsDep, identity: IdentityDep, publisher: PublisherDep
) -> flows.Proposer:
    """Who we are when proposing (identity, pseudonym secret, outbox horizon, limit)."""
    return flows.proposer_from(settings, node=identity, secret=publisher.secret)


ProposerDep = Annotated[flows.Proposer, Depends(proposer)]


def queued(
    result: flows.ProposalResult, courier: Courier, tasks: BackgroundTasks
) -> flows.ProposalResult:
    """After the commit, try to deliver the proposal's message right away (the worker
    retries whatever this does not deliver)."""
    if result.counterparty and result.status == "pending":
        tasks.add_task(outbox.kick, courier, result.counterparty)
    return result


def own_descriptor(settings: Settings) -> PeerDescriptor:
    """Our own descriptor, as peers hold it (written by ``topmatch init``)."""
    return PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())


def key_book(settings: SettingsDep, peers: PeersDep) -> KeyBook:
    """Keys that may sign entries we append: ours and those of active peers."""
    return KeyBook([own_descriptor(settings), *peers.active()])


BookDep = Annotated[KeyBook, Depends(key_book)]
