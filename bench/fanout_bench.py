"""Candidate-query fan-out: does :func:`ask_peers` return within its deadline?

    .venv/bin/python -m bench.fanout_bench [--runs 20 --deadline 2.0 --short-deadline 0.5]

Three peers on loopback, each a real HTTP server (uvicorn, in a thread of this process,
with its own event loop): one that verifies our signed query and answers with a signed
answer of three anonymised candidates, one that does the same but only after
``--slow-seconds`` (longer than the deadline; it stops when we hang up), and one whose
port refuses connections. We ask all three with :func:`candidates.ask_peers` through a
real :class:`PeerClient` (signing ``httpx.Auth``, response verification), ``--runs`` times
with the default deadline and once with a short one, and report each call's wall time
against the deadline: wall / deadline should be 1 plus a small margin, never more.

In the same run, as the floor: the same fan-out to the answering peer alone, which
returns as soon as that peer has answered. Results: ``bench/results/fanout.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.table import Table

from bench import common
from topmatch.clock import system_clock
from topmatch.federation import signatures
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient, SignatureAuth
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor, PublicKey
from topmatch.identity.service import NodeIdentity
from topmatch.matching import candidates
from topmatch.matching.schemas import (
    AnonymousCandidate,
    CandidateAnswer,
    CandidateQuery,
    VacancyProfile,
)
from topmatch.publishing.schemas import OccupationRef, Place

ASKER = "bench-asker"
MARGIN_S = 0.05  # "within the deadline" allows this much for cancelling and collecting
PEER_TIMEOUT_S = 10.0  # a node's default peer_timeout_seconds
MAX_RESPONSE_BYTES = 5_000_000  # a node's default max_peer_response_bytes

Scope = dict[str, Any]
Message = dict[str, Any]


# --- peers (the bits of tests/fednodes.FakePeer a real server needs) -------------------


@dataclass(frozen=True)
class Peer:
    """A peer's node id, signing identity and the descriptor we hold for it."""

    node_id: str
    identity: NodeIdentity
    descriptor: PeerDescriptor

    @classmethod
    def make(cls, node_id: str, base_url: str) -> Peer:
        key = keys.generate()
        key_id = keys.key_id(key.public_key())
        descriptor = PeerDescriptor(
            node_id=node_id,
            name=node_id.title(),
            base_url=base_url,
            keys=[
                PublicKey(
                    key_id=key_id,
                    public_key=keys.b64url(keys.raw_public(key.public_key())),
                    valid_from=system_clock() - timedelta(days=1),
                )
            ],
        )
        return cls(node_id, NodeIdentity(private_key=key, key_id=key_id), descriptor)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class AnsweringPeer:
    """ASGI app: verify the signed query, wait ``delay`` seconds (unless the asker hangs
    up first), answer with three anonymised candidates, signed and bound to the query."""

    def __init__(self, peer: Peer, asker: Ed25519PublicKey, *, delay: float = 0.0) -> None:
        self.peer = peer
        self.asker = asker
        self.delay = delay

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await _body(receive)
        if self.delay and await _hung_up(receive, self.delay):
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        url = str(self.peer.descriptor.base_url).rstrip("/") + scope["path"]
        now = int(system_clock().timestamp())
        verified = signatures.verify_request(
            method=scope["method"],
            url=url,
            headers=headers,
            body=body,
            resolve_key=lambda _key_id: self.asker,
            now=now,
        )
        query = CandidateQuery.model_validate_json(body)
        content = self._answer(query).model_dump_json().encode()
        signed = signatures.sign_response(
            status=200,
            body=content,
            request_method=scope["method"],
            request_url=url,
            request_signature=verified.signature,
            key=self.peer.identity.private_key,
            key_id=self.peer.identity.key_id,
            created=now,
            nonce=secrets.token_urlsafe(8),
        )
        fields = {"content-type": "application/json", "content-length": str(len(content))}
        fields |= {k.lower(): v for k, v in signed.items()}
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(k.encode(), v.encode()) for k, v in fields.items()],
            }
        )
        await send({"type": "http.response.body", "body": content})

    def _answer(self, query: CandidateQuery) -> CandidateAnswer:
        found = [
            AnonymousCandidate(
                handle="c-" + secrets.token_urlsafe(18),
                score=score,
                explanation="zelfde beroep (ISCO 9321); 8 km van Tilburg",
                skills=["orderpicken", "heftruck"],
                desired_occupations=[OccupationRef(label="Magazijnmedewerker", isco08="9321")],
                hours_per_week=32,
                region="Midden-Brabant",
                age_band="27-35",
            )
            for score in (81.5, 74.0, 62.5)
        ]
        return CandidateAnswer(
            query_id=query.query_id,
            origin=self.peer.node_id,
            status="answered",
            min_group_size=3,
            candidates=found,
        )


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _hung_up(receive: Any, delay: float) -> bool:
    """Wait ``delay`` seconds; True as soon as the client disconnects."""

    async def disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnect(), timeout=delay)
    except TimeoutError:
        return False
    return True


