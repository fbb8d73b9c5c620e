"""Outbound node-to-node HTTP: every request signed, every response verified.

Signing is an :class:`httpx.Auth` on one shared client (RFC 9421 profile in
:mod:`topmatch.federation.signatures`). :class:`PeerClient` adds what a careful client
needs on top: a cap on the response size read from the wire, verification of the
response's signature (bound to our request), and errors that separate "the network is
bad" (:class:`PeerUnavailableError`) from "the data is bad" (:class:`PeerDataError`).

Every call has one total time budget (``deadline_seconds``): connecting, sending, the
response's headers and its whole body together. httpx's own timeout applies per read, so
a peer that trickles one byte a second would otherwise hold a call (and the sync round
waiting for it) for ever; past the budget the call ends with :class:`PeerTimeoutError`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Generator, Mapping
from dataclasses import dataclass

import httpx

from topmatch.clock import Clock
from topmatch.errors import (
    PeerDataError,
    PeerError,
    PeerNotReachedError,
    PeerTimeoutError,
    PeerUnavailableError,
    TopmatchError,
    peer_message,
)
from topmatch.federation import signatures
from topmatch.federation.errors import SignatureError
from topmatch.federation.peers import PeerRegistry
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.identity.service import NodeIdentity

USER_AGENT = "topmatch-node"
#: the default total budget of one call to a peer (settings.peer_deadline_seconds)
DEFAULT_DEADLINE_SECONDS = 30.0
signature_of = signatures.signature_of


class SignatureAuth(httpx.Auth):
    """Signs each request with this node's key (RFC 9421, Ed25519, Content-Digest)."""

    requires_request_body = True

    def __init__(self, identity: NodeIdentity, clock: Clock) -> None:
        self.identity = identity
        self.clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = signatures.sign_request(
            method=request.method,
            url=str(request.url),
            body=request.content,
            key=self.identity.private_key,
            key_id=self.identity.key_id,
            created=int(self.clock().timestamp()),
            nonce=secrets.token_urlsafe(16),
        )
        request.headers.update(headers)
        yield request


def peer_address(peer: PeerDescriptor) -> str:
    """The peer's base URL as people write it (no trailing slash)."""
    return str(peer.base_url).rstrip("/")


def describe_peer_problem(peer: PeerDescriptor, problem: BaseException | str) -> str:
    """What went wrong with ``peer``, for a person: its id and address once, then the
    problem (:func:`topmatch.errors.peer_message`). Every place that shows, logs or stores
    a peer failure uses this, so the same failure reads the same everywhere."""
    if isinstance(problem, PeerError):
        detail = problem.detail
    elif isinstance(problem, TopmatchError):
        detail = problem.diagnostics()
    elif isinstance(problem, str):
        detail = problem
    else:
        detail = f"interne fout: {problem!r}"
    return peer_message(peer.node_id, detail, address=peer_address(peer))


@dataclass(frozen=True)
class PeerResponse:
    status: int
    body: bytes


class PeerClient:
    """Talks to peers over one shared, signing :class:`httpx.AsyncClient`."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        registry: PeerRegistry,
        clock: Clock,
        max_response_bytes: int,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        self.http = http
        self.registry = registry
        self.clock = clock
        self.max_response_bytes = max_response_bytes
        self.deadline_seconds = deadline_seconds

    async def call(
        self,
        peer: PeerDescriptor,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: bytes | None = None,
        deadline: float | None = None,
    ) -> PeerResponse:
        """Send a signed request; return the verified response, whatever its status.

        The whole exchange (connect, headers, body) must end within ``deadline`` seconds
        (default: the client's ``deadline_seconds``), or :class:`PeerTimeoutError`.
        """
        budget = self.deadline_seconds if deadline is None else deadline
        request = self._request(peer, method, path, params=params, json_body=json_body)
        try:
            async with asyncio.timeout(budget):
                response, body = await self._exchange(peer, request)
        except TimeoutError as e:
            raise PeerTimeoutError(
                peer.node_id,
                f"geen volledig antwoord binnen de tijdslimiet van {budget:g} s "
                "(verbinden, kopregels en inhoud samen)",
                address=peer_address(peer),
            ) from e
        if response.status_code >= 500:  # noqa: PLR2004 - server errors are worth a retry
            raise PeerUnavailableError(
                peer.node_id,
                f"antwoordde met een serverfout (HTTP {response.status_code})",
                address=peer_address(peer),
            )
        self._verify(peer, response, body)
        return PeerResponse(status=response.status_code, body=body)

    def _request(
        self,
        peer: PeerDescriptor,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        json_body: bytes | None,
    ) -> httpx.Request:
        url = str(peer.base_url).rstrip("/") + path
        # identity encoding: the Content-Digest covers the bytes as sent, so we verify
        # exactly those and never a decompressed copy.
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": "identity",
        }
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        return self.http.build_request(
            method, url, params=params, content=json_body, headers=headers
        )

    async def _exchange(
        self, peer: PeerDescriptor, request: httpx.Request
    ) -> tuple[httpx.Response, bytes]:
        """Send ``request`` and read the whole (capped) body; network failures as
        :class:`PeerUnavailableError`."""
        try:
            response = await self.http.send(request, stream=True)
            try:
                body = await self._read_capped(peer, response)
            finally:
                await response.aclose()
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            raise PeerNotReachedError(
                peer.node_id, f"onbereikbaar: {e}", address=peer_address(peer)
            ) from e
        except httpx.TimeoutException as e:
            raise PeerTimeoutError(
                peer.node_id,
                f"geen antwoord binnen de tijd ({type(e).__name__})",
                address=peer_address(peer),
            ) from e
        except httpx.TransportError as e:
            raise PeerUnavailableError(
                peer.node_id, f"onbereikbaar: {e}", address=peer_address(peer)
            ) from e
        return response, body

    async def _read_capped(self, peer: PeerDescriptor, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise PeerDataError(
                peer.node_id,
                f"response of {declared} bytes is over the limit of {self.max_response_bytes}",
                address=peer_address(peer),
            )
        encoding = response.headers.get("content-encoding", "identity").lower()
        if encoding != "identity":
            raise PeerDataError(
                peer.node_id,
                f"response is {encoding}-encoded; we asked for "
                "identity (the signature covers the bytes as sent)",
                address=peer_address(peer),
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise PeerDataError(
                    peer.node_id,
                    f"response is over the limit of {self.max_response_bytes} bytes",
                    address=peer_address(peer),
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _verify(self, peer: PeerDescriptor, response: httpx.Response, body: bytes) -> None:
        now = self.clock()
        try:
            signatures.verify_response(
                status=response.status_code,
                headers=response.headers,
                body=body,
                request_method=response.request.method,
                request_url=str(response.request.url),
                request_signature=signature_of(response.request.headers),
                resolve_key=lambda key_id: self.registry.key_for_transport(
                    key_id, at=now, peer_id=peer.node_id
                ).public_key(),
                now=int(now.timestamp()),
            )
        except SignatureError as e:
            detail = ""
            if response.status_code >= 400:  # noqa: PLR2004
                detail = f" (HTTP {response.status_code}: {body[:200]!r})"
            raise PeerDataError(
                peer.node_id,
                f"response signature rejected: {e.diagnostics()}{detail}",
                status=response.status_code,
                address=peer_address(peer),
            ) from e
