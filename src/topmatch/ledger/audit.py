"""The federation audit: many bureaus' ledger bundles checked against each other.

:func:`topmatch.ledger.bundle.verify` checks one bundle on its own. What no single bundle
can show, :func:`audit` finds by comparing them (docs/ledger.md, "Threat model"):

``invalid``       ``bundle.verify`` rejects a bundle, or a checkpoint seen elsewhere does not
                  verify under its log owner's keys
``omission``      an entry two bureaus both signed is in one bureau's bundle and missing from
                  the other's (named by entry id and the bundle that lacks it)
``equivocation``  one entry id with different bytes in two bundles (both lines are the proof)
``truncation``    a bundle holds fewer entries than a checkpoint of its log seen elsewhere
                  (both signed notes are the proof)
``fork``          two checkpoints of one log that no append-only log produces: two roots at
                  one size, or a smaller tree that is not a prefix of a larger one (the RFC
                  9162 section 2.1.4 consistency proof from the bundle's own leaves fails;
                  both signed notes are the proof)
``statement``     a ``settlement.closed`` entry whose statement hash or net differs from the
                  bilateral statement recomputed from the bundle's entries and the fee
                  agreement (topmatch.settlement.statement, the code every node closes with)

A checkpoint of a log is *seen* in its own bundle's ``checkpoints/N.note``, in any other
bundle of the same log (an older or newer export), and in ``witnessed/<node>/N.note`` of any
bundle (the checkpoints of other logs a bureau witnessed), each opened with the log owner's
keys. The audit compares each bundle of a log with every checkpoint of that log seen
anywhere else.

Each bureau's *current* bundle is its latest export (``exported_at``; on a tie the one named
last). Entries are compared between the current bundles; older bundles of a bureau serve as
checkpoints seen elsewhere. An entry dated after the export of the bundle that lacks it is
not an omission (it may have been signed since): it is counted as ``later``.

:func:`read` and :func:`run` read folders; :func:`audit` is pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from topmatch.errors import TopmatchError
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import bundle, merkle, note
from topmatch.ledger.errors import ConsistencyProofError
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import SignedEntry
from topmatch.roster import verify as roster_verify
from topmatch.roster.errors import RosterError
from topmatch.roster.models import Roster
from topmatch.settlement import agreement as pricing
from topmatch.settlement import statement as statements
from topmatch.settlement.periods import parse_period
from topmatch.settlement.schemas import FeeAgreement, SignedAgreement

FORMAT: Final = "topmatch.ledger-audit/1"

#: Exit codes of ``topmatch ledger audit`` (also in its help and docs/ledger.md).
EXIT_CONSISTENT: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_UNREADABLE: Final = 2

Kind = Literal["invalid", "omission", "equivocation", "truncation", "fork", "statement"]


class AuditInputError(TopmatchError):
    """A folder is not a readable ledger bundle (exit code 2)."""

    code = "audit_input_unreadable"


@dataclass(frozen=True)
class Proof:
    """One piece of evidence: where it was found and its exact text."""

    where: str
    text: str


@dataclass(frozen=True)
class Finding:
    kind: Kind
    log: str  # the bureau whose log or bundle is at fault, as far as the check can tell
    detail: str
    entry_id: str | None = None
    proof: tuple[Proof, ...] = ()


@dataclass(frozen=True)
class Skipped:
    check: str
    reason: str


class Manifest(BaseModel):
    """The fields of ``manifest.json`` the audit reads (``bundle.verify`` checks them all)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    owner: str
    origin: str
    exported_at: datetime


@dataclass(frozen=True)
class Bundle:
    """A bundle folder as read, before any check; ``label`` names it in findings."""

    label: str
    owner: str
    origin: str
    exported_at: datetime
    lines: tuple[bytes, ...]
    checkpoints: tuple[tuple[str, bytes], ...]  # (where, signed note)
    witnessed: tuple[tuple[str, str, bytes], ...] = ()  # (node, where, signed note)
    agreements: tuple[tuple[str, bytes], ...] = ()  # (where, document)
    cosignatures: int = 0  # files under cosignatures/
    own_descriptor: PeerDescriptor | None = None  # keys/<owner>.json


