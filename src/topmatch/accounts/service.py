"""Creating accounts and checking bearer tokens.

Tokens are 256 random bits (``tm_`` + base64url), shown once and stored as SHA-256. A
high-entropy token needs no slow password hash: nobody can guess a preimage of it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, select

from topmatch.accounts.models import Role, User
from topmatch.audit import service as audit
from topmatch.errors import AuthenticationError, ConflictError, NotFoundError, PermissionDeniedError

TOKEN_PREFIX = "tm_"  # noqa: S105 - a prefix that makes leaked tokens greppable, not a secret


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    *, session: Session, name: str, role: Role, now: datetime, actor: str = "system"
) -> tuple[User, str]:
    """Create an account; returns it with its token (the only time the token exists)."""
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise ConflictError(f"an account named {name!r} already exists", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = User(name=name, role=role, token_hash=hash_token(token), created_at=now)
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        now=now,
        actor=actor,
        action=audit.Action.create,
        entity="account",
        entity_id=user.id,
        detail={"name": name, "role": role.value},
    )
    return user, token


def list_users(*, session: Session) -> Sequence[User]:
    return session.exec(select(User).order_by(User.name)).all()


def revoke_user(*, session: Session, name: str, now: datetime, actor: str = "system") -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFoundError(f"no account named {name!r}")
    if user.revoked_at is None:
        user.revoked_at = now
        session.add(user)
        session.flush()
        audit.record(
            session=session,
            now=now,
            actor=actor,
            action=audit.Action.revoke,
            entity="account",
            entity_id=user.id,
            detail={"name": name},
        )
    return user


def authenticate(*, session: Session, token: str | None) -> User:
    """The active account holding ``token``, or :class:`AuthenticationError`."""
    if not token:
        raise AuthenticationError("missing bearer token: send 'Authorization: Bearer <token>'")
    digest = hash_token(token)
    user = session.exec(select(User).where(User.token_hash == digest)).first()
    # compare_digest keeps the final check constant-time even though the lookup is by hash.
    if user is None or not hmac.compare_digest(user.token_hash, digest):
        raise AuthenticationError("invalid bearer token")
    if user.revoked_at is not None:
        raise AuthenticationError("this token has been revoked")
    return user


def require_role(user: User, allowed: frozenset[Role]) -> None:
    role = Role(user.role)  # stored as plain text
    if role not in allowed:
        wanted = " or ".join(sorted(r.value for r in allowed))
        raise PermissionDeniedError(f"this needs the role {wanted}; your role is {role.value}")
