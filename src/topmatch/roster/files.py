"""Roster files on disk: reading one, and the folder of every version a node has held."""

from __future__ import annotations

from pathlib import Path

from topmatch.roster import verify
from topmatch.roster.errors import RosterError
from topmatch.roster.models import Roster


def read_roster(path: Path) -> Roster:
    """A roster file, parsed and checked for form; signatures not checked (a draft has none)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RosterError(f"cannot read {path}: {e.strerror}") from e
    try:
        return verify.parse_roster(data)
    except RosterError as e:
        raise type(e)(f"{path}: {e.message}", field=e.field) from e


def load_roster(path: Path) -> Roster:
    """A roster file trusted as pinned: parsed, and signed by its own threshold of its own
    members (:func:`topmatch.roster.verify.verify_pinned`). Expiry is not checked, so that
    an auditor can anchor keys in the roster that was in force when a bundle was made."""
    roster = read_roster(path)
    try:
        return verify.verify_pinned(roster)
    except RosterError as e:
        raise type(e)(f"{path}: {e.message}", field=e.field) from e


def write_roster(path: Path, roster: Roster) -> None:
    """Write atomically (a reader never sees half a roster)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(verify.dump_roster(roster))
    tmp.replace(path)