@dataclass(frozen=True)
class Seen:
    """A verified checkpoint of ``node``'s log, and where it was seen."""

    node: str
    size: int
    root: bytes
    note: bytes
    where: str
    source: str  # label of the bundle it came from


@dataclass
class BundleSummary:
    label: str
    owner: str
    entries: int
    checkpoints: int
    exported_at: datetime
    verified: bool
    verify_summary: str
    current: bool = False


@dataclass
class AuditReport:
    bundles: list[BundleSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("shared_entries", "later_entries", "checkpoints_compared", "statements"), 0
        )
    )

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return EXIT_UNREADABLE
        return EXIT_FINDINGS if self.findings else EXIT_CONSISTENT

    def skip(self, check: str, reason: str) -> None:
        if Skipped(check, reason) not in self.skipped:
            self.skipped.append(Skipped(check, reason))

    def summary(self) -> str:
        if self.unreadable:
            return f"UNREADABLE: {len(self.unreadable)} input(s) could not be read"
        if self.findings:
            kinds = sorted({f.kind for f in self.findings})
            return f"FINDINGS: {len(self.findings)} ({', '.join(kinds)})"
        return (
            f"CONSISTENT: {len(self.bundles)} bundles, "
            f"{self.checked['shared_entries']} shared entries, "
            f"{self.checked['checkpoints_compared']} checkpoint comparisons, "
            f"{self.checked['statements']} statements recomputed"
        )

    def to_json(self) -> dict[str, Any]:
        """The report as ``topmatch ledger audit --json`` prints it."""
        return {
            "format": FORMAT,
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "bundles": [
                {**vars(b), "exported_at": b.exported_at.isoformat()} for b in self.bundles
            ],
            "findings": [
                {
                    "kind": f.kind,
                    "log": f.log,
                    "entry_id": f.entry_id,
                    "detail": f.detail,
                    "proof": [vars(p) for p in f.proof],
                }
                for f in self.findings
            ],
            "skipped": [vars(s) for s in self.skipped],
            "checked": dict(self.checked),
            "unreadable": list(self.unreadable),
        }


# --- reading ---------------------------------------------------------------------------


def read(directory: Path, *, label: str | None = None) -> Bundle:
    """Read a bundle folder's files without checking them; AuditInputError if unreadable."""
    name = label or str(directory)
    try:
        manifest = Manifest.model_validate_json((directory / "manifest.json").read_bytes())
        lines = tuple((directory / "entries.jsonl").read_bytes().splitlines())
        checkpoints = tuple(
            (f"{name}/checkpoints/{p.name}", p.read_bytes())
            for p in _notes(directory / "checkpoints")
        )
        witnessed = tuple(
            (folder.name, f"{name}/witnessed/{folder.name}/{p.name}", p.read_bytes())
            for folder in _folders(directory / "witnessed")
            for p in _notes(folder)
        )
        agreements = tuple(
            (f"{name}/agreements/{p.name}", p.read_bytes())
            for p in sorted((directory / "agreements").glob("*.json"))
        )
        cosignatures = sum(1 for p in (directory / "cosignatures").rglob("*") if p.is_file())
        own = _own_descriptor(directory / "keys" / f"{manifest.owner}.json")
    except (OSError, ValueError) as e:
        raise AuditInputError(f"{name}: not a readable ledger bundle: {e}") from e
    return Bundle(
        label=name,
        owner=manifest.owner,
        origin=manifest.origin,
        exported_at=manifest.exported_at,
        lines=lines,
        checkpoints=checkpoints,
        witnessed=witnessed,
        agreements=agreements,
        cosignatures=cosignatures,
        own_descriptor=own,
    )


def _notes(folder: Path) -> list[Path]:
    """``N.note`` files in tree-size order (non-numeric names last; verify rejects them)."""
    found = list(folder.glob("*.note")) if folder.is_dir() else []
    return sorted(found, key=_size_order)


def _size_order(path: Path) -> tuple[int, int, str]:
    return (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.name)


def _folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _own_descriptor(path: Path) -> PeerDescriptor | None:
    if not path.is_file():
        return None
    try:
        return PeerDescriptor.model_validate_json(path.read_bytes())
    except ValidationError:
        return None  # bundle.verify names the bad file


