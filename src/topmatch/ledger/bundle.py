"""The offline audit bundle: export it from a node, verify it anywhere.

A bundle is a folder::

    manifest.json             format, the log's owner, origin and note verifier key, counts
    entries.jsonl             every entry, one RFC 8785 canonical JSON object per line, in log
                              order
    checkpoints/N.note        every signed checkpoint (C2SP tlog-checkpoint in a signed note),
                              N its tree size, with the witnesses' cosignature lines
                              (C2SP tlog-cosignature)
    agreements/<sha256>.json  every signed fee agreement the entries name
    keys/<node>.json          the peer descriptor (all keys, retired ones too) of the owner,
                              every party, agreement member and witness
    roster/<version>.json     the federation roster versions the node held (none when it
                              runs without a roster), as topmatch writes them
    README.md                 how to check it, by hand or with ``topmatch ledger verify``

:func:`verify` needs the folder and the keys the auditor trusts (descriptors from the
bureaus, or the federation roster): no database, no network, no node. Every JSON file is in
RFC 8785 canonical form and ends in LF, so that every byte of the bundle is checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from topmatch.bounds import Count
from topmatch.errors import TopmatchError
from topmatch.identity.descriptor import PeerDescriptor, PublicKey
from topmatch.ledger import canonical, fees, merkle, note
from topmatch.ledger.errors import BundleError, LedgerError
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import SignedEntry
from topmatch.roster import verify as roster_verify
from topmatch.roster.errors import RosterError
from topmatch.roster.models import Purpose, Roster
from topmatch.settlement import agreement as pricing
from topmatch.settlement.schemas import FeeAgreement, SignedAgreement

FORMAT: Final = "topmatch.ledger-bundle/1"

README = """# Topmatch ledger bundle

This folder is a complete, self-contained copy of one bureau's fee ledger.

- `entries.jsonl`: one entry per line, each in RFC 8785 canonical JSON, in log order,
  every line ending in LF. Each entry carries the Ed25519 signatures (RFC 8032) of both
  parties, made over the canonical JSON of the entry without its `signatures` member
  (base64url, no padding).
- `agreements/<sha256>.json`: every signed fee agreement an entry names, in RFC 8785
  canonical JSON with its members' signatures; the file name is the SHA-256 of the
  agreement without `signatures`, as entries name it. Every amount follows from it.
- `keys/<node>.json`: the peer descriptor of the owner, every party, every agreement
  member and every witness. A key counts for entries dated within its
  `valid_from`..`valid_until` window. Do not trust these files on their own: compare
  them with descriptors you obtained from the bureaus (or the federation roster).
- `checkpoints/<size>.note`: signed checkpoints (c2sp.org/tlog-checkpoint in a
  c2sp.org/signed-note) of the log: origin, tree size, base64 Merkle root, signed by the
  owner and cosigned by witnesses (c2sp.org/tlog-cosignature). Leaf i of the tree is
  SHA-256(0x00 || line i of entries.jsonl without its newline); inner nodes are
  SHA-256(0x01 || left || right) (RFC 9162 section 2.1).
- `roster/<version>.json`: the versions of the signed federation roster the node held
  (peers/README.md in the Topmatch repository), each signed by a threshold of the
  members of the version before. They anchor nothing on their own: pin the first version
  you obtained yourself, and the later ones here must follow from it.
- `manifest.json`: the log's owner, the checkpoint origin, the note verifier key and
  the counts (entries, checkpoints, roster versions), in RFC 8785 canonical JSON.

To check: run `topmatch ledger verify <this folder> --roster <roster you pinned>` or
`topmatch ledger verify <this folder> --trusted-keys <descriptors>`
(add `--witness-quorum 1` or more to require witnesses' cosignatures), or write your
own verifier from the above; docs/ledger.md in the Topmatch repository describes every
field and every check.
"""


class Manifest(BaseModel):
    """``manifest.json`` of a bundle (schemas/ledger-bundle-manifest.schema.json)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal["topmatch.ledger-bundle/1"] = FORMAT
    owner: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="the log's node")
    origin: str = Field(description="checkpoint origin line and note key name")
    note_key: str = Field(description="verifier key (vkey) of the checkpoint signatures")
    entries: Count
    checkpoints: Count
    rosters: Count = Field(description="roster versions in roster/")
    exported_at: datetime


