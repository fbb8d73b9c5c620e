"""The offline audit bundle: export it from a node, verify it anywhere.

A bundle is a folder::

    manifest.json        format, the log's owner, origin and note verifier key, counts
    entries.jsonl        every entry, one RFC 8785 canonical JSON object per line, in log order
    checkpoints/N.note   every signed checkpoint (C2SP tlog-checkpoint in a signed note)
    keys/<node>.json     the peer descriptor (all keys, retired ones too) of every party
    README.md            how to check it, by hand or with ``topmatch ledger verify``

:func:`verify` needs nothing but the folder: no database, no network, no node.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from topmatch.bounds import Count
from topmatch.errors import TopmatchError
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import canonical, merkle, note
from topmatch.ledger.errors import LedgerError
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import SignedEntry

FORMAT: Final = "topmatch.ledger-bundle/1"

README = """# Topmatch ledger bundle

This folder is a complete, self-contained copy of one bureau's fee ledger.

- `entries.jsonl`: one entry per line, each in RFC 8785 canonical JSON, in log order.
  Each entry carries the Ed25519 signatures (RFC 8032) of both parties, made over the
  canonical JSON of the entry without its `signatures` member (base64url, no padding).
- `keys/`: the peer descriptor of every party; a key counts for entries dated within
  its `valid_from`..`valid_until` window.
- `checkpoints/`: signed checkpoints (c2sp.org/tlog-checkpoint in a c2sp.org/signed-note)
  of the log: origin, tree size, base64 Merkle root. Leaf i of the tree is
  SHA-256(0x00 || line i of entries.jsonl without its newline); inner nodes are
  SHA-256(0x01 || left || right) (RFC 9162 section 2.1).
- `manifest.json`: the log's owner, the checkpoint origin and the note verifier key.

To check: run `topmatch ledger verify <this folder>`, or write your own verifier from
the above; docs/ledger.md in the Topmatch repository describes every field.
"""


class Manifest(BaseModel):
    """``manifest.json`` of a bundle (schemas/ledger-bundle-manifest.schema.json)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["topmatch.ledger-bundle/1"] = FORMAT
    owner: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="the log's node")
    origin: str = Field(description="checkpoint origin line and note key name")
    note_key: str = Field(description="verifier key (vkey) of the checkpoint signatures")
    entries: Count
    checkpoints: Count
    exported_at: datetime


@dataclass
class Report:
    ok: bool
    entries: int = 0
    checkpoints: int = 0
    parties: set[str] = field(default_factory=set)
    failure: str | None = None
    keys: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        if self.ok:
            entries = "entry" if self.entries == 1 else "entries"
            checkpoints = "checkpoint" if self.checkpoints == 1 else "checkpoints"
            return (
                f"OK: {self.entries} {entries}, {self.checkpoints} {checkpoints}, "
                f"parties {', '.join(sorted(self.parties))}"
            )
        return f"FAILED: {self.failure}"


def export(
    directory: Path,
    *,
    owner: str,
    origin: str,
    vkey: str,
    entries: Sequence[bytes],
    checkpoints: Sequence[tuple[int, bytes]],
    descriptors: Iterable[PeerDescriptor],
    now: datetime,
) -> None:
    """Write a bundle (the folder must be empty or absent)."""
    if directory.exists() and any(directory.iterdir()):
        raise LedgerError(f"{directory} is not empty: export into a new folder")
    (directory / "checkpoints").mkdir(parents=True, exist_ok=True)
    (directory / "keys").mkdir(exist_ok=True)
    (directory / "entries.jsonl").write_bytes(b"".join(e + b"\n" for e in entries))
    for size, signed_note in checkpoints:
        (directory / "checkpoints" / f"{size}.note").write_bytes(signed_note)
    for descriptor in descriptors:
        (directory / "keys" / f"{descriptor.node_id}.json").write_text(
            descriptor.model_dump_json(indent=2) + "\n"
        )
    manifest = Manifest(
        owner=owner,
        origin=origin,
        note_key=vkey,
        entries=len(entries),
        checkpoints=len(checkpoints),
        exported_at=now,
    )
    (directory / "manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n")
    (directory / "README.md").write_text(README)


class BundleError(LedgerError):
    code = "bundle_invalid"