def read_descriptors(folder: Path) -> list[PeerDescriptor]:
    """Every ``*.json`` peer descriptor in ``folder`` (an auditor's trusted keys)."""
    if not folder.is_dir():
        raise AuditInputError(f"{folder}: no such folder of peer descriptors")
    try:
        return [
            PeerDescriptor.model_validate_json(p.read_bytes())
            for p in sorted(folder.glob("*.json"))
        ]
    except (OSError, ValidationError) as e:
        raise AuditInputError(f"{folder}: not a folder of peer descriptors: {e}") from e


def _across(rosters: Sequence[Roster]) -> list[PeerDescriptor]:
    if not rosters:
        return []
    try:
        return roster_verify.descriptors_across(rosters)
    except RosterError as e:
        raise AuditInputError(f"the roster given: {e.message}") from e


def read_agreements(folder: Path) -> list[tuple[str, bytes]]:
    """Every ``*.json`` fee agreement document in ``folder`` (an auditor's own copies)."""
    if not folder.is_dir():
        raise AuditInputError(f"{folder}: no such folder of fee agreements")
    return [(str(p), p.read_bytes()) for p in sorted(folder.glob("*.json"))]


def run(
    directories: Sequence[Path],
    *,
    trusted_keys: Path | None = None,
    trusted: Sequence[PeerDescriptor] | None = None,
    rosters: Sequence[Roster] = (),
    trust_bundle_keys: bool = False,
    agreements: Path | None = None,
) -> AuditReport:
    """Read and verify every bundle, then :func:`audit` them; unreadable inputs are listed
    in the report (exit code 2) instead of raised.

    Keys are anchored as :func:`topmatch.ledger.bundle.verify` anchors them: ``rosters``
    (the federation roster versions the auditor pinned), ``trusted`` (descriptors) and/or
    ``trusted_keys`` (a folder of descriptors); without any, only ``trust_bundle_keys``
    lets the bundles vouch for their own keys, and every bundle's report says so.
    """
    failed = AuditReport()
    read_bundles: list[Bundle] = []
    reports: dict[str, bundle.Report] = {}
    try:
        given = [*(trusted or ()), *(read_descriptors(trusted_keys) if trusted_keys else ())]
        anchor: list[PeerDescriptor] | None = None
        if trusted is not None or trusted_keys is not None or rosters:
            by_node = {d.node_id: d for d in given}
            by_node.update((d.node_id, d) for d in _across(rosters))
            anchor = list(by_node.values())
        extra = read_agreements(agreements) if agreements is not None else []
    except AuditInputError as e:
        failed.unreadable.append(e.diagnostics())
        return failed
    for directory in directories:
        try:
            found = read(directory)
        except AuditInputError as e:
            failed.unreadable.append(e.diagnostics())
            continue
        read_bundles.append(found)
        reports[found.label] = bundle.verify(
            directory,
            trusted=given if trusted is not None or trusted_keys is not None else None,
            rosters=rosters,  # the folder of descriptors read once, above, not per bundle
            trust_bundle_keys=trust_bundle_keys,
        )
    if failed.unreadable:
        return failed
    return audit(read_bundles, verified=reports, trusted=anchor, agreements=extra)


# --- the audit -------------------------------------------------------------------------


def audit(
    bundles: Sequence[Bundle],
    *,
    verified: Mapping[str, bundle.Report],
    trusted: Sequence[PeerDescriptor] | None = None,
    agreements: Sequence[tuple[str, bytes]] = (),
) -> AuditReport:
    """Compare the bundles; ``verified`` holds ``bundle.verify``'s report per label.

    The log owners' keys come from ``trusted`` (an auditor's own descriptors) when given,
    else from each owner's own ``keys/<owner>.json``: a bureau vouches for its own key,
    never for another's.
    """
    report = AuditReport()
    current = _current(bundles)
    for item in bundles:
        _summarise(item, verified[item.label], report, current=current[item.owner] is item)
    parsed = {b.label: _entries(b) for b in bundles}
    _compare_shared(list(current.values()), parsed, report)
    book = KeyBook(trusted if trusted is not None else _owner_descriptors(bundles))
    _compare_checkpoints(bundles, book, report)
    terms = _agreements([*agreements, *(a for b in bundles for a in b.agreements)], report)
    for item in current.values():
        _recompute_statements(item, parsed[item.label], terms, report)
    _note_cosignatures(bundles, report)
    return report