@dataclass
class Report:
    """What :func:`verify` found. On failure, ``failure`` says why, ``file`` names the
    bundle file (relative path) and ``check`` the check that failed."""

    ok: bool
    entries: int = 0
    checkpoints: int = 0
    parties: set[str] = field(default_factory=set)
    failure: str | None = None
    keys: dict[str, list[str]] = field(default_factory=dict)
    file: str | None = None
    check: str | None = None
    anchored: bool = False
    agreements: int = 0
    witnesses: list[str] = field(default_factory=list)
    roster: int | None = None  # the latest roster version in the bundle

    def summary(self) -> str:
        if not self.ok:
            return f"FAILED: {self.failure}"
        entries = "entry" if self.entries == 1 else "entries"
        checkpoints = "checkpoint" if self.checkpoints == 1 else "checkpoints"
        text = (
            f"OK: {self.entries} {entries}, {self.checkpoints} {checkpoints}, "
            f"parties {', '.join(sorted(self.parties))}"
        )
        if not self.anchored:
            text += (
                "\nWARNING: KEYS NOT ANCHORED: checked against the bundle's own keys/, which "
                "its owner could have forged; pass --trusted-keys or --roster to prove who signed"
            )
        return text


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
    agreements: Iterable[SignedAgreement] = (),
    cosignatures: Mapping[int, Sequence[bytes]] | None = None,
    rosters: Iterable[Roster] = (),
) -> None:
    """Write a bundle (the folder must be empty or absent).

    ``agreements``: the signed fee agreements the entries name; ``cosignatures``: per tree
    size, the witnesses' cosignature lines (c2sp.org/tlog-cosignature), added to that
    checkpoint's note as extra signature lines; ``rosters``: the federation roster versions
    the node holds.
    """
    if directory.exists() and any(directory.iterdir()):
        raise LedgerError(f"{directory} is not empty: export into a new folder")
    for folder in _FOLDERS:
        (directory / folder).mkdir(parents=True, exist_ok=True)
    written = {roster.signed.version: roster for roster in rosters}
    for version, roster in written.items():
        path = directory / "roster" / f"{version}.json"
        path.write_bytes(roster_verify.dump_roster(roster))
    (directory / "entries.jsonl").write_bytes(b"".join(e + b"\n" for e in entries))
    lines = cosignatures or {}
    for size, signed_note in checkpoints:
        cosigned = signed_note + b"".join(lines.get(size, ()))
        (directory / "checkpoints" / f"{size}.note").write_bytes(cosigned)
    for descriptor in descriptors:
        (directory / "keys" / f"{descriptor.node_id}.json").write_bytes(_json_bytes(descriptor))
    for signed in agreements:
        path = directory / fees.agreement_file(pricing.sha256(pricing.strip(signed)))
        path.write_bytes(fees.agreement_bytes(signed))
    manifest = Manifest(
        owner=owner,
        origin=origin,
        note_key=vkey,
        entries=len(entries),
        checkpoints=len(checkpoints),
        rosters=len(written),
        exported_at=now,
    )
    (directory / "manifest.json").write_bytes(_json_bytes(manifest))
    (directory / "README.md").write_text(README)


NO_ANCHOR: Final = (
    "no trusted keys: a bundle cannot vouch for its own keys/. Pass --trusted-keys DIR "
    "(the bureaus' descriptors, obtained from the bureaus themselves) or --roster FILE (the "
    "federation roster); --trust-bundle-keys checks against the bundle's own keys/ instead, "
    "which proves the bundle is intact but not who signed it"
)
_FOLDERS: Final = ("checkpoints", "keys", "agreements", "roster")
_LAYOUT: Final = frozenset({"manifest.json", "entries.jsonl", "README.md", *_FOLDERS})
_ROSTER_NAME: Final = re.compile(r"([1-9][0-9]{0,9})\.json")
_NOTE_NAME: Final = re.compile(r"(0|[1-9][0-9]{0,18})\.note")
_KEY_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{1,62}\.json")
_AGREEMENT_NAME: Final = re.compile(r"[0-9a-f]{64}\.json")