@contextmanager
def serving(app: AnsweringPeer, port: int) -> Iterator[None]:
    """``app`` on 127.0.0.1:``port`` in a thread with its own event loop, until exit."""
    # uvicorn binds the port itself, as `topmatch serve` does: a socket made here with
    # socket.socket() would have proto 0, and asyncio sets TCP_NODELAY only on sockets with
    # proto IPPROTO_TCP; Nagle plus delayed ACKs then add 40 ms to every answer.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"loopback peer on port {port} did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- asking ----------------------------------------------------------------------------


def _query() -> CandidateQuery:
    profile = VacancyProfile(
        occupation=OccupationRef(label="Magazijnmedewerker", isco08="9321"),
        skills_required=["orderpicken"],
        hours_min=24,
        hours_max=32,
        contract_type="tijdelijk",
        place=Place(municipality="Tilburg"),
    )
    return candidates.new_query(origin=ASKER, profile=profile, max_results=10)


@dataclass(frozen=True)
class Run:
    deadline: float
    wall: float
    peers: list[candidates.PeerOutcome]

    def row(self) -> dict[str, Any]:
        return {
            "deadline_s": self.deadline,
            "wall_ms": round(self.wall * 1000, 2),
            "wall_over_deadline": round(self.wall / self.deadline, 4),
            "statuses": {p.node_id: p.status for p in self.peers},
            "peer_ms": {p.node_id: p.milliseconds for p in self.peers},
        }


async def ask(
    client: PeerClient, peers: Sequence[PeerDescriptor], deadline: float
) -> tuple[float, list[candidates.PeerOutcome]]:
    started = time.perf_counter()
    result = await candidates.ask_peers(
        peers=peers, client=client, query=_query(), deadline=deadline, names={}
    )
    return time.perf_counter() - started, result.peers


async def fan_out(
    me: NodeIdentity, registry: PeerRegistry, peers: Sequence[Peer], options: argparse.Namespace
) -> tuple[list[Run], list[float]]:
    async with httpx.AsyncClient(
        auth=SignatureAuth(me, system_clock), timeout=PEER_TIMEOUT_S
    ) as http:
        client = PeerClient(
            http=http, registry=registry, clock=system_clock, max_response_bytes=MAX_RESPONSE_BYTES
        )
        everyone = [p.descriptor for p in peers]
        await ask(client, everyone[:1], options.deadline)  # warm-up: imports, first connection
        floor = [
            (await ask(client, everyone[:1], options.deadline))[0] for _ in range(options.runs)
        ]
        runs = []
        for deadline in [options.deadline] * options.runs + [options.short_deadline]:
            wall, outcomes = await ask(client, everyone, deadline)
            runs.append(Run(deadline, wall, outcomes))
        return runs, floor


