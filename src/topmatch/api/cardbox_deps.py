"""Dependencies that reach the card-box: the BSN vault, the publisher and the background
worker's collaborators (which publish).

Kept apart from :mod:`topmatch.api.deps` because the federation routers use those deps and
federation must never import the card-box, not even indirectly (see the import-linter
contracts in ``pyproject.toml``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from topmatch.cardbox.crypto import BsnVault
from topmatch.publishing.service import Publisher
from topmatch.worker import Node


def get_vault(request: Request) -> BsnVault:
    """The BSN vault built from the card-box secret (by the app factory)."""
    vault: BsnVault = request.app.state.vault
    return vault


VaultDep = Annotated[BsnVault, Depends(get_vault)]


def get_publisher(request: Request) -> Publisher:
    """Our feed's publisher: origin and the secret its digests are keyed with."""
    publisher: Publisher = request.app.state.publisher
    return publisher


PublisherDep = Annotated[Publisher, Depends(get_publisher)]


def get_worker(request: Request) -> Node:
    """The collaborators of the background rounds, for the admin's "run it now" endpoints."""
    node: Node = request.app.state.worker
    return node


WorkerDep = Annotated[Node, Depends(get_worker)]