@dataclass(frozen=True)
class _Bundle:
    """What the framing checks leave: the manifest, the entry lines, the checkpoint files
    (tree size, path) in size order, and the descriptors in ``keys/``."""

    manifest: Manifest
    lines: list[bytes]
    checkpoints: list[tuple[int, Path]]
    keys: dict[str, PeerDescriptor]
    rosters: list[Roster]


def _check_layout(directory: Path) -> None:
    """Exactly the files of the format, nothing else; README.md is the format's own."""
    if not directory.is_dir():
        raise BundleError(str(directory), "layout", "no bundle folder here")
    for path in sorted(directory.iterdir()):
        if path.name not in _LAYOUT:
            raise BundleError(path.name, "layout", "stray file: not part of a ledger bundle")
    for name in sorted(_LAYOUT):
        path = directory / name
        if not path.exists():
            raise BundleError(name, "layout", "missing")
        if path.is_dir() != (name in _FOLDERS):
            raise BundleError(name, "layout", "a file where a folder belongs, or the reverse")
    if (directory / "README.md").read_bytes() != README.encode():
        raise BundleError("README.md", "content", f"not the README of the {FORMAT} format")


def _canonical_file(raw: bytes, file: str) -> bytes:
    """The JSON of a bundle file in its one form: RFC 8785 canonical, one line, LF."""
    if not raw.endswith(b"\n") or raw.count(b"\n") != 1:
        raise BundleError(file, "framing", "one line of RFC 8785 canonical JSON and LF")
    try:
        canonical.parse_canonical(raw[:-1])
    except LedgerError as e:
        raise BundleError(file, "framing", e.diagnostics()) from e
    return raw[:-1]


def _json_bytes(model: BaseModel) -> bytes:
    return canonical.canonical(model.model_dump(mode="json")) + b"\n"


