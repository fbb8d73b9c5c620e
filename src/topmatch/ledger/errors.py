"""Errors of the fee ledger's pure core: proofs, notes, checkpoints, entries, canonical JSON.

All of them mean "the data is bad": a proof, note, checkpoint or entry that someone handed
us does not check out, and retrying with the same bytes gives the same answer. Each message
states what was expected and what was found ("expected root 3fa1..., got 91c0...").

    TopmatchError (topmatch.errors)
    └── LedgerError                 ledger_error             root of this tree
        ├── InclusionProofError     bad_inclusion_proof      RFC 9162 section 2.1.3.2 fails
        ├── ConsistencyProofError   bad_consistency_proof    RFC 9162 section 2.1.4.2 fails, or
        │                                                    the log went backwards
        ├── NoteError               malformed_note           a signed note, signature line or
        │                                                    verifier key breaks c2sp.org/
        │                                                    signed-note
        ├── NoteSignatureError      bad_note_signature       no valid signature by a required
        │                                                    key, or a known key's signature is
        │                                                    invalid
        ├── CheckpointError         bad_checkpoint           note text breaks c2sp.org/
        │                                                    tlog-checkpoint
        ├── EntrySignatureError     bad_entry_signature      an entry's party signatures are
        │                                                    missing, unknown, duplicated or
        │                                                    invalid
        ├── CanonicalFormError      not_canonical            bytes are not RFC 8785 canonical JSON,
        │                                                    or a value has no canonical form
        └── BundleError             bundle_invalid           an audit bundle fails a check; names
                                                             the file and the check

Misuse by the calling code (an index outside the tree it asked about, a hash of the wrong
length handed to a tree it builds, two verifiers for one key) raises ``ValueError`` or
``IndexError`` instead: those are bugs to fix, not data to reject.
"""

from __future__ import annotations

from topmatch.errors import TopmatchError


class LedgerError(TopmatchError):
    code = "ledger_error"


class InclusionProofError(LedgerError):
    code = "bad_inclusion_proof"


class ConsistencyProofError(LedgerError):
    code = "bad_consistency_proof"


class NoteError(LedgerError):
    code = "malformed_note"


class NoteSignatureError(LedgerError):
    code = "bad_note_signature"


class CheckpointError(LedgerError):
    code = "bad_checkpoint"


class EntrySignatureError(LedgerError):
    code = "bad_entry_signature"


class CanonicalFormError(LedgerError):
    code = "not_canonical"


class BundleError(LedgerError):
    """An audit bundle fails a check: ``file`` is the bundle-relative path, ``check`` the
    check ("framing", "counts", "anchor", "fees", ...)."""

    code = "bundle_invalid"

    def __init__(self, file: str, check: str, detail: str) -> None:
        super().__init__(f"{file} ({check}): {detail}")
        self.file = file
        self.check = check