def _current(bundles: Sequence[Bundle]) -> dict[str, Bundle]:
    """Each owner's latest export; on a tie, the one named last."""
    chosen: dict[str, Bundle] = {}
    for item in bundles:
        before = chosen.get(item.owner)
        if before is None or item.exported_at >= before.exported_at:
            chosen[item.owner] = item
    return chosen


def _summarise(item: Bundle, verdict: bundle.Report, report: AuditReport, *, current: bool) -> None:
    report.bundles.append(
        BundleSummary(
            label=item.label,
            owner=item.owner,
            entries=len(item.lines),
            checkpoints=len(item.checkpoints),
            exported_at=item.exported_at,
            verified=verdict.ok,
            verify_summary=verdict.summary(),
            current=current,
        )
    )
    if verdict.failure is not None and verdict.failure.startswith("unreadable bundle"):
        report.unreadable.append(f"{item.label}: {verdict.failure}")
    elif not verdict.ok:
        report.findings.append(
            Finding("invalid", item.owner, f"{item.label}: ledger verify: {verdict.failure}")
        )


@dataclass(frozen=True)
class _Entry:
    line: int  # 1-based, as an editor shows it
    data: bytes
    body: SignedEntry


def _entries(item: Bundle) -> dict[str, _Entry]:
    """The bundle's entries by id; lines that are no entry are left to ``bundle.verify``."""
    found: dict[str, _Entry] = {}
    for number, line in enumerate(item.lines, 1):
        try:
            body = SignedEntry.model_validate_json(line)
        except ValidationError:
            continue
        found.setdefault(body.entry_id, _Entry(number, line, body))
    return found


def _entry_proof(item: Bundle, entry: _Entry) -> Proof:
    return Proof(
        f"{item.label}/entries.jsonl line {entry.line}", entry.data.decode(errors="replace")
    )


# --- shared entries --------------------------------------------------------------------


def _compare_shared(
    current: Sequence[Bundle], parsed: Mapping[str, dict[str, _Entry]], report: AuditReport
) -> None:
    """Every entry naming two bureaus is in both their bundles, byte for byte."""
    for i, first in enumerate(current):
        for second in current[i + 1 :]:
            _one_way(first, second, parsed, report, compare_bytes=True)
            _one_way(second, first, parsed, report, compare_bytes=False)


def _one_way(
    having: Bundle,
    other: Bundle,
    parsed: Mapping[str, dict[str, _Entry]],
    report: AuditReport,
    *,
    compare_bytes: bool,
) -> None:
    theirs = parsed[other.label]
    for entry_id, entry in parsed[having.label].items():
        if other.owner not in entry.body.parties:
            continue
        counterpart = theirs.get(entry_id)
        if counterpart is None:
            _missing(having, other, entry, report)
        elif compare_bytes:
            report.checked["shared_entries"] += 1
            if counterpart.data != entry.data:
                report.findings.append(
                    Finding(
                        "equivocation",
                        entry.body.proposer,
                        f"entry {entry_id} differs between {having.label} and {other.label}",
                        entry_id=entry_id,
                        proof=(_entry_proof(having, entry), _entry_proof(other, counterpart)),
                    )
                )


def _missing(having: Bundle, lacking: Bundle, entry: _Entry, report: AuditReport) -> None:
    if entry.body.at > lacking.exported_at:
        report.checked["later_entries"] += 1  # signed after that export: not yet expected
        return
    report.findings.append(
        Finding(
            "omission",
            lacking.owner,
            f"entry {entry.body.entry_id} ({entry.body.type}, {entry.body.at.isoformat()}) "
            f"between {' and '.join(sorted(entry.body.parties))} is in {having.label} "
            f"but missing from {lacking.label}",
            entry_id=entry.body.entry_id,
            proof=(_entry_proof(having, entry),),
        )
    )


# --- checkpoints -----------------------------------------------------------------------