def _load_manifest(directory: Path) -> Manifest:
    raw = _canonical_file((directory / "manifest.json").read_bytes(), "manifest.json")
    try:
        return Manifest.model_validate_json(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BundleError(
            "manifest.json", "format", f"not a {FORMAT} manifest: {where}: {first['msg']}"
        ) from e


def _entry_lines(data: bytes) -> list[bytes]:
    """The lines of entries.jsonl: LF-framed, a newline after the last, no empty line."""
    file = "entries.jsonl"
    if b"\r" in data:
        at = data.index(b"\r")
        raise BundleError(file, "framing", f"CR at byte {at}: lines end in LF alone")
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise BundleError(file, "framing", "no newline after the last entry")
    lines = data[:-1].split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line:
            raise BundleError(file, "framing", f"line {number} is empty")
    return lines


def _checkpoint_files(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for path in folder.iterdir():
        name = _NOTE_NAME.fullmatch(path.name)
        if name is None or not path.is_file():
            raise BundleError(
                f"checkpoints/{path.name}",
                "layout",
                "stray file: checkpoints are named N.note, N the tree size in decimal",
            )
        found.append((int(name[1]), path))
    return sorted(found)


def _descriptors(folder: Path, *, label: str, in_bundle: bool = True) -> dict[str, PeerDescriptor]:
    """``<node>.json`` descriptors of ``folder``: the bundle's keys/ (in canonical form), or
    an auditor's own folder (any JSON)."""
    if not folder.is_dir():
        raise BundleError(label, "keys", f"no key folder at {folder}")
    found: dict[str, PeerDescriptor] = {}
    for path in sorted(folder.iterdir()):
        where = f"{label}/{path.name}"
        if _KEY_NAME.fullmatch(path.name) is None or not path.is_file():
            raise BundleError(where, "layout", "stray file: descriptors are named <node>.json")
        raw = path.read_bytes()
        try:
            descriptor = PeerDescriptor.model_validate_json(
                _canonical_file(raw, where) if in_bundle else raw
            )
        except ValidationError as e:
            raise BundleError(
                where, "keys", f"not a valid descriptor: {e.errors()[0]['msg']}"
            ) from e
        if descriptor.node_id != path.stem:
            raise BundleError(where, "keys", f"holds the descriptor of {descriptor.node_id}")
        found[descriptor.node_id] = descriptor
    return found


def _read(directory: Path) -> _Bundle:
    """The framing and completeness checks: layout, manifest, entry lines, counts."""
    _check_layout(directory)
    manifest = _load_manifest(directory)
    lines = _entry_lines((directory / "entries.jsonl").read_bytes())
    checkpoints = _checkpoint_files(directory / "checkpoints")
    if manifest.entries != len(lines):
        raise BundleError(
            "manifest.json",
            "counts",
            f"says {manifest.entries} entries, entries.jsonl holds {len(lines)}",
        )
    if manifest.checkpoints != len(checkpoints):
        raise BundleError(
            "manifest.json",
            "counts",
            f"says {manifest.checkpoints} checkpoints, checkpoints/ holds {len(checkpoints)}",
        )
    keys = _descriptors(directory / "keys", label="keys")
    rosters = _rosters(directory / "roster")
    if manifest.rosters != len(rosters):
        raise BundleError(
            "manifest.json",
            "counts",
            f"says {manifest.rosters} roster versions, roster/ holds {len(rosters)}",
        )
    return _Bundle(manifest, lines, checkpoints, keys, rosters)


def _rosters(folder: Path) -> list[Roster]:
    """The roster versions in ``roster/``: each named for its version, written as topmatch
    writes it, linked into one chain (the lowest pinned by its own threshold), and every
    signature on them valid. They anchor nothing alone (see :func:`_anchor`)."""
    found: list[Roster] = []
    for path in sorted(folder.iterdir()):
        file = f"roster/{path.name}"
        name = _ROSTER_NAME.fullmatch(path.name)
        if name is None or not path.is_file():
            raise BundleError(file, "layout", "stray file: roster versions are named N.json")
        raw = path.read_bytes()
        try:
            roster = roster_verify.parse_roster(raw)
        except RosterError as e:
            raise BundleError(file, "roster", e.message) from e
        if roster_verify.dump_roster(roster) != raw:
            raise BundleError(file, "framing", "not written as topmatch writes a roster")
        if roster.signed.version != int(name[1]):
            raise BundleError(file, "roster", f"holds version {roster.signed.version}")
        found.append(roster)
    found.sort(key=lambda r: r.signed.version)
    for n, roster in enumerate(found):  # each version checked on its own, named by its file
        try:
            roster_verify.follow_chain(found[: n + 1])
            roster_verify.require_every_signature(found[max(0, n - 1) : n + 1])
        except RosterError as e:
            raise BundleError(f"roster/{roster.signed.version}.json", "roster", e.message) from e
    return found


def _unanchored_keys(found: PeerDescriptor, trusted: PeerDescriptor) -> str | None:
    """Why ``found`` (from the bundle's keys/) is not the anchored descriptor, or None.

    Every field must be the anchor's, except that the anchor may list more keys (a key
    rotated in later, say in a newer roster) and may end a key's window earlier (a key
    revoked later). Verification uses the anchor's keys and windows either way.
    """
    a = found.model_dump(mode="json", exclude={"keys"})
    b = trusted.model_dump(mode="json", exclude={"keys"})
    fields = sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))
    anchored = {k.key_id: k for k in trusted.keys}
    for key in found.keys:
        known = anchored.get(key.key_id)
        if known is None or not _same_key(known, key):
            fields.append("keys")
    if not fields:
        return None
    ids = ", ".join(k.key_id for k in found.keys)
    trusted_ids = ", ".join(k.key_id for k in trusted.keys)
    return (
        f"differs in {', '.join(sorted(set(fields)))} (key ids here: {ids}; trusted: {trusted_ids})"
    )


def _same_key(anchored: PublicKey, listed: PublicKey) -> bool:
    """``listed`` is ``anchored``, or the anchor ends its window earlier (a revocation the
    anchor learnt of later); the anchor never widens a window."""
    if anchored.model_copy(update={"valid_until": listed.valid_until}) != listed:
        return False
    end, claimed = anchored.valid_until, listed.valid_until
    return end == claimed or (end is not None and (claimed is None or end < claimed))


@dataclass(frozen=True)
class _Anchor:
    """The trusted descriptors per use: ``ledger`` for entries, checkpoints and agreements,
    ``witness`` for cosignatures. Without a roster both are the same; a roster lists each
    key's purposes, and a key verifies only what it is listed for."""

    ledger: dict[str, PeerDescriptor]
    witness: dict[str, PeerDescriptor]
    anchored: bool