def measure(options: argparse.Namespace) -> tuple[list[Run], list[float]]:
    key = keys.generate()
    me = NodeIdentity(private_key=key, key_id=keys.key_id(key.public_key()))
    ports = {name: free_port() for name in ("alfa", "traag", "dood")}
    peers = [Peer.make(name, f"http://127.0.0.1:{port}") for name, port in ports.items()]
    alfa, slow, _dead = peers
    with tempfile.TemporaryDirectory(prefix="topmatch-fanout-") as tmp:
        registry = PeerRegistry(Path(tmp) / "peers", own_node_id=ASKER)
        for peer in peers:
            registry.directory.mkdir(exist_ok=True)
            (registry.directory / f"{peer.node_id}.json").write_text(
                peer.descriptor.model_dump_json()
            )
        answering = AnsweringPeer(alfa, key.public_key())
        sleeping = AnsweringPeer(slow, key.public_key(), delay=options.slow_seconds)
        with serving(answering, ports["alfa"]), serving(sleeping, ports["traag"]):
            return asyncio.run(fan_out(me, registry, peers, options))


# --- reporting -------------------------------------------------------------------------


def summarise(runs: Sequence[Run], deadline: float) -> dict[str, Any]:
    mine = [r for r in runs if r.deadline == deadline]
    walls = [r.wall for r in mine]
    statuses = sorted({json.dumps(r.row()["statuses"], sort_keys=True) for r in mine})
    worst = max(walls)
    return {
        "deadline_s": deadline,
        "runs": len(mine),
        "wall": common.latency_ms(walls),
        "ratio_p50": round(common.percentile(walls, 50) / deadline, 4),
        "ratio_max": round(worst / deadline, 4),
        "overshoot_max_ms": round((worst - deadline) * 1000, 2),
        "within_deadline_plus_margin": worst <= deadline + MARGIN_S,
        "statuses_seen": [json.loads(s) for s in statuses],
    }


def report(payload: dict[str, Any], console: Console) -> None:
    table = Table(title=payload["title"])
    for name in ("deadline s", "runs", "wall p50 ms", "wall max ms", "max wall/deadline", "ok"):
        table.add_column(name, justify="right")
    for s in payload["summaries"]:
        table.add_row(
            f"{s['deadline_s']:g}", str(s["runs"]), f"{s['wall']['p50_ms']:.1f}",
            f"{s['wall']['max_ms']:.1f}", f"{s['ratio_max']:.3f}",
            "yes" if s["within_deadline_plus_margin"] else "NO",
        )  # fmt: skip
    console.print(table)
    floor = payload["answering_peer_alone"]
    console.print(
        f"answering peer alone (the floor): p50 {floor['p50_ms']:.1f} ms, "
        f"max {floor['max_ms']:.1f} ms"
    )
    for s in payload["summaries"]:
        console.print(f"statuses at {s['deadline_s']:g} s: {s['statuses_seen']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--deadline", type=float, default=2.0)
    parser.add_argument("--short-deadline", type=float, default=0.5)
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    common.add_results_option(parser)
    options = parser.parse_args(argv)
    if options.slow_seconds <= max(options.deadline, options.short_deadline):
        parser.error("--slow-seconds must be longer than both deadlines")
    runs, floor = measure(options)
    payload = {
        "title": "candidate-query fan-out: answering, slow and dead peer on loopback",
        "command": common.command(
            "bench.fanout_bench",
            {
                "runs": options.runs,
                "deadline": options.deadline,
                "short_deadline": options.short_deadline,
                "slow_seconds": options.slow_seconds,
            },
        ),
        "margin_s": MARGIN_S,
        "summaries": [
            summarise(runs, options.deadline),
            summarise(runs, options.short_deadline),
        ],
        "answering_peer_alone": common.latency_ms(floor),
        "runs": [r.row() for r in runs],
    }
    path = common.write_results("fanout", payload, options.results_dir)
    console = Console()
    report(payload, console)
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
