"""Everything a handler needs, as dependencies with short ``Annotated`` aliases.

Tests replace any of them with ``app.dependency_overrides``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlmodel import Session

from topmatch.accounts import service as accounts
from topmatch.accounts.models import Role, User
from topmatch.audit.service import Actor
from topmatch.bounds import MAX_DB_INT
from topmatch.clock import Clock
from topmatch.errors import InputError
from topmatch.federation import service as federation_service
from topmatch.federation.outbox import Courier
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient
from topmatch.identity.service import NodeIdentity
from topmatch.roster.store import RosterStore
from topmatch.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One transaction per request: commit when the handler returns, roll back if it raises.

    Used with ``scope="function"`` so that the commit happens before the response is
    sent: a client never sees 2xx for a change that then failed to commit.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]


def now(clock: ClockDep) -> datetime:
    return clock()


NowDep = Annotated[datetime, Depends(now)]


def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def current_user(session: SessionDep, token: Annotated[str | None, Depends(bearer_token)]) -> User:
    return accounts.authenticate(session=session, token=token)


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: Role) -> Callable[[User], User]:
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> User:
        accounts.require_role(user, allowed)
        return user

    return check


ConsultantUser = Annotated[User, Depends(require(Role.consultant, Role.admin))]
AdminUser = Annotated[User, Depends(require(Role.admin))]


def actor(user: CurrentUser) -> Actor:
    return Actor(name=user.name)


ActorDep = Annotated[Actor, Depends(actor)]


def if_match(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """The version an ``If-Match: "3"`` header names (our ETags are the record version)."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or int(value) > MAX_DB_INT:
        raise InputError(
            f'If-Match must be an ETag such as "3" (a version from 0 to {MAX_DB_INT}), '
            f"got {if_match[:40]!r}",
            field="If-Match",
        )
    return int(value)


IfMatchDep = Annotated[int | None, Depends(if_match)]


def get_courier(request: Request) -> Courier:
    """The outbox's delivery step, as the app built it (docs/adr/0013-outbox.md)."""
    courier: Courier = request.app.state.courier
    return courier


CourierDep = Annotated[Courier, Depends(get_courier)]


def get_peers(request: Request) -> PeerRegistry:
    registry: PeerRegistry = request.app.state.peers
    return registry


PeersDep = Annotated[PeerRegistry, Depends(get_peers)]


def get_roster(request: Request) -> RosterStore | None:
    """The rosters this node holds, when it has a ``roster_file`` (else None)."""
    return get_peers(request).roster


RosterDep = Annotated[RosterStore | None, Depends(get_roster)]


def get_peer_client(request: Request) -> PeerClient:
    """The one signing HTTP client to peers (built in the app's lifespan)."""
    client: PeerClient = request.app.state.peer_client
    return client


PeerClientDep = Annotated[PeerClient, Depends(get_peer_client)]


def get_identity(request: Request) -> NodeIdentity:
    """This node's signing identity (loaded by the app factory)."""
    node: NodeIdentity = request.app.state.identity
    return node


IdentityDep = Annotated[NodeIdentity, Depends(get_identity)]


def bureau_names(request: Request, settings: SettingsDep) -> dict[str, str]:
    """Node id -> bureau name, for every peer and ourselves."""
    names = {peer.node_id: peer.name for peer in get_peers(request).all()}
    names[settings.node_id or ""] = settings.display_name or settings.node_id or ""
    return names


BureauNames = Annotated[dict[str, str], Depends(bureau_names)]


def visible(peers: PeersDep, settings: SettingsDep) -> frozenset[str]:
    """The origins whose openings our users may see (ours and active peers')."""
    return federation_service.visible_origins(peers, settings.node_id or "")


Visible = Annotated[frozenset[str], Depends(visible)]


def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=64)] = None,
) -> str | None:
    """The client's key for a request it may send again: the same key, the same result."""
    return key or None


IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]
