"""No peer can stall another: one total deadline per call, and each peer's share of a round
isolated from the others'.

The stalled peer is a real TCP server on 127.0.0.1 that trickles its answer one byte a
second for ever: httpx's per-read timeout never fires on it, only the total deadline does.
The healthy peers are in-process (respx), next to it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.factories import FrozenClock
from tests.fednodes import FakePeer, page, vacancy_body
from tests.test_metrics import scrape, value
from tests.test_web_finance import sign_in
from topmatch.app import create_app
from topmatch.errors import PeerTimeoutError
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient, SignatureAuth
from topmatch.identity import keys
from topmatch.identity.service import NodeIdentity
from topmatch.settings import Settings, load_settings
from topmatch.worker import sync_round

Headers = dict[str, str]
BUDGET = 0.5  # seconds: the total deadline of one call in these tests
HEADERS_THEN_CHUNKS = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
)


class Trickler:
    """A TCP server on 127.0.0.1 that answers every connection one byte a second, for ever:
    either the status line and headers (``headers``) or, after complete headers, a chunked
    body (``body``). It stops when the test ends."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stop = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._trickle, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            if self.mode == "body":
                connection.sendall(HEADERS_THEN_CHUNKS)
                stream = b"1\r\n[\r\n" + b"1\r\n \r\n" * 100_000
            else:
                stream = b"HTTP/1.1 200 OK\r\n" + b"x-slow: " + b"a" * 100_000
            for byte in stream:
                if self.stop.wait(1):  # one byte a second
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:  # the client gave up: as it should
                    return

    def close(self) -> None:
        self.stop.set()
        self.server.close()
        for thread in self._threads:
            thread.join(timeout=5)


@pytest.fixture(params=["headers", "body"])
def trickler(request: pytest.FixtureRequest) -> Iterator[Trickler]:
    server = Trickler(request.param)
    yield server
    server.close()


def _own_identity() -> NodeIdentity:
    key = keys.generate()
    return NodeIdentity(private_key=key, key_id=keys.key_id(key.public_key()))


def test_a_trickling_peer_is_cut_off_at_the_total_deadline(
    trickler: Trickler, clock: FrozenClock, tmp_path: Path
) -> None:
    slow = FakePeer.make("traag", clock(), base_url=trickler.url)
    slow.install(tmp_path / "peers")

    async def call() -> None:
        # A per-read timeout of 5 s: each byte arrives within it, so only the deadline helps.
        async with httpx.AsyncClient(auth=SignatureAuth(_own_identity(), clock), timeout=5) as h:
            client = PeerClient(
                http=h,
                registry=PeerRegistry(tmp_path / "peers", own_node_id="me"),
                clock=clock,
                max_response_bytes=50_000,
                deadline_seconds=BUDGET,
            )
            await client.call(slow.descriptor, "GET", "/federation/v1/feed")

    with pytest.raises(PeerTimeoutError) as caught:
        asyncio.run(asyncio.wait_for(call(), timeout=60))  # the test's own bound, generous
    message = str(caught.value)
    assert f"tijdslimiet van {BUDGET:g} s" in message
    assert trickler.url in message
    assert trickler.connections == 1


# --- a sync round with a stalled peer among healthy ones ------------------------------


@pytest.fixture
def peers_dir(tmp_path: Path) -> Path:
    return tmp_path / "peers"


@pytest.fixture
def node(
    settings: Settings, engine: Engine, clock: FrozenClock, peers_dir: Path
) -> Iterator[TestClient]:
    fast = load_settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        peers_dir=peers_dir,
        sync_interval_seconds=0,
        peer_deadline_seconds=BUDGET,
        peer_round_seconds=2,
    )
    with TestClient(create_app(fast, clock=clock, migrate=False)) as client:
        yield client