def _anchor(
    found: _Bundle,
    *,
    trusted_keys: Path | None,
    trusted: Sequence[PeerDescriptor] | None,
    rosters: Sequence[Roster],
    trust_bundle_keys: bool,
) -> _Anchor:
    """The descriptors to verify with, and whether they are anchored outside the bundle.

    With an anchor, every key in keys/ must be one the anchor lists for its node. The
    auditor's ``rosters`` anchor the members' keys, extended by the bundle's own later
    versions when these follow validly from them.
    """
    own = found.keys
    if trusted is None and trusted_keys is None and not rosters:
        if not trust_bundle_keys:
            raise BundleError("keys", "anchor", NO_ANCHOR)
        return _Anchor(own, own, anchored=False)
    anchor = {d.node_id: d for d in trusted or ()}
    if trusted_keys is not None:
        anchor.update(_descriptors(trusted_keys, label=str(trusted_keys), in_bundle=False))
    ledger, witness = dict(anchor), dict(anchor)
    if rosters:
        for purpose, into in ((None, anchor), (Purpose.ledger, ledger), (Purpose.witness, witness)):
            into.update((d.node_id, d) for d in _roster_anchor(rosters, found.rosters, purpose))
    for node, descriptor in own.items():
        expected = anchor.get(node)
        if expected is None:
            raise BundleError(
                f"keys/{node}.json", "anchor", f"{node} is not among the trusted descriptors"
            )
        problem = _unanchored_keys(descriptor, expected)
        if problem is not None:
            raise BundleError(
                f"keys/{node}.json", "anchor", f"not the trusted descriptor of {node}: {problem}"
            )
    return _Anchor(ledger, witness, anchored=True)


def _roster_anchor(
    pinned: Sequence[Roster], carried: Sequence[Roster], purpose: Purpose | None
) -> list[PeerDescriptor]:
    """The members' keys from the auditor's roster versions and the bundle's versions from
    the auditor's lowest on: one chain, the lowest pinned by its own threshold. A version
    both have must be the same (else the federation forked, or someone tried)."""
    lowest = min(r.signed.version for r in pinned)
    chain = [*pinned, *(r for r in carried if r.signed.version >= lowest)]
    try:
        return roster_verify.descriptors_across(chain, purpose=purpose)
    except RosterError as e:
        raise BundleError("roster", "anchor", f"the roster given and roster/: {e.message}") from e


def _check_entries(
    lines: list[bytes], owner: str, book: KeyBook, report: Report
) -> tuple[list[bytes], list[SignedEntry]]:
    """Every entry canonical, valid, the owner's, once, and signed by both parties; the
    Merkle leaves and the entries."""
    leaves = []
    entries: list[SignedEntry] = []
    seen: set[str] = set()
    for number, line in enumerate(lines):
        where = f"entry {number} (line {number + 1})"
        try:
            data = canonical.parse_canonical(line)
            entry = SignedEntry.model_validate_json(line)
            if owner not in entry.parties:
                raise LedgerError(f"the log's owner {owner} is not a party")
            if entry.entry_id in seen:
                raise LedgerError(f"entry id {entry.entry_id} appears twice")
            canonical.verify_entry(
                data, resolve_key=book.resolver(entry.at), required_parties=entry.parties
            )
        except (TopmatchError, ValidationError) as e:
            detail = e.diagnostics() if isinstance(e, TopmatchError) else e.errors()[0]["msg"]
            raise BundleError("entries.jsonl", "entries", f"{where}: {detail}") from e
        seen.add(entry.entry_id)
        report.parties |= entry.parties
        leaves.append(merkle.leaf_hash(line))
        entries.append(entry)
    return leaves, entries


def _check_agreements(
    folder: Path, book: KeyBook, entries: Sequence[SignedEntry]
) -> dict[str, FeeAgreement]:
    """Every file in agreements/ is an agreement in force that an entry names."""
    named = {e.agreement.sha256 for e in entries if e.agreement is not None}
    found: dict[str, FeeAgreement] = {}
    for path in sorted(folder.iterdir()):
        file = f"agreements/{path.name}"
        if _AGREEMENT_NAME.fullmatch(path.name) is None or not path.is_file():
            raise BundleError(file, "layout", "stray file: agreements are named <sha256>.json")
        if path.stem not in named:
            raise BundleError(file, "layout", "stray file: no entry names this agreement")
        found[path.stem] = fees.check_agreement(file, path.read_bytes(), book)
    return found


