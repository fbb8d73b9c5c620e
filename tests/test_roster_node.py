"""A node and its roster: peers from the roster in force, the well-known URLs, and a newer
version offered by a peer (``POST /federation/v1/roster``)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from tests.factories import FrozenClock
from tests.fednodes import FakePeer
from topmatch import db
from topmatch.app import create_app
from topmatch.federation import signatures
from topmatch.federation.models import OutboxMessage
from topmatch.federation.peers import ROSTER_PROBLEM, PeerRegistry, registry_for
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor, PeerStatus
from topmatch.roster import edit, files, verify
from topmatch.roster.models import Roster
from topmatch.settings import Settings

PUBLIC = "http://127.0.0.1:8001"


@pytest.fixture
def bureaus(clock: FrozenClock) -> dict[str, FakePeer]:
    return {n: FakePeer.make(n, clock()) for n in ("stapverder", "werkpad")}


def first_roster(settings: Settings, bureaus: dict[str, FakePeer], clock: FrozenClock) -> Roster:
    own = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    draft = edit.genesis(
        federation="Test",
        members=[
            edit.member_from_descriptor(d) for d in (own, *(b.descriptor for b in bureaus.values()))
        ],
        threshold=2,
        issued_at=clock(),
        expires=clock() + timedelta(days=30),
    )
    return sign(draft, bureaus, "stapverder", "werkpad")


def sign(roster: Roster, bureaus: dict[str, FakePeer], *names: str) -> Roster:
    for name in names:
        roster = verify.sign(roster, node_id=name, key=bureaus[name].identity.private_key)
    return roster


@pytest.fixture
def settings(
    settings: Settings, tmp_path: Path, bureaus: dict[str, FakePeer], clock: FrozenClock
) -> Settings:
    pinned = tmp_path / "roster-v1.json"
    files.write_roster(pinned, first_roster(settings, bureaus, clock))
    return settings.model_copy(update={"peers_dir": tmp_path / "peers", "roster_file": pinned})


def test_peers_are_the_members_in_force_and_suspension_stays_local(
    settings: Settings, clock: FrozenClock, bureaus: dict[str, FakePeer]
) -> None:
    registry = registry_for(settings, clock=clock)
    assert [p.node_id for p in registry.all()] == ["stapverder", "werkpad"]
    registry.set_status("werkpad", PeerStatus.suspended)
    assert [p.node_id for p in registry.active()] == ["stapverder"]
    FakePeer.make("zulu", clock()).install(settings.peers_dir)
    assert "not a member of roster version 1" in registry.problems["zulu.json"]
    assert "zulu" not in [p.node_id for p in registry.all()]
    key = bureaus["stapverder"].identity.key_id
    assert registry.key_for_transport(key, at=clock()).peer.node_id == "stapverder"
    clock.advance(days=31)
    assert registry.all() == []
    assert "expired" in registry.problems[ROSTER_PROBLEM]


def test_without_roster_the_folder_is_the_source(settings: Settings, clock: FrozenClock) -> None:
    plain = settings.model_copy(update={"roster_file": None})
    registry = registry_for(plain, clock=clock)
    assert isinstance(registry, PeerRegistry)
    assert registry.roster is None
    assert registry.all() == []


def post_roster(
    client: TestClient, peer: FakePeer, clock: FrozenClock, roster: Roster
) -> tuple[int, dict[str, object]]:
    body = verify.dump_roster(roster)
    path = "/federation/v1/roster"
    headers = signatures.sign_request(
        method="POST",
        url=PUBLIC + path,
        body=body,
        key=peer.identity.private_key,
        key_id=peer.identity.key_id,
        created=int(clock().timestamp()),
        nonce=secrets.token_urlsafe(8),
    )
    response = client.post(
        path, content=body, headers={**headers, "content-type": "application/json"}
    )
    return response.status_code, response.json()


def test_well_known_urls_serve_descriptor_and_roster_with_cache_headers(
    client: TestClient, settings: Settings
) -> None:
    node = client.get("/.well-known/topmatch/node.json")
    assert node.status_code == 200
    assert node.json()["node_id"] == "baanbrekers"
    assert node.headers["cache-control"] == "public, max-age=300"
    again = client.get(
        "/.well-known/topmatch/node.json", headers={"If-None-Match": node.headers["etag"]}
    )
    assert again.status_code == 304
    roster = client.get("/.well-known/topmatch/roster.json")
    assert roster.status_code == 200
    assert verify.parse_roster(roster.content) == files.read_roster(settings.roster_file)  # type: ignore[arg-type]


def test_no_roster_is_a_404(settings: Settings, engine: Engine, clock: FrozenClock) -> None:
    app = create_app(settings.model_copy(update={"roster_file": None}), clock=clock, migrate=False)
    with TestClient(app) as client:
        response = client.get("/.well-known/topmatch/roster.json")
    assert response.status_code == 404
    assert "roster_file is not set" in response.json()["detail"]


def test_a_newer_version_needs_the_threshold_then_is_stored_and_passed_on(
    client: TestClient,
    settings: Settings,
    engine: Engine,
    clock: FrozenClock,
    bureaus: dict[str, FakePeer],
) -> None:
    v1 = files.read_roster(settings.roster_file)  # type: ignore[arg-type]
    clock.advance(minutes=5)
    draft = edit.propose(v1, issued_at=clock(), threshold=3)
    werkpad = bureaus["werkpad"]

    status, body = post_roster(client, werkpad, clock, sign(draft, bureaus, "werkpad"))
    assert status == 422
    assert "needs signatures of 2 of the 3 members of version 1" in str(body["detail"])
    assert "valid signatures by 1: werkpad" in str(body["detail"])
    assert verify.parse_roster(client.get("/.well-known/topmatch/roster.json").content) == v1

    # the new version's own threshold is 3: the node itself must sign too
    two = sign(draft, bureaus, "werkpad", "stapverder")
    status, body = post_roster(client, werkpad, clock, two)
    assert status == 422
    assert verify.OWN_RULE in str(body["detail"])

    mine = identity.load_identity(settings).private_key
    v2 = verify.sign(two, node_id="baanbrekers", key=mine)
    status, body = post_roster(client, werkpad, clock, v2)
    assert status == 200, body
    assert body == {"version": 2, "changed": True, "forwarded_to": ["stapverder"]}
    assert (settings.roster_dir() / "2.json").exists()
    assert verify.parse_roster(client.get("/.well-known/topmatch/roster.json").content) == v2
    with db.transaction(engine) as session:
        queued = session.exec(select(OutboxMessage)).all()
    assert [(m.peer, m.kind, m.path) for m in queued] == [
        ("stapverder", "roster.update", "/federation/v1/roster")
    ]

    assert post_roster(client, werkpad, clock, v2) == (
        200,
        {"version": 2, "changed": False, "forwarded_to": []},
    )
    status, body = post_roster(client, werkpad, clock, v1)
    assert status == 409
    assert "older than the version in force (2)" in str(body["detail"])