def _owner_descriptors(bundles: Iterable[Bundle]) -> list[PeerDescriptor]:
    found: dict[str, PeerDescriptor] = {}
    for item in bundles:
        if item.own_descriptor is not None and item.own_descriptor.node_id == item.owner:
            found.setdefault(item.owner, item.own_descriptor)
    return list(found.values())


def _open(
    node: str, where: str, data: bytes, source: str, book: KeyBook
) -> tuple[Seen | None, str | None]:
    """A signed checkpoint of ``node``'s log, verified with ``node``'s keys, or why not."""
    try:
        text, _ = note.split_note(data)
        origin = note.parse_checkpoint(text).origin
        keys = book.public_keys(node)
        if not keys:
            return None, f"{where}: no key of {node} to check it with"
        opened = note.open_note(data, [note.NoteVerifier(origin, k) for k in keys])
        point = note.parse_checkpoint(opened.text)
    except TopmatchError as e:
        return None, f"{where}: {e.diagnostics()}"
    return Seen(node, point.size, point.root_hash, data, where, source), None


def _seen_checkpoints(
    bundles: Sequence[Bundle], book: KeyBook, report: AuditReport
) -> dict[str, list[Seen]]:
    """Every verified checkpoint per log; one per (size, root), first place seen."""
    seen: dict[str, dict[tuple[int, bytes], Seen]] = defaultdict(dict)
    for item in bundles:
        places = [(item.owner, where, data) for where, data in item.checkpoints]
        for node, where, data in [*places, *item.witnessed]:
            point, problem = _open(node, where, data, item.label, book)
            if point is None:
                if node != item.owner:  # the owner's own notes are bundle.verify's to judge
                    report.findings.append(Finding("invalid", node, problem or where))
                continue
            seen[node].setdefault((point.size, point.root), point)
    return {node: list(points.values()) for node, points in seen.items()}


def _compare_checkpoints(bundles: Sequence[Bundle], book: KeyBook, report: AuditReport) -> None:
    seen = _seen_checkpoints(bundles, book, report)
    for node, points in sorted(seen.items()):
        _same_size_forks(node, points, report)
        for item in bundles:
            if item.owner == node:
                _against_leaves(item, points, report)


def _same_size_forks(node: str, points: Sequence[Seen], report: AuditReport) -> None:
    """Two verified checkpoints of one log at one size with two roots: a fork."""
    by_size: dict[int, list[Seen]] = defaultdict(list)
    for point in points:
        by_size[point.size].append(point)
    for size, group in sorted(by_size.items()):
        report.checked["checkpoints_compared"] += len(group) - 1
        for other in group[1:]:
            report.findings.append(
                Finding(
                    "fork",
                    node,
                    f"two checkpoints of {node}'s log at size {size} with different roots: "
                    f"{group[0].root.hex()} ({group[0].where}) and "
                    f"{other.root.hex()} ({other.where})",
                    proof=(_note_proof(group[0]), _note_proof(other)),
                )
            )


def _note_proof(point: Seen) -> Proof:
    return Proof(point.where, point.note.decode(errors="replace"))


def _against_leaves(item: Bundle, points: Sequence[Seen], report: AuditReport) -> None:
    """Each checkpoint of this log seen elsewhere is a prefix of this bundle's log (one at
    a size this bundle has its own checkpoint of is :func:`_same_size_forks`'s to judge)."""
    tree = merkle.MerkleTree(merkle.leaf_hash(line) for line in item.lines)
    own_sizes = {p.size for p in points if p.source == item.label}
    elsewhere = [p for p in points if p.source != item.label]
    bigger = [p for p in elsewhere if p.size > tree.size]
    if bigger:
        _truncation(item, tree.size, max(bigger, key=lambda p: p.size), report)
    for point in elsewhere:
        if point.size > tree.size or point.size in own_sizes:
            continue
        report.checked["checkpoints_compared"] += 1
        try:
            merkle.verify_consistency(
                old_size=point.size,
                new_size=tree.size,
                old_root=point.root,
                new_root=tree.root(),
                proof=tree.consistency_proof(point.size),
            )
        except ConsistencyProofError as e:
            report.findings.append(_fork(item, tree.size, point, e))