def _check_parties_keys(keys: dict[str, PeerDescriptor], needed: dict[str, str]) -> None:
    """keys/ holds the descriptor of the owner, every party and every agreement member
    (``needed``: node and why)."""
    for node, why in sorted(needed.items()):
        if node not in keys:
            raise BundleError(f"keys/{node}.json", "keys", f"missing: {node} is {why}")


def _check_checkpoints(
    found: _Bundle, book: KeyBook, witnesses_book: KeyBook, leaves: list[bytes], report: Report
) -> list[str]:
    """Every checkpoint signed by the owner, named for its size, over the entries, each
    consistent with the one before; the witnesses that cosigned the latest."""
    manifest = found.manifest
    verifiers = [
        *_owner_verifiers(manifest, book),
        *_witness_verifiers(witnesses_book, manifest.owner),
    ]
    previous: tuple[int, bytes] | None = None
    witnesses: list[str] = []
    for size, path in found.checkpoints:
        where = f"checkpoints/{path.name}"
        point, witnesses = _open_checkpoint(path.read_bytes(), where, verifiers, manifest.origin)
        _check_point(point, where, size=size, origin=manifest.origin, leaves=leaves)
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
    _check_coverage(found, len(leaves))
    return witnesses


def _owner_verifiers(manifest: Manifest, book: KeyBook) -> list[note.Verifier]:
    """The owner's note verifiers, named by the origin: every key the owner ever had (a
    checkpoint signed before a key rotation still counts); the manifest's note key is one."""
    if manifest.owner not in book.descriptors:
        raise BundleError("manifest.json", "owner", f"no trusted descriptor of {manifest.owner}")
    verifiers = [note.NoteVerifier(manifest.origin, k) for k in book.public_keys(manifest.owner)]
    if manifest.note_key not in {v.vkey for v in verifiers}:
        raise BundleError(
            "manifest.json", "keys", f"the note key is not one of {manifest.owner}'s keys"
        )
    return list(verifiers)


def _witness_verifiers(book: KeyBook, owner: str) -> list[note.Verifier]:
    """A cosignature verifier (c2sp.org/tlog-cosignature) per key of every trusted node but
    the owner, named by its node id."""
    return [
        note.CosignatureVerifier(node, key)
        for node in sorted(book.descriptors)
        if node != owner
        for key in book.public_keys(node)
    ]


def _open_checkpoint(
    signed: bytes, where: str, verifiers: Sequence[note.Verifier], origin: str
) -> tuple[note.Checkpoint, list[str]]:
    """The checkpoint, signed by the owner, and the witnesses whose cosignatures on it
    verify. Every signature line must be by a trusted key and verify: a line by an unknown
    key is refused, not skipped, so nothing in the file goes unchecked."""
    try:
        _, lines = note.split_note(signed)
        _check_signers(lines, where, verifiers)
        opened = note.open_note(signed, verifiers, require=[origin])
        point = note.parse_checkpoint(opened.text)
    except LedgerError as e:
        if isinstance(e, BundleError):
            raise
        raise BundleError(where, "signature", e.diagnostics()) from e
    return point, sorted(name for name in opened.verified_names if name != origin)


def _check_signers(
    lines: Sequence[note.NoteSignature], where: str, verifiers: Sequence[note.Verifier]
) -> None:
    known = {(v.name, v.key_hash) for v in verifiers}
    for number, line in enumerate(lines, 1):
        if (line.name, line.key_hash) not in known:
            raise BundleError(
                where,
                "signature",
                f"signature line {number} is by {line.name}+{line.key_hash.hex()}, no trusted key",
            )


def _check_point(
    point: note.Checkpoint, where: str, *, size: int, origin: str, leaves: list[bytes]
) -> None:
    if point.origin != origin:
        raise BundleError(where, "origin", f"origin {point.origin!r}, expected {origin!r}")
    if point.size != size:
        raise BundleError(
            where, "file name", f"named for tree size {size}, the checkpoint's size is {point.size}"
        )
    if point.size > len(leaves):
        raise BundleError(
            where,
            "coverage",
            f"size {point.size} but the bundle has only {len(leaves)} entries (truncated log?)",
        )
    expected = merkle.root(leaves[: point.size])
    if expected != point.root_hash:
        raise BundleError(
            where,
            "merkle root",
            f"expected root {expected.hex()} over the first {point.size} lines of "
            f"entries.jsonl, checkpoint says {point.root_hash.hex()}",
        )


