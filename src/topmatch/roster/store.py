"""The rosters a node holds: the pinned file (setting ``roster_file``) and every later
version it accepted, one file per version in ``<data_dir>/roster/`` (``<version>.json``),
so that the whole chain can be verified again at any time.

The chain is verified once per change of the files (cheap ``stat`` calls otherwise);
whether the roster in force has expired is checked on every call, against the clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from topmatch.roster import files, verify
from topmatch.roster.errors import RosterError, RosterVersionError
from topmatch.roster.models import Roster

Stamp = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class _Held:
    stamp: Stamp
    latest: Roster | None
    problem: str | None


class RosterStore:
    """The pinned roster and the versions accepted after it."""

    def __init__(self, pinned: Path, folder: Path, *, clock: Callable[[], datetime]) -> None:
        self.pinned = pinned
        self.folder = folder
        self.clock = clock
        self._lock = threading.Lock()
        self._held = _Held(stamp=(), latest=None, problem="not loaded yet")

    def _paths(self) -> list[Path]:
        stored = sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []
        return [self.pinned, *stored]

    def stamp(self) -> Stamp:
        """Changes whenever a roster file is added, removed or rewritten."""
        result = []
        for path in self._paths():
            try:
                info = path.stat()
            except OSError:
                result.append((str(path), -1, -1))
                continue
            result.append((str(path), info.st_mtime_ns, info.st_size))
        return tuple(result)

    def _current(self) -> _Held:
        stamp = self.stamp()
        with self._lock:
            if stamp != self._held.stamp:
                self._held = self._load(stamp)
            return self._held

    def _load(self, stamp: Stamp) -> _Held:
        try:
            pinned = files.read_roster(self.pinned)
            # The pinned file is the trust anchor: stored versions up to its own are history.
            later = [files.read_roster(path) for path in self._paths()[1:]]
            chain = [pinned, *(r for r in later if r.signed.version > pinned.signed.version)]
            return _Held(stamp=stamp, latest=verify.follow_chain(chain), problem=None)
        except RosterError as e:
            return _Held(stamp=stamp, latest=None, problem=e.message)

    def chain(self) -> list[Roster]:
        """The pinned version and every accepted version after it, in order: the chain
        that :meth:`latest` follows (a ledger export carries it)."""
        pinned = files.read_roster(self.pinned)
        later = [files.read_roster(path) for path in self._paths()[1:]]
        chain = [pinned, *(r for r in later if r.signed.version > pinned.signed.version)]
        verify.follow_chain(chain)
        return sorted(chain, key=lambda r: r.signed.version)

    def latest(self) -> Roster:
        """The last version the chain validly reaches, expired or not."""
        held = self._current()
        if held.latest is None:
            raise RosterError(f"no valid roster: {held.problem}")
        return held.latest

    def in_force(self) -> Roster:
        """The roster in force: the latest version, when it has not expired."""
        latest = self.latest()
        verify.require_not_expired(latest, now=self.clock())
        return latest

    def latest_bytes(self) -> bytes:
        """The latest version as topmatch writes it (what ``roster.json`` serves)."""
        return verify.dump_roster(self.latest())

    def accept(self, new: Roster) -> bool:
        """Store ``new`` when it validly follows the roster held; False when it is the very
        version held already (nothing changes); else the :class:`RosterError` naming the
        rule it breaks, and nothing changes."""
        with self._lock:
            current = self._load(self.stamp()).latest
            if current is None:
                raise RosterError(f"no valid roster held to verify against: {self._held.problem}")
            if new.signed.version == current.signed.version and new.signed == current.signed:
                return False
            if new.signed.version < current.signed.version:
                raise RosterVersionError(
                    f"version {new.signed.version} is older than the version in force "
                    f"({current.signed.version})"
                )
            verify.verify_update(current, new, now=self.clock())
            files.write_roster(self.folder / f"{new.signed.version}.json", new)
        return True
