"""The simulated network between the nodes of a simulated federation.

Every call a node makes to a peer goes through :class:`NodeTransport` (the node's httpx
transport) to :meth:`Network.send`, which routes it by host to the target node's ASGI app
and, while faults are on, does to it what real networks and real processes do:

- ``drop``: the request never arrives (the sender sees a refused connection);
- ``lose_response``: the receiver handles it and commits, the answer is lost;
- ``hold``: the request is held and released later, in any order (a delay, a reorder);
  the sender sees a read timeout meanwhile;
- ``duplicate``: the receiver gets the same request twice;
- ``crash_receiver``: the receiver crashes after its receipt and before its commit (its
  transaction fails; the sender sees the connection die);
- ``crash_sender``: the sender crashes right before the request leaves (after the commit
  that queued it);
- partitions between pairs of nodes, and nodes that are down.

Each decision is a function of the seed, the pair of nodes and the number of the message
between them, not of the order in which concurrent deliveries reach the network. A crash
the network causes takes effect for the request it hits at once (that request's work
commits nothing more, sends nothing more) and for the rest of the node when the current
step of the schedule ends (the schedule then discards its app): the node's other
requests of that step, running concurrently, count as finished just before the crash.
So a crash does not depend on how concurrent deliveries happen to interleave either.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx

#: the node whose transactions fail from here on in this request's work (its process
#: died after receiving it and before committing)
DYING: contextvars.ContextVar[str | None] = contextvars.ContextVar("dying", default=None)

Fault = str  # "ok", "drop", "lose_response", "hold", "duplicate", "crash_receiver", ...
IDS = re.compile(r"[0-9a-f]{16,}|\d{4}-\d\d-\d\dT[\d:.+%A-F]+")


class NodeCrashed(BaseException):
    """The node crashed in the middle of what it was doing: nothing after this point of
    its work happens. A BaseException, so that no ``except Exception`` in the app can
    swallow it (as nothing catches a power cut)."""

    def __init__(self, node: str) -> None:
        super().__init__(f"{node} crashed")
        self.node = node


@dataclass(frozen=True)
class Faults:
    """The chance of each fault for one message while the network is faulty."""

    drop: float = 0.06
    lose_response: float = 0.06
    hold: float = 0.05
    duplicate: float = 0.05
    crash_receiver: float = 0.02
    crash_sender: float = 0.02

    def scaled(self, factor: float) -> Faults:
        """The same mix, ``factor`` times as often (a storm: ``factor`` 3)."""
        return Faults(**{k: v * factor for k, v in dataclasses.asdict(self).items()})

    def pick(self, roll: float) -> Fault:
        for name in (
            "drop",
            "lose_response",
            "hold",
            "duplicate",
            "crash_receiver",
            "crash_sender",
        ):
            roll -= getattr(self, name)
            if roll < 0:
                return name
        return "ok"


@dataclass
class Held:
    src: str
    dst: str
    request: httpx.Request


@dataclass
class Network:
    """Routes requests between node apps; faults while ``faulty``."""

    seed: int
    faults: Faults = field(default_factory=Faults)
    faulty: bool = True
    #: host -> node id
    hosts: dict[str, str] = field(default_factory=dict)
    #: node id -> its ASGI transport while it runs (absent when down)
    apps: dict[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    partitions: set[frozenset[str]] = field(default_factory=set)
    held: list[Held] = field(default_factory=list)
    counters: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: every byte that crossed the network, requests and responses
    wire: list[bytes] = field(default_factory=list)
    #: per pair, what happened to each message (for replay checks and failure reports)
    trace: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    #: faults forced on the next message of a pair (scripted scenarios)
    forced: dict[tuple[str, str], Fault] = field(default_factory=dict)
    #: nodes the network crashed in this step; the schedule discards their apps after it
    doomed: set[str] = field(default_factory=set)

    def transport_for(self, node: str) -> NodeTransport:
        return NodeTransport(self, node)

    def blocked(self, src: str, dst: str) -> bool:
        return frozenset((src, dst)) in self.partitions or dst not in self.apps

    def _fault(self, src: str, dst: str) -> Fault:
        self.counters[src, dst] += 1
        if (src, dst) in self.forced:
            return self.forced.pop((src, dst))
        if not self.faulty:
            return "ok"
        roll = random.Random(f"{self.seed}/{src}/{dst}/{self.counters[src, dst]}").random()
        return self.faults.pick(roll)

    async def send(self, src: str, request: httpx.Request) -> httpx.Response:
        """Carry one request from ``src`` (or refuse, lose, hold, duplicate it)."""
        dst = self.hosts[request.url.netloc.decode()]
        self.wire.append(_request_bytes(request, await request.aread()))
        if self.blocked(src, dst):
            self._note(src, dst, request, "unreachable")
            raise httpx.ConnectError(f"{dst} unreachable from {src}", request=request)
        fault = self._fault(src, dst)
        self._note(src, dst, request, fault)
        return await self._apply(fault, src, dst, request)

    async def _apply(
        self, fault: Fault, src: str, dst: str, request: httpx.Request
    ) -> httpx.Response:
        if fault == "crash_sender":
            self.doomed.add(src)
            raise NodeCrashed(src)
        if fault == "drop":
            raise httpx.ConnectError("simulated: connection refused", request=request)
        if fault == "hold":
            self.held.append(Held(src, dst, request))
            raise httpx.ReadTimeout("simulated: held in the network", request=request)
        if fault == "crash_receiver":
            self.doomed.add(dst)
            token = DYING.set(dst)  # none of this request's transactions commits
            try:
                await self.deliver(dst, request)
            finally:
                DYING.reset(token)
            raise httpx.RemoteProtocolError("simulated: peer died mid-request", request=request)
        response = await self.deliver(dst, request)
        if fault == "duplicate":
            await self.deliver(dst, request)
        if fault == "lose_response":
            raise httpx.ReadError("simulated: the answer was lost", request=request)
        return response

    async def deliver(self, dst: str, request: httpx.Request) -> httpx.Response:
        """Hand ``request`` to ``dst``'s app and read its whole answer."""
        app = self.apps.get(dst)
        if app is None:
            raise httpx.ConnectError(f"{dst} is down", request=request)
        try:
            response = await app.handle_async_request(request)
            body = await response.aread()
        except BaseException as e:
            if crashed_node(e) != dst:
                raise
            # the receiver crashed while answering (in its own kick to a peer)
            raise httpx.RemoteProtocolError(f"{dst} died", request=request) from None
        self.wire.append(_response_bytes(response, body))
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            request=request,
        )

    async def release(self, rng: random.Random, *, share: float = 1.0) -> int:
        """Release (a random share of) the held requests, in random order; their answers
        go nowhere (the sender gave up on them long ago)."""
        rng.shuffle(self.held)
        count = round(len(self.held) * share)
        going, self.held = self.held[:count], self.held[count:]
        for held in going:
            if held.dst in self.apps:
                self._note(held.src, held.dst, held.request, "released")
                with contextlib.suppress(httpx.HTTPError):  # nobody waits for this answer
                    await self.deliver(held.dst, held.request)
        return count

    def _note(self, src: str, dst: str, request: httpx.Request, what: str) -> None:
        path = IDS.sub("*", request.url.path)
        self.trace[src, dst].append(f"{request.method} {path} {what}")


def crashed_node(error: BaseException) -> str | None:
    """The node whose crash ``error`` is (also inside exception groups), else None."""
    if isinstance(error, NodeCrashed):
        return error.node
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if (node := crashed_node(inner)) is not None:
                return node
    return None


class NodeTransport(httpx.AsyncBaseTransport):
    """One node's outbound transport: every peer call goes through the network."""

    def __init__(self, network: Network, node: str) -> None:
        self.network, self.node = network, node

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.network.send(self.node, request)


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    head = f"{request.method} {request.url}\n".encode()
    headers = b"".join(k + b": " + v + b"\n" for k, v in request.headers.raw)
    return head + headers + b"\n" + body


def _response_bytes(response: httpx.Response, body: bytes) -> bytes:
    headers = b"".join(k + b": " + v + b"\n" for k, v in response.headers.raw)
    return f"{response.status_code}\n".encode() + headers + b"\n" + body