def _truncation(item: Bundle, size: int, point: Seen, report: AuditReport) -> None:
    report.checked["checkpoints_compared"] += 1
    ours = [p for p in [_own_latest(item)] if p is not None]
    report.findings.append(
        Finding(
            "truncation",
            item.owner,
            f"{item.label} holds {size} entries of {item.owner}'s log, but a checkpoint of "
            f"size {point.size} was seen in {point.where}",
            proof=(_note_proof(point), *ours),
        )
    )


def _own_latest(item: Bundle) -> Proof | None:
    if not item.checkpoints:
        return None
    where, data = item.checkpoints[-1]
    return Proof(where, data.decode(errors="replace"))


def _fork(item: Bundle, size: int, point: Seen, error: ConsistencyProofError) -> Finding:
    ours = _own_latest(item)
    return Finding(
        "fork",
        item.owner,
        f"the checkpoint of size {point.size} in {point.where} is not a prefix of the "
        f"{size} entries in {item.label}: {error.diagnostics()}",
        proof=(_note_proof(point), *([ours] if ours is not None else [])),
    )


# --- statements ------------------------------------------------------------------------


def _agreements(
    documents: Sequence[tuple[str, bytes]], report: AuditReport
) -> dict[statements.AgreementKey, FeeAgreement]:
    terms: dict[statements.AgreementKey, FeeAgreement] = {}
    for where, data in documents:
        try:
            parsed = pricing.strip(SignedAgreement.model_validate_json(data))
        except ValidationError as e:
            report.skip("agreement", f"{where} is not a fee agreement: {e.errors()[0]['msg']}")
            continue
        terms[(parsed.version, pricing.sha256(parsed))] = parsed
    return terms


def _recompute_statements(
    item: Bundle,
    entries: Mapping[str, _Entry],
    terms: Mapping[statements.AgreementKey, FeeAgreement],
    report: AuditReport,
) -> None:
    """Each closing entry names the statement recomputed from this bundle's entries."""
    closings = [e for e in entries.values() if e.body.type == "settlement.closed"]
    if not closings:
        return
    if not terms:
        report.skip(
            "statements",
            "no fee agreement in any bundle's agreements/ nor given with --agreements: "
            "a statement's VAT comes from its agreement, so closings are not recomputed",
        )
        return
    bodies = [e.body for e in entries.values()]
    for closing in closings:
        _check_closing(item, closing, bodies, terms, report)


def _check_closing(
    item: Bundle,
    closing: _Entry,
    bodies: Sequence[SignedEntry],
    terms: Mapping[statements.AgreementKey, FeeAgreement],
    report: AuditReport,
) -> None:
    entry = closing.body
    pair = tuple(sorted(entry.parties))
    try:
        made = statements.bilateral(
            bodies,
            parties=(pair[0], pair[1]),
            period=parse_period(entry.period or ""),
            agreements=terms,
        )
    except ValueError as e:  # StatementError: an agreement the auditor was not given
        report.skip("statements", f"{item.label}: closing {entry.entry_id}: {e}")
        return
    report.checked["statements"] += 1
    digest = statements.report_sha256(made)
    net = (made.net.payer, made.net.payee, made.net.total_cents)
    if entry.statement_sha256 == digest and (entry.payer, entry.payee, entry.amount_cents) == net:
        return
    report.findings.append(
        Finding(
            "statement",
            item.owner,
            f"{item.label}: the closing of {entry.period} between {pair[0]} and {pair[1]} "
            f"names statement {entry.statement_sha256} and {entry.payer} pays {entry.payee} "
            f"{entry.amount_cents} cents; recomputed from the entries: statement {digest}, "
            f"{net[0]} pays {net[1]} {net[2]} cents",
            entry_id=entry.entry_id,
            proof=(_entry_proof(item, closing),),
        )
    )


def _note_cosignatures(bundles: Sequence[Bundle], report: AuditReport) -> None:
    if not any(b.cosignatures for b in bundles):
        report.skip(
            "witness cosignatures",
            "no bundle has a cosignatures/ folder; a rollback below what witnesses cosigned "
            "is caught here only through checkpoints seen in other bundles",
        )
    else:
        report.skip(
            "witness cosignatures",
            "cosignatures are checked by `topmatch ledger verify --witness-quorum K`, "
            "which each bundle must pass on its own",
        )
