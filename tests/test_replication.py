"""Replication against fake peers (respx): a broken or hostile peer corrupts nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.factories import FrozenClock
from tests.fednodes import FakePeer, page, vacancy_body
from topmatch.errors import PeerDataError
from topmatch.federation import replication
from topmatch.federation.models import PeerSyncState, ReplicaSummary
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient, SignatureAuth
from topmatch.identity import keys
from topmatch.identity.service import NodeIdentity

SID = "v-" + "a" * 24
SID2 = "v-" + "b" * 24


@pytest.fixture
def peer(clock: FrozenClock, tmp_path: Path) -> FakePeer:
    fake = FakePeer.make("werkpad", clock())
    fake.install(tmp_path / "peers")
    return fake


@pytest.fixture
def client(clock: FrozenClock, tmp_path: Path) -> Iterator[PeerClient]:
    key = keys.generate()
    me = NodeIdentity(private_key=key, key_id=keys.key_id(key.public_key()))
    http = httpx.AsyncClient(auth=SignatureAuth(me, clock), timeout=2)
    yield PeerClient(
        http=http,
        registry=PeerRegistry(tmp_path / "peers", own_node_id="me"),
        clock=clock,
        max_response_bytes=50_000,
    )
    asyncio.run(http.aclose())


def _sync(
    peer: FakePeer, client: PeerClient, engine: Engine, clock: FrozenClock
) -> replication.SyncResult:
    return asyncio.run(
        replication.sync_peer(peer=peer.descriptor, client=client, engine=engine, clock=clock)
    )


def _replica(engine: Engine) -> list[ReplicaSummary]:
    with Session(engine) as s:
        return list(s.exec(select(ReplicaSummary).order_by(ReplicaSummary.summary_id)).all())


def _state(engine: Engine, node_id: str = "werkpad") -> PeerSyncState:
    with Session(engine) as s:
        state = s.get(PeerSyncState, node_id)
        assert state is not None
        return state


def _serve(peer: FakePeer, clock: FrozenClock, pages: dict[int, Any]) -> respx.Route:
    def handler(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params["after"])
        return peer.respond(request, pages[after], now=clock())

    return respx.get(url__startswith="http://werkpad.test/federation/v1/feed").mock(
        side_effect=handler
    )


def _upsert(seq: int, sid: str, version: int, now: datetime, **kw: Any) -> dict[str, Any]:
    return {"seq": seq, "op": "upsert", "summary": vacancy_body("werkpad", sid, version, now, **kw)}


@respx.mock
def test_pages_are_applied_in_order_and_the_cursor_resumes(
    peer: FakePeer, client: PeerClient, engine: Engine, clock: FrozenClock
) -> None:
    now = clock()
    route = _serve(
        peer,
        clock,
        {
            0: page("werkpad", 0, [_upsert(1, SID, 1, now), _upsert(2, SID2, 1, now)], latest=3),
            2: page(
                "werkpad",
                2,
                [
                    {
                        "seq": 3,
                        "op": "tombstone",
                        "id": SID2,
                        "type": "vacancy",
                        "origin": "werkpad",
                        "version": 2,
                        "reason": "filled",
                        "at": now.isoformat(),
                    }
                ],
            ),
            3: page("werkpad", 3, []),
        },
    )
    result = _sync(peer, client, engine, clock)
    assert (result.ok, result.applied, result.cursor) == (True, 3, 3)
    rows = _replica(engine)
    assert [(r.summary_id, r.deleted) for r in rows] == [(SID, False), (SID2, True)]
    assert route.call_count == 2
    again = _sync(peer, client, engine, clock)  # resumes at 3: nothing new
    assert (again.ok, again.applied, again.cursor) == (True, 0, 3)
    assert route.calls[-1].request.url.params["after"] == "3"


@respx.mock
def test_older_versions_never_overwrite_newer(
    peer: FakePeer, client: PeerClient, engine: Engine, clock: FrozenClock
) -> None:
    now = clock()
    _serve(
        peer,
        clock,
        {
            0: page(
                "werkpad",
                0,
                [_upsert(1, SID, 3, now, title="Nieuw"), _upsert(2, SID, 2, now, title="Oud")],
            )
        },
    )
    assert _sync(peer, client, engine, clock).ok
    assert _replica(engine)[0].title == "Nieuw"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (lambda now: page("other", 1, [_upsert(2, SID, 1, now)]), "claims origin 'other'"),
        (
            lambda now: page(
                "werkpad",
                1,
                [{"seq": 2, "op": "upsert", "summary": vacancy_body("stolen", SID, 1, now)}],
            ),
            "a node may only publish its own openings",
        ),
        (
            lambda now: page("werkpad", 1, [_upsert(3, SID, 1, now), _upsert(2, SID, 2, now)]),
            "feed goes backwards",
        ),
        (lambda now: page("werkpad", 1, [_upsert(1, SID, 1, now)]), "feed goes backwards"),
        (
            lambda now: page("werkpad", 1, [_upsert(2, SID, 1, now, bsn="111222333")]),
            "Extra inputs are not permitted",
        ),
        (lambda _now: page("werkpad", 5, []), "we asked 1"),
        (lambda _now: {"hello": "world"}, "feed page is not valid"),
    ],
)
@respx.mock
def test_bad_pages_store_nothing_and_say_why(
    peer: FakePeer,
    client: PeerClient,
    engine: Engine,
    clock: FrozenClock,
    body: Any,
    reason: str,
) -> None:
    good = _upsert(1, SID2, 1, clock())
    _serve(peer, clock, {0: page("werkpad", 0, [good], latest=2), 1: body(clock())})
    result = _sync(peer, client, engine, clock)
    assert not result.ok
    assert reason in (result.error or "")
    assert (result.error or "").startswith("werkpad (http://werkpad.test): ")
    assert "werkpad: " not in (result.error or "")  # named once, not again by the error
    assert [r.summary_id for r in _replica(engine)] == [SID2]  # the good page stays applied
    state = _state(engine)
    assert (state.cursor, state.failures) == (1, 1)
    assert reason in (state.last_error or "")
    assert state.next_attempt_at is not None


@respx.mock
def test_garbage_oversized_unsigned_and_down_peers(
    peer: FakePeer, client: PeerClient, engine: Engine, clock: FrozenClock
) -> None:
    route = respx.get(url__startswith="http://werkpad.test/federation/v1/feed")
    route.mock(side_effect=lambda r: peer.respond(r, None, raw=b"\x00not json", now=clock()))
    assert "not valid" in (_sync(peer, client, engine, clock).error or "")
    route.mock(side_effect=lambda r: peer.respond(r, None, raw=b"x" * 60_000, now=clock()))
    assert "over the limit" in (_sync(peer, client, engine, clock).error or "")
    route.mock(return_value=httpx.Response(200, json=page("werkpad", 0, [])))
    assert "signature rejected" in (_sync(peer, client, engine, clock).error or "")
    route.mock(side_effect=httpx.ConnectError("refused"))
    # The peer and its address, once, then what went wrong (describe_peer_problem).
    assert _sync(peer, client, engine, clock).error == (
        "werkpad (http://werkpad.test): onbereikbaar: refused"
    )
    assert _state(engine).last_error == "werkpad (http://werkpad.test): onbereikbaar: refused"
    route.mock(side_effect=httpx.ReadTimeout("slow"))
    assert "geen antwoord binnen de tijd" in (_sync(peer, client, engine, clock).error or "")
    route.mock(return_value=httpx.Response(503))
    assert "HTTP 503" in (_sync(peer, client, engine, clock).error or "")
    assert _replica(engine) == []
    assert _state(engine).failures == 6


@respx.mock
def test_a_response_signed_by_another_peer_is_refused(
    peer: FakePeer, client: PeerClient, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    impostor = FakePeer.make("rival", clock())
    impostor.install(tmp_path / "peers")
    respx.get(url__startswith="http://werkpad.test/").mock(
        side_effect=lambda r: impostor.respond(r, page("werkpad", 0, []), now=clock())
    )
    result = _sync(peer, client, engine, clock)
    assert "expected a key of werkpad" in (result.error or "")


@respx.mock
def test_backoff_skips_a_failing_peer_until_due(
    peer: FakePeer, client: PeerClient, engine: Engine, clock: FrozenClock
) -> None:
    route = respx.get(url__startswith="http://werkpad.test/").mock(return_value=httpx.Response(500))

    def run() -> list[replication.SyncResult]:
        return asyncio.run(
            replication.sync_all(peers=[peer.descriptor], client=client, engine=engine, clock=clock)
        )

    assert len(run()) == 1
    assert run() == []  # backing off
    clock.advance(seconds=6)
    assert len(run()) == 1
    assert route.call_count == 2


def test_check_page_is_pure_and_strict(clock: FrozenClock) -> None:
    raw = page("werkpad", 0, [_upsert(1, SID, 1, clock())], latest=0)
    with pytest.raises(PeerDataError, match="latest_seq 0 is below item seq 1"):
        replication.check_page(json.dumps(raw).encode(), origin="werkpad", after=0)


def test_a_feed_that_went_backwards_is_reported(clock: FrozenClock) -> None:
    raw = json.dumps(page("werkpad", 7, [], latest=3)).encode()
    with pytest.raises(PeerDataError, match="feed went backwards"):
        replication.check_page(raw, origin="werkpad", after=7)