def _check_coverage(found: _Bundle, count: int) -> None:
    """Every entry is under a checkpoint: the latest one's size is the number of entries."""
    if not found.checkpoints:
        if count:
            raise BundleError("checkpoints", "coverage", f"no checkpoint covers {count} entries")
        return
    size, path = found.checkpoints[-1]
    if size != count:
        raise BundleError(
            "entries.jsonl",
            "coverage",
            f"entries {size} to {count - 1} are under no checkpoint: the latest, "
            f"checkpoints/{path.name}, covers {size} of {count}",
        )


def verify(
    directory: Path,
    *,
    trusted_keys: Path | None = None,
    trusted: Sequence[PeerDescriptor] | None = None,
    rosters: Sequence[Roster] = (),
    trust_bundle_keys: bool = False,
    witness_quorum: int = 0,
) -> Report:
    """Check a bundle: framing and completeness, every signature with keys anchored outside
    the bundle, every entry under its checkpoints, and every checkpoint.

    Keys come from ``rosters`` (the federation roster versions the auditor pinned, extended
    by later versions in the bundle's ``roster/`` that follow from them), ``trusted``
    (descriptors) and/or ``trusted_keys`` (a folder of descriptor files obtained from the
    bureaus themselves);
    every key in the bundle's ``keys/`` must be one the anchor lists for its node.
    Without either, verify refuses, unless ``trust_bundle_keys`` says to use the bundle's
    own ``keys/``; the report then says the keys were not anchored (``Report.anchored``).
    A failure names the file and the check (``Report.file``, ``Report.check``).
    """
    report = Report(ok=False)
    try:
        _verify(
            directory,
            report,
            trusted_keys=trusted_keys,
            trusted=trusted,
            rosters=rosters,
            trust_bundle_keys=trust_bundle_keys,
            witness_quorum=witness_quorum,
        )
    except BundleError as e:
        report.failure, report.file, report.check = e.diagnostics(), e.file, e.check
        return report
    except TopmatchError as e:
        report.failure = e.diagnostics()
        return report
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        report.failure = f"unreadable bundle: {e}"
        return report
    report.ok = True
    return report


def _verify(
    directory: Path,
    report: Report,
    *,
    trusted_keys: Path | None,
    trusted: Sequence[PeerDescriptor] | None,
    rosters: Sequence[Roster],
    trust_bundle_keys: bool,
    witness_quorum: int,
) -> None:
    found = _read(directory)
    anchor = _anchor(
        found,
        trusted_keys=trusted_keys,
        trusted=trusted,
        rosters=rosters,
        trust_bundle_keys=trust_bundle_keys,
    )
    report.anchored = anchor.anchored
    report.roster = found.rosters[-1].signed.version if found.rosters else None
    report.keys = {node: [k.key_id for k in d.keys] for node, d in found.keys.items()}
    book = KeyBook(anchor.ledger.values())
    _owner_verifiers(found.manifest, book)  # the manifest names the owner and its key
    owner = found.manifest.owner
    leaves, entries = _check_entries(found.lines, owner, book, report)
    report.entries = len(leaves)
    agreements = _check_agreements(directory / "agreements", book, entries)
    report.agreements = len(agreements)
    needed = {
        **{m: "a member of a fee agreement" for a in agreements.values() for m in a.members},
        **dict.fromkeys(report.parties, "a party of the log"),
        owner: "the log's owner",
    }
    _check_parties_keys(found.keys, needed)
    fees.check_fees(entries, agreements)
    witnesses = KeyBook(anchor.witness.values())
    report.witnesses = _check_checkpoints(found, book, witnesses, leaves, report)
    if len(report.witnesses) < witness_quorum:
        _, path = found.checkpoints[-1] if found.checkpoints else (0, Path("none"))
        raise BundleError(
            f"checkpoints/{path.name}",
            "witness quorum",
            f"cosigned by {len(report.witnesses)} of {witness_quorum} required witnesses "
            f"({', '.join(report.witnesses) or 'none'}): the log may have been rolled back "
            "below what the witnesses saw",
        )