def _healthy(peer: FakePeer, clock: FrozenClock) -> None:
    """A peer that answers its feed at once (one opening) and refuses everything else."""
    item = {
        "seq": 1,
        "op": "upsert",
        "summary": vacancy_body(peer.node_id, "v-" + "a" * 24, 1, clock()),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/federation/v1/feed":
            after = int(request.url.params["after"])
            return peer.respond(
                request, page(peer.node_id, after, [item] if after == 0 else []), now=clock()
            )
        return peer.respond(request, {"code": "not_found"}, status=404, now=clock())

    respx.route(host=f"{peer.node_id}.test").mock(side_effect=answer)


def _run_round(client: TestClient) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(sync_round(client.app.state.worker), timeout=120)  # type: ignore[attr-defined]

    assert client.portal is not None
    client.portal.call(bounded)


def _peers(client: TestClient, admin: Headers) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/peers", headers=admin)
    assert response.status_code == 200, response.text
    return {p["node_id"]: p for p in response.json()["peers"]}


@respx.mock
def test_a_stalled_peer_costs_the_healthy_ones_nothing(
    node: TestClient, trickler: Trickler, peers_dir: Path, clock: FrozenClock, admin: Headers
) -> None:
    respx.route(host="127.0.0.1").pass_through()
    for name in ("werkpad", "stapverder"):
        healthy = FakePeer.make(name, clock())
        healthy.install(peers_dir)
        _healthy(healthy, clock)
    FakePeer.make("traag", clock(), base_url=trickler.url).install(peers_dir)

    _run_round(node)  # finishes: the stalled peer is cut off at its deadline

    peers = _peers(node, admin)
    for name in ("werkpad", "stapverder"):
        assert peers[name]["state"] == "reachable"
        assert peers[name]["last_success_at"] is not None  # pulled in this very round: no lag
        assert peers[name]["openings"] == 1
        assert peers[name]["failures"] == 0
    stalled = peers["traag"]
    assert stalled["state"] == "unreachable"
    assert stalled["failures"] == 1
    assert stalled["circuit"] == "open"
    assert stalled["next_attempt_at"] is not None
    assert f"tijdslimiet van {BUDGET:g} s" in stalled["last_error"]
    assert trickler.url in stalled["last_error"]
    metrics = scrape(node)
    assert value(metrics, "topmatch_peer_state", peer="traag", state="unreachable") == 1
    assert value(metrics, "topmatch_peer_state", peer="traag", state="reachable") == 0
    assert value(metrics, "topmatch_peer_state", peer="werkpad", state="reachable") == 1
    assert value(metrics, "topmatch_peer_circuit_open", peer="traag") == 1
    assert value(metrics, "topmatch_peer_circuit_open", peer="werkpad") == 0
    sign_in(node, admin)
    shown = node.get("/federatie")
    assert shown.status_code == 200, shown.text
    assert "volgende poging" in shown.text  # when the worker tries the stalled peer again
    assert "onbereikbaar" in shown.text

    # The next round leaves the stalled peer alone (its circuit is open) and is quick.
    connections = trickler.connections
    _run_round(node)
    assert trickler.connections == connections
    assert _peers(node, admin)["traag"]["failures"] == 1


@respx.mock
def test_a_manual_sync_answers_despite_a_stalled_peer(
    node: TestClient, trickler: Trickler, peers_dir: Path, clock: FrozenClock, admin: Headers
) -> None:
    respx.route(host="127.0.0.1").pass_through()
    healthy = FakePeer.make("werkpad", clock())
    healthy.install(peers_dir)
    _healthy(healthy, clock)
    FakePeer.make("traag", clock(), base_url=trickler.url).install(peers_dir)

    response = node.post("/api/v1/peers/sync", headers=admin)

    assert response.status_code == 200, response.text
    results = {r["node_id"]: r for r in response.json()}
    assert results["werkpad"]["ok"] is True
    assert results["werkpad"]["applied"] == 1
    assert results["traag"]["ok"] is False
    assert trickler.url in results["traag"]["error"]
    assert "tijdslimiet" in results["traag"]["error"]
