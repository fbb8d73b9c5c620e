"""One opening of any bureau, and which of our clients it fits: what a search result opens.

A consultant who finds an opening wants to know who of their own clients could take it,
and to act: introduce a client to the bureau that holds it. This use case reads the
opening from our replica (so it works while its bureau is down) and scores it for every
active client of ours with exactly the ranking of the client's own list
(:class:`~topmatch.matching.service.Seeker`, :func:`~topmatch.matching.scoring.score`): a
client shown here with score 62 sees this opening with 62 on their own page too.

Everything here stays on our node: the clients are ours, the opening is a published
summary. Reading the client list is written to the audit log, as every listing of
clients is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from topmatch.audit import service as audit
from topmatch.audit.service import Actor
from topmatch.cardbox.models import Client
from topmatch.cardbox.validation import ClientStatus
from topmatch.errors import NotFoundError
from topmatch.federation.models import ReplicaSummary
from topmatch.matching import scoring, service

#: At most this many fitting clients are listed (best first).
MAX_CLIENTS = 10


class ClientFit(BaseModel):
    """One of our clients, scored for the opening (never sent anywhere)."""

    client_id: str
    name: str
    municipality: str
    consent_share_profile: bool
    score: float
    explanation: str
    unmet: bool = Field(description="a requirement (licence, level, register) not met")


class OpeningDetails(BaseModel):
    bureau: str
    own: bool = Field(description="the opening is ours (published by this node)")
    opening: service.Opening
    updated_at: datetime
    fit: ClientFit | None = Field(
        default=None, description="the client asked about (``client``), scored for it"
    )
    clients: list[ClientFit] = Field(
        description=f"up to {MAX_CLIENTS} active clients it fits, best first, none below "
        f"the minimum score of a client's list ({service.MIN_CLIENT_SCORE:g})"
    )
    left_out: int = Field(description="active clients it fits too weakly to list")


def opening_details(
    *,
    session: Session,
    origin: str,
    summary_id: str,
    own_node: str,
    bureau_names: Mapping[str, str],
    actor: Actor,
    now: datetime,
    client_id: str | None = None,
    origins: frozenset[str] | None = None,
) -> OpeningDetails:
    """The opening ``origin``/``summary_id`` from our replica, with the clients it fits.

    Raises :class:`NotFoundError` when we hold no such opening, or it belongs to a bureau
    whose openings are hidden (``origins``: a suspended peer)."""
    if origins is not None and origin not in origins:
        raise NotFoundError(f"no opening {summary_id} of {origin} is shown here")
    full = session.get(ReplicaSummary, (origin, summary_id))
    if full is None or full.deleted:
        raise NotFoundError(f"no opening {summary_id} of {origin} in our copy of the openings")
    offered = service.offered_of(full)
    clients = session.exec(select(Client).where(Client.status == ClientStatus.active.value)).all()
    fits = [f for f in (_fit(c, offered) for c in clients) if f is not None]
    fits.sort(key=lambda f: (f.unmet, -f.score, f.name, f.client_id))
    listed = [f for f in fits if f.score >= service.MIN_CLIENT_SCORE]
    asked = next((f for f in fits if f.client_id == client_id), None) if client_id else None
    if client_id and asked is None and session.get(Client, client_id) is None:
        raise NotFoundError(f"no client {client_id}")
    shown = [f.client_id for f in listed[:MAX_CLIENTS]] + ([asked.client_id] if asked else [])
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.list,
        entity="client",
        detail={
            "ids": list(dict.fromkeys(shown)),
            "opening": f"{origin}/{summary_id}",
        },
    )
    return OpeningDetails(
        bureau=bureau_names.get(origin, origin),
        own=origin == own_node,
        opening=service.opening_of(full),
        updated_at=full.updated_at,
        fit=asked,
        clients=listed[:MAX_CLIENTS],
        left_out=len(fits) - len(listed),
    )


def _fit(client: Client, offered: scoring.Offered) -> ClientFit | None:
    seeker = service.Seeker.of(client)
    match = scoring.score(seeker.sought(seeker.where()), offered)
    if match is None:  # a hard filter: e.g. a baanopening for a client outside the register
        return None
    name = " ".join(p for p in (client.first_name, client.name_prefix, client.last_name) if p)
    return ClientFit(
        client_id=client.id,
        name=name,
        municipality=client.municipality,
        consent_share_profile=bool(client.consent_share_profile),
        score=match.score,
        explanation=scoring.explain(match),
        unmet=match.unmet > 0,
    )