def _load_keys(folder: Path) -> KeyBook:
    """Descriptors from ``folder``: the bundle's ``keys/``, or an auditor's own folder."""
    if not folder.is_dir():
        raise BundleError(f"no key folder at {folder}")
    descriptors = []
    for path in sorted(folder.glob("*.json")):
        try:
            descriptors.append(PeerDescriptor.model_validate_json(path.read_bytes()))
        except ValidationError as e:
            raise BundleError(
                f"keys/{path.name} is not a valid descriptor: {e.errors()[0]['msg']}"
            ) from e
    return KeyBook(descriptors)


def _check_entries(lines: list[bytes], owner: str, book: KeyBook, report: Report) -> list[bytes]:
    leaves = []
    seen: set[str] = set()
    for number, line in enumerate(lines):
        where = f"entry {number} (line {number + 1})"
        try:
            data = canonical.parse_canonical(line)
            entry = SignedEntry.model_validate_json(line)
            if owner not in entry.parties:
                raise BundleError(f"the log's owner {owner} is not a party")
            if entry.entry_id in seen:
                raise BundleError(f"entry id {entry.entry_id} appears twice")
            canonical.verify_entry(
                data, resolve_key=book.resolver(entry.at), required_parties=entry.parties
            )
        except (TopmatchError, ValidationError) as e:
            detail = e.diagnostics() if isinstance(e, TopmatchError) else e.errors()[0]["msg"]
            raise BundleError(f"{where}: {detail}") from e
        seen.add(entry.entry_id)
        report.parties |= entry.parties
        leaves.append(merkle.leaf_hash(line))
    return leaves


def _check_checkpoints(
    directory: Path, manifest: dict[str, Any], book: KeyBook, leaves: list[bytes], report: Report
) -> None:
    # Every key the owner ever had: a checkpoint signed before a key rotation still counts.
    verifiers = [
        note.NoteVerifier(manifest["origin"], k) for k in book.public_keys(manifest["owner"])
    ]
    if manifest["note_key"] not in {v.vkey for v in verifiers}:
        raise BundleError("the manifest's note key is not one of the owner's keys")
    previous: tuple[int, bytes] | None = None
    paths = sorted((directory / "checkpoints").glob("*.note"), key=lambda p: int(p.stem))
    for path in paths:
        where = f"checkpoints/{path.name}"
        try:
            opened = note.open_note(path.read_bytes(), verifiers)
            point = note.parse_checkpoint(opened.text)
        except LedgerError as e:
            raise BundleError(f"{where}: {e.diagnostics()}") from e
        if point.origin != manifest["origin"]:
            raise BundleError(f"{where}: origin {point.origin!r}, expected {manifest['origin']!r}")
        if point.size > len(leaves):
            raise BundleError(
                f"{where}: size {point.size} but the bundle has only "
                f"{len(leaves)} entries (truncated log?)"
            )
        expected = merkle.root(leaves[: point.size])
        if expected != point.root_hash:
            raise BundleError(
                f"{where}: expected root {expected.hex()}, checkpoint says {point.root_hash.hex()}"
            )
        if previous is not None:
            proof = merkle.consistency_proof(leaves[: point.size], previous[0])
            merkle.verify_consistency(
                old_size=previous[0],
                new_size=point.size,
                old_root=previous[1],
                new_root=point.root_hash,
                proof=proof,
            )
        previous = (point.size, point.root_hash)
        report.checkpoints += 1


def verify(directory: Path, *, trusted_keys: Path | None = None) -> Report:
    """Check every signature, every entry under its checkpoints, and every checkpoint.

    The bundle's own ``keys/`` say which keys its parties have; an auditor who obtained
    the bureaus' descriptors independently passes them as ``trusted_keys`` (a folder of
    descriptor files), and then the bundle's keys are not used at all: a bundle owner
    cannot vouch for its counterparties' keys.
    """
    report = Report(ok=False)
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BundleError(f"manifest.json is not a {FORMAT} manifest")
        Manifest.model_validate(manifest)  # every field present and well-formed
        book = _load_keys(trusted_keys if trusted_keys is not None else directory / "keys")
        report.keys = {node: [k.key_id for k in d.keys] for node, d in book.descriptors.items()}
        lines = (directory / "entries.jsonl").read_bytes().splitlines()
        leaves = _check_entries(lines, manifest["owner"], book, report)
        report.entries = len(leaves)
        _check_checkpoints(directory, manifest, book, leaves, report)
        if report.checkpoints == 0 and leaves:
            raise BundleError("no checkpoint covers the entries")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        report.failure = f"unreadable bundle: {e}"
        return report
    except TopmatchError as e:
        report.failure = e.diagnostics()
        return report
    report.ok = True
    return report
