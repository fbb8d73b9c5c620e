"""The peers registry: files in a directory, reloaded on change, keys and their validity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from topmatch.errors import ConflictError, InputError
from topmatch.federation.errors import UnknownKeyError
from topmatch.federation.peers import PeerRegistry
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor, PeerStatus, PublicKey

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def descriptor(
    node_id: str, *, valid_until: datetime | None = None, extra_key: bool = False
) -> PeerDescriptor:
    def key(start: datetime, end: datetime | None) -> PublicKey:
        public = keys.generate().public_key()
        return PublicKey(
            key_id=keys.key_id(public),
            public_key=keys.b64url(keys.raw_public(public)),
            valid_from=start,
            valid_until=end,
        )

    listed = [key(NOW - timedelta(days=30), valid_until)]
    if extra_key:
        listed.append(key(NOW, None))
    return PeerDescriptor(
        node_id=node_id,
        name=node_id.title(),
        base_url=f"http://127.0.0.1:9/{node_id}",  # type: ignore[arg-type]
        keys=listed,
    )


def write(directory: Path, peer: PeerDescriptor) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{peer.node_id}.json"
    path.write_text(peer.model_dump_json())
    return path


def test_loads_peers_and_skips_itself_and_broken_files(tmp_path: Path) -> None:
    write(tmp_path, descriptor("werkpad"))
    write(tmp_path, descriptor("baanbrekers"))
    (tmp_path / "broken.json").write_text('{"node_id": 1}')
    registry = PeerRegistry(tmp_path, own_node_id="baanbrekers")
    assert [p.node_id for p in registry.all()] == ["werkpad"]
    assert "broken.json" in registry.problems


def test_changes_are_picked_up_without_restart(tmp_path: Path) -> None:
    registry = PeerRegistry(tmp_path, own_node_id="self")
    assert registry.all() == []
    write(tmp_path, descriptor("werkpad"))
    assert [p.node_id for p in registry.all()] == ["werkpad"]
    registry.set_status("werkpad", PeerStatus.suspended)
    assert registry.active() == []
    assert PeerRegistry(tmp_path, own_node_id="self").get("werkpad").status == "suspended"


def test_transport_keys_must_be_known_active_and_valid(tmp_path: Path) -> None:
    peer = descriptor("werkpad", valid_until=NOW + timedelta(days=1))
    write(tmp_path, peer)
    registry = PeerRegistry(tmp_path, own_node_id="self")
    key_id = peer.keys[0].key_id
    assert registry.key_for_transport(key_id, at=NOW).peer.node_id == "werkpad"
    with pytest.raises(UnknownKeyError, match="not valid at"):
        registry.key_for_transport(key_id, at=NOW + timedelta(days=2))
    with pytest.raises(UnknownKeyError, match="unknown key id"):
        registry.key_for_transport("nope", at=NOW)
    with pytest.raises(UnknownKeyError, match="expected a key of other"):
        registry.key_for_transport(key_id, at=NOW, peer_id="other")
    registry.set_status("werkpad", PeerStatus.suspended)
    with pytest.raises(UnknownKeyError, match="suspended"):
        registry.key_for_transport(key_id, at=NOW)


def test_add_validates_and_refuses_to_drop_keys(tmp_path: Path) -> None:
    registry = PeerRegistry(tmp_path / "peers", own_node_id="self")
    rotated = descriptor("werkpad", extra_key=True)
    source = write(tmp_path / "incoming", rotated)
    registry.add(source)
    dropped = rotated.model_copy(update={"keys": rotated.keys[1:]})
    with pytest.raises(ConflictError, match="retired keys must be kept"):
        registry.add(write(tmp_path / "incoming2", dropped))
    registry.add(write(tmp_path / "incoming2", dropped), replace=True)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"node_id": "x"}))
    with pytest.raises(InputError, match="not a valid peer descriptor"):
        registry.add(bad)
    with pytest.raises(InputError, match="describes this node itself"):
        registry.add(write(tmp_path / "incoming3", descriptor("self")))


def test_a_new_descriptor_never_lifts_a_suspension(tmp_path: Path) -> None:
    registry = PeerRegistry(tmp_path / "peers", own_node_id="self")
    peer = descriptor("werkpad")
    registry.add(write(tmp_path / "in", peer))
    registry.set_status("werkpad", PeerStatus.suspended)
    rotated = peer.model_copy(update={"keys": [*peer.keys, descriptor("xx").keys[0]]})
    assert registry.add(write(tmp_path / "in2", rotated)).status == PeerStatus.suspended
