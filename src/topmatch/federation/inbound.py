"""Inbound node-to-node HTTP: verify every request, sign every response.

:func:`verified_peer` is the FastAPI dependency of every ``/federation`` endpoint. It checks,
in order: the signature headers and profile, freshness of ``created``, the body's
Content-Digest, that the key belongs to a known, active peer and is valid now, the Ed25519
signature, and finally that the nonce was not seen before (replay). Any failure is a 401
with the reason; nothing is stored.

:class:`SignResponses` signs each response to a verified request, bound to that request
(RFC 9421 section 2.4), errors included. Responses to requests that failed verification
are not signed: they carry nothing a peer should act on.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from topmatch import db
from topmatch.api.deps import ClockDep, EngineDep, PeersDep, SettingsDep
from topmatch.federation import signatures
from topmatch.federation.errors import MalformedSignatureError, ReplayError
from topmatch.federation.models import SeenNonce
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.identity.service import NodeIdentity

STATE_KEY = "topmatch_verified"
MAX_SKEW_SECONDS = 300
MAX_NONCE_LENGTH = 64  # the width of federation_nonce.nonce


@dataclass(frozen=True)
class VerifiedRequest:
    peer: PeerDescriptor
    key_id: str
    signature: bytes
    method: str
    target_uri: str
    body: bytes = b""  # exactly the bytes whose digest and signature were verified


def target_uri(request: Request, public_url: str) -> str:
    """The URI the peer addressed: our public base URL plus path and query.

    Behind a reverse proxy the request line we see differs from what the peer signed;
    the public URL is what peers know us by, so that is what @target-uri must be.
    """
    uri = public_url.rstrip("/") + request.url.path
    if request.url.query:
        uri += "?" + request.url.query
    return uri


def remember_nonce(session: Session, *, key_id: str, nonce: str, now: datetime) -> None:
    """Record a nonce once; a second sighting within the freshness window is a replay."""
    horizon = now - timedelta(seconds=2 * MAX_SKEW_SECONDS)
    session.execute(delete(SeenNonce).where(col(SeenNonce.seen_at) < horizon))
    session.add(SeenNonce(key_id=key_id, nonce=nonce, seen_at=now))
    try:
        session.flush()
    except IntegrityError as e:
        raise ReplayError(f"nonce {nonce!r} of key {key_id} was already used") from e


def _record_nonce(engine: Engine, key_id: str, nonce: str, now: datetime) -> None:
    # Its own transaction: a nonce counts as used even if the handler later fails.
    with db.transaction(engine) as session:
        remember_nonce(session, key_id=key_id, nonce=nonce, now=now)


async def verified_peer(
    request: Request,
    registry: PeersDep,
    clock: ClockDep,
    settings: SettingsDep,
    engine: EngineDep,
) -> VerifiedRequest:
    """The dependency of every ``/federation`` endpoint: the verified request, or a 401."""
    now = clock()
    body = await request.body()
    uri = target_uri(request, str(settings.public_url))
    refs: dict[str, PeerDescriptor] = {}

    def resolve(key_id: str) -> Any:
        ref = registry.key_for_transport(key_id, at=now)
        refs[key_id] = ref.peer
        return ref.public_key()

    verified = signatures.verify_request(
        method=request.method,
        url=uri,
        headers=request.headers,
        body=body,
        resolve_key=resolve,
        now=int(now.timestamp()),
        max_skew=MAX_SKEW_SECONDS,
    )
    if not 8 <= len(verified.nonce) <= MAX_NONCE_LENGTH:  # noqa: PLR2004
        raise MalformedSignatureError(
            f"nonce must be 8 to {MAX_NONCE_LENGTH} characters, got {len(verified.nonce)}",
            field="Signature-Input",
        )
    await run_in_threadpool(_record_nonce, engine, verified.key_id, verified.nonce, now)
    result = VerifiedRequest(
        peer=refs[verified.key_id],
        key_id=verified.key_id,
        signature=verified.signature,
        method=request.method,
        target_uri=uri,
        body=body,
    )
    request.scope.setdefault("state", {})[STATE_KEY] = result
    return result


VerifiedPeer = Annotated[VerifiedRequest, Depends(verified_peer)]


class SignResponses:
    """ASGI middleware: signs responses to verified ``/federation`` requests."""

    def __init__(
        self, app: ASGIApp, *, identity: NodeIdentity, clock: Any, prefix: str = "/federation/"
    ) -> None:
        self.app = app
        self.identity = identity
        self.clock = clock
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    assert start is not None  # noqa: S101 - ASGI order guarantees it
                    await self._send_signed(scope, start, b"".join(chunks), send)
                return
            await send(message)

        await self.app(scope, receive, buffered)

    async def _send_signed(self, scope: Scope, start: Message, body: bytes, send: Send) -> None:
        verified: VerifiedRequest | None = scope.get("state", {}).get(STATE_KEY)
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        if verified is not None:
            extra = signatures.sign_response(
                status=start["status"],
                body=body,
                request_method=verified.method,
                request_url=verified.target_uri,
                request_signature=verified.signature,
                key=self.identity.private_key,
                key_id=self.identity.key_id,
                created=int(self.clock().timestamp()),
                nonce=_nonce(),
            )
            headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _nonce() -> str:
    return secrets.token_urlsafe(16)
