"""The peers registry: one descriptor file per peer in the peers directory.

The directory is the source of truth, so an admin can manage peers with files and the
``topmatch peers`` commands alike. Changes are picked up without a restart: the registry
re-reads the directory whenever a file in it was added, removed or modified. A file that
does not validate is skipped and reported (:attr:`PeerRegistry.problems`), never
half-loaded.

Keys are never deleted from a descriptor: a key past its ``valid_until`` no longer signs
transport messages, but what it signed while valid (ledger entries above all) still
verifies years later.

With a federation roster (setting ``roster_file``, docs/adr/0015-federation-roster.md) the
peers are the members of the roster in force, minus this node, with the keys the roster
lists; the directory then only says which of them this node has suspended (a local
decision). A file for a node that is not a member is ignored and reported; an expired or
invalid roster gives no peers at all, and says why in :attr:`PeerRegistry.problems`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from topmatch.errors import ConflictError, InputError, NotFoundError
from topmatch.federation.errors import UnknownKeyError
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor, PeerStatus, PublicKey
from topmatch.roster import verify as roster_verify
from topmatch.roster.errors import RosterError
from topmatch.roster.store import RosterStore
from topmatch.settings import Settings

#: the key of :attr:`PeerRegistry.problems` for a roster that gives no peers
ROSTER_PROBLEM = "roster"


@dataclass(frozen=True)
class KeyRef:
    peer: PeerDescriptor
    key: PublicKey

    def public_key(self) -> Ed25519PublicKey:
        return keys.public_from_raw(keys.b64url_decode(self.key.public_key))


Stamp = tuple[tuple[str, int, int], ...]


@dataclass
class _Snapshot:
    stamp: tuple[Stamp, Stamp, bool] = ((), (), False)
    peers: dict[str, PeerDescriptor] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def valid_at(key: PublicKey, at: datetime) -> bool:
    return key.valid_from <= at and (key.valid_until is None or at < key.valid_until)


class PeerRegistry:
    """The peers in one directory, excluding this node itself."""

    def __init__(
        self, directory: Path, *, own_node_id: str, roster: RosterStore | None = None
    ) -> None:
        self.directory = directory
        self.own_node_id = own_node_id
        self.roster = roster
        self._lock = threading.Lock()
        self._snapshot = _Snapshot(stamp=((), (), False))

    # --- reading --------------------------------------------------------------------

    def _local_stamp(self) -> Stamp:
        if not self.directory.is_dir():
            return ()
        return tuple(
            sorted(
                (p.name, p.stat().st_mtime_ns, p.stat().st_size)
                for p in self.directory.glob("*.json")
            )
        )

    def _stamp(self) -> tuple[Stamp, Stamp, bool]:
        if self.roster is None:
            return self._local_stamp(), (), False
        return self._local_stamp(), self.roster.stamp(), self._roster_expired()

    def _roster_expired(self) -> bool:
        assert self.roster is not None  # noqa: S101 - only called with a roster
        try:
            self.roster.in_force()
        except RosterError:
            return True
        return False

    def _current(self) -> _Snapshot:
        stamp = self._stamp()
        with self._lock:
            if stamp != self._snapshot.stamp:
                self._snapshot = self._load(stamp)
            return self._snapshot

    def _load(self, stamp: tuple[Stamp, Stamp, bool]) -> _Snapshot:
        snapshot = self._load_local(stamp)
        if self.roster is not None:
            self._from_roster(snapshot, self.roster)
        return snapshot

    def _from_roster(self, snapshot: _Snapshot, store: RosterStore) -> None:
        """Replace the peers with the roster's members, keeping each one's local status."""
        local = snapshot.peers
        snapshot.peers = {}
        try:
            roster = store.in_force()
        except RosterError as e:
            snapshot.problems[ROSTER_PROBLEM] = f"no peers: {e.message}"
            return
        for member in roster_verify.trusted_descriptors(roster):
            if member.node_id == self.own_node_id:
                continue
            here = local.pop(member.node_id, None)
            status = here.status if here is not None else PeerStatus.active
            snapshot.peers[member.node_id] = member.model_copy(update={"status": status})
        for node_id in local:
            snapshot.problems[f"{node_id}.json"] = (
                f"{node_id} is not a member of roster version {roster.signed.version}; ignored"
            )

    def _load_local(self, stamp: tuple[Stamp, Stamp, bool]) -> _Snapshot:
        snapshot = _Snapshot(stamp=stamp)
        for name, _, _ in stamp[0]:
            path = self.directory / name
            try:
                peer = PeerDescriptor.model_validate_json(path.read_bytes())
            except (OSError, ValidationError) as e:
                snapshot.problems[name] = str(e).splitlines()[0]
                continue
            if peer.node_id == self.own_node_id:
                continue
            if peer.node_id in snapshot.peers:
                snapshot.problems[name] = f"second descriptor for {peer.node_id}; ignored"
                continue
            snapshot.peers[peer.node_id] = peer
        return snapshot

    @property
    def problems(self) -> dict[str, str]:
        """Files that could not be loaded, with the reason."""
        return dict(self._current().problems)

    def all(self) -> list[PeerDescriptor]:
        return sorted(self._current().peers.values(), key=lambda p: p.node_id)

    def active(self) -> list[PeerDescriptor]:
        return [p for p in self.all() if p.status == PeerStatus.active]

    def get(self, node_id: str) -> PeerDescriptor:
        peer = self._current().peers.get(node_id)
        if peer is None:
            where = "the roster in force" if self.roster is not None else str(self.directory)
            raise NotFoundError(f"no peer {node_id!r} in {where}")
        return peer

    def key_for_transport(self, key_id: str, *, at: datetime, peer_id: str | None = None) -> KeyRef:
        """The key that may sign a message at ``at``: known, of an active peer, valid then.

        ``peer_id`` restricts the search to one peer (a response must come from the peer
        we asked).
        """
        for peer in self._current().peers.values():
            for key in peer.keys:
                if key.key_id != key_id:
                    continue
                if peer_id is not None and peer.node_id != peer_id:
                    raise UnknownKeyError(
                        f"key {key_id} belongs to {peer.node_id}, expected a key of {peer_id}"
                    )
                if peer.status != PeerStatus.active:
                    raise UnknownKeyError(f"peer {peer.node_id} is suspended")
                if not valid_at(key, at):
                    raise UnknownKeyError(
                        f"key {key_id} of {peer.node_id} is not valid at {at.isoformat()} "
                        f"(valid {key.valid_from.isoformat()} to "
                        f"{key.valid_until.isoformat() if key.valid_until else 'open end'})"
                    )
                return KeyRef(peer=peer, key=key)
        raise UnknownKeyError(f"unknown key id {key_id}: not in any active peer's descriptor")

    # --- changing -------------------------------------------------------------------

    def path_for(self, node_id: str) -> Path:
        return self.directory / f"{node_id}.json"

    def add(self, descriptor_file: Path, *, replace: bool = False) -> PeerDescriptor:
        """Validate a descriptor file and store it as ``<node_id>.json``."""
        try:
            peer = PeerDescriptor.model_validate_json(descriptor_file.read_bytes())
        except OSError as e:
            raise InputError(f"cannot read {descriptor_file}: {e.strerror}") from e
        except ValidationError as e:
            raise InputError(f"{descriptor_file} is not a valid peer descriptor: {e}") from e
        if peer.node_id == self.own_node_id:
            raise InputError(f"{descriptor_file} describes this node itself ({peer.node_id})")
        target = self.path_for(peer.node_id)
        if target.exists():
            current = PeerDescriptor.model_validate_json(target.read_bytes())
            # A new descriptor (a key rotation) never lifts a suspension by itself.
            peer = peer.model_copy(update={"status": current.status})
        if target.exists() and not replace:
            lost = {k.key_id for k in current.keys} - {k.key_id for k in peer.keys}
            if lost:
                raise ConflictError(
                    f"peer {peer.node_id} exists and the new descriptor drops key(s) "
                    f"{', '.join(sorted(lost))}; retired keys must be kept (use --replace "
                    "only if the old key was never used)"
                )
        self._write(peer)
        return peer

    def set_status(self, node_id: str, status: PeerStatus) -> PeerDescriptor:
        peer = self.get(node_id).model_copy(update={"status": status})
        self._write(peer)
        return peer

    def _write(self, peer: PeerDescriptor) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path_for(peer.node_id)
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(peer.model_dump_json(indent=2) + "\n")
        tmp.replace(target)


def registry_for(settings: Settings, *, clock: Callable[[], datetime]) -> PeerRegistry:
    """The node's peers: from the roster when ``roster_file`` is set, else the directory."""
    roster = None
    if settings.roster_file is not None:
        roster = RosterStore(settings.roster_file, settings.roster_dir(), clock=clock)
    return PeerRegistry(settings.peers_dir, own_node_id=settings.node_id or "", roster=roster)
