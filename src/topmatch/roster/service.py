"""Use cases of the roster on a node: what it serves about itself, and taking a newer
roster version from a peer (or the admin) and passing it on through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlmodel import Session

from topmatch.errors import ConfigurationError, NotFoundError
from topmatch.federation import outbox
from topmatch.roster import verify
from topmatch.roster.models import Roster
from topmatch.roster.store import RosterStore
from topmatch.settings import Settings

#: outbox kind and path of a roster version passed on to a peer (docs/adr/0013-outbox.md)
KIND: Final = "roster.update"
PATH: Final = "/federation/v1/roster"


@dataclass(frozen=True)
class Accepted:
    """What became of an offered roster version."""

    version: int
    changed: bool  # False: the node held this very version already
    forwarded_to: list[str]


def own_descriptor(settings: Settings) -> bytes:
    """This node's ``node.json`` as ``topmatch init`` wrote it."""
    try:
        return settings.descriptor_file().read_bytes()
    except OSError as e:
        raise ConfigurationError(f"cannot read {settings.descriptor_file()}: {e.strerror}") from e


def held(store: RosterStore | None) -> bytes:
    """The latest roster version this node holds, as served at the well-known URL."""
    if store is None:
        raise NotFoundError("this node has no federation roster (roster_file is not set)")
    return store.latest_bytes()


def receive(
    session: Session,
    *,
    store: RosterStore | None,
    body: bytes,
    me: str,
    sender: str | None,
    now: datetime,
    horizon: timedelta,
) -> Accepted:
    """Verify an offered version against the roster held; store it and queue it for every
    other member when it is new. A refusal (:class:`~topmatch.roster.errors.RosterError`)
    changes nothing. The outbox rows commit with the caller's transaction; the file is
    written first, so a failed commit leaves the version stored but not passed on."""
    if store is None:
        raise NotFoundError("this node has no federation roster (roster_file is not set)")
    roster = verify.parse_roster(body)
    changed = store.accept(roster)
    forwarded: list[str] = []
    if changed:
        forwarded = forward(
            session, roster=roster, skip={me, sender or ""}, now=now, horizon=horizon
        )
    return Accepted(version=roster.signed.version, changed=changed, forwarded_to=forwarded)


def forward(
    session: Session, *, roster: Roster, skip: set[str], now: datetime, horizon: timedelta
) -> list[str]:
    """Queue ``roster`` for every member not in ``skip``; the node ids queued for."""
    body = verify.dump_roster(roster)
    peers = [m.node_id for m in roster.signed.members if m.node_id not in skip]
    for peer in peers:
        outbox.enqueue(
            session,
            peer=peer,
            kind=KIND,
            path=PATH,
            body=body,
            reference=f"roster:{roster.signed.version}",
            now=now,
            horizon=horizon,
        )
    return peers
