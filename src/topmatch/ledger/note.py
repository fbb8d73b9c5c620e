"""Signed notes, checkpoints and witness cosignatures (C2SP), Ed25519. Pure: bytes in, bytes out.

Three C2SP specifications, version 1.0.0 of each:

* **c2sp.org/signed-note** ("Format"): a note is UTF-8 text ending in a newline, a blank
  line, then one or more lines ``— <key name> base64(key hash || signature)``: em dash
  U+2014, space, name, space, standard base64 (RFC 4648 section 4), newline. The text is
  separated from the signatures by the *last* blank line. Ed25519 note keys have signature
  type 0x01 and key hash ``SHA-256(name || 0x0A || 0x01 || public key)[:4]`` ("Ed25519
  signatures"). A verifier key ("vkey") is ``<name>+<hex key hash>+<base64(type || public
  key)>``, the format of golang.org/x/mod/sumdb/note.
* **c2sp.org/tlog-checkpoint** ("Note text"): the note text of a log's tree head is the
  origin line, the tree size in decimal, the base64 RFC 6962 root hash, then optional
  non-empty extension lines.
* **c2sp.org/tlog-cosignature** ("Format", "Ed25519 signed message"): a witness signs
  ``cosignature/v1\\ntime <unix seconds>\\n`` followed by the checkpoint text with an Ed25519
  key of signature type 0x04, and its note signature is ``key hash || timestamp (8 bytes,
  big-endian) || signature``.

Opening a note (signed-note "Signatures") ignores signatures by unknown keys, verifies every
signature by a known key and rejects the whole note if one fails (the spec lets clients
choose; golang.org/x/mod/sumdb/note rejects too), and needs at least one valid signature by a
known key. Here every name in ``require`` must have signed as well, so one call checks a log
signature and a quorum of witnesses.

Errors: :class:`NoteError` for notes, lines and keys that are malformed,
:class:`NoteSignatureError` for signatures that are missing or invalid, and
:class:`CheckpointError` for note texts that are not checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from topmatch.ledger.errors import CheckpointError, NoteError, NoteSignatureError
from topmatch.ledger.merkle import EMPTY_ROOT, HASH_SIZE

#: Signature type of plain Ed25519 note signatures (signed-note "Signature types").
ED25519: Final = 0x01
#: Signature type of timestamped Ed25519 witness cosignatures (tlog-cosignature "Format").
COSIGNATURE_V1: Final = 0x04

#: The spec asks verifiers to accept at least 16 signatures; golang.org/x/mod/sumdb/note
#: stops at 100. A checkpoint with a log signature and a dozen witnesses fits easily.
MAX_SIGNATURES: Final = 100
#: Upper bound on a whole note, so a hostile peer cannot make us scan megabytes.
MAX_NOTE_SIZE: Final = 64 * 1024

KEY_HASH_SIZE: Final = 4
_ED25519_KEY_SIZE: Final = 32
_ED25519_SIGNATURE_SIZE: Final = 64
_TIMESTAMP_SIZE: Final = 8
#: tlog-cosignature "Format": the timestamp MUST NOT exceed 2^63 - 1.
MAX_TIMESTAMP: Final = 2**63 - 1
#: Tree sizes are uint64 (RFC 9162 section 4.1 and every tlog implementation).
MAX_TREE_SIZE: Final = 2**64 - 1

_SIGNATURE_PREFIX: Final = "— ".encode()
_COSIGNATURE_HEADER: Final = b"cosignature/v1\n"
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class Verifier(Protocol):
    """One known key: a note signature line is checked by the verifier of its name and hash."""

    @property
    def name(self) -> str: ...

    @property
    def key_hash(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the key hash) is valid over ``text``."""
        ...


@dataclass(frozen=True)
class NoteVerifier:
    """Verifies plain Ed25519 note signatures (type 0x01) by one named key."""

    name: str
    public_key: Ed25519PublicKey
    key_hash: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _require_name(self.name)
        object.__setattr__(self, "key_hash", key_hash(self.name, ED25519, _raw(self.public_key)))

    @property
    def vkey(self) -> str:
        return verifier_key(self.name, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        return _ed25519_valid(self.public_key, signature, text)


@dataclass(frozen=True)
class CosignatureVerifier:
    """Verifies tlog-cosignature/v1 Ed25519 signatures (type 0x04) by one named witness."""

    name: str
    public_key: Ed25519PublicKey
    key_hash: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _require_name(self.name)
        raw = _raw(self.public_key)
        object.__setattr__(self, "key_hash", key_hash(self.name, COSIGNATURE_V1, raw))

    @property
    def vkey(self) -> str:
        return _vkey(self.name, COSIGNATURE_V1, _raw(self.public_key))

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        message = cosignature_message(text, timestamp)
        return _ed25519_valid(self.public_key, signature[_TIMESTAMP_SIZE:], message)


@dataclass(frozen=True)
class NoteSigner:
    """Signs note texts with one named Ed25519 key (type 0x01)."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        _require_name(self.name)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.private_key.public_key())

    @property
    def key_hash(self) -> bytes:
        return self.verifier.key_hash

    def sign(self, text: bytes) -> bytes:
        """The raw Ed25519 signature over the note text (RFC 8032 section 5.1.6)."""
        return self.private_key.sign(text)


class NoteSignature(NamedTuple):
    """One parsed signature line: key name, 4-byte key hash, signature bytes."""

    name: str
    key_hash: bytes
    signature: bytes


class OpenedNote(NamedTuple):
    """The text of a note whose signatures checked out, and who signed it, in note order."""

    text: bytes
    verified_names: tuple[str, ...]


def key_hash(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || signature type || public key)[:4] (signed-note "Signatures")."""
    material = name.encode() + b"\n" + bytes([signature_type]) + public_key
    return hashlib.sha256(material).digest()[:KEY_HASH_SIZE]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The vkey ``<name>+<hex key hash>+<base64(0x01 || public key)>`` of an Ed25519 note key."""
    _require_name(name)
    return _vkey(name, ED25519, _raw(public_key))


def parse_verifier_key(vkey: str) -> NoteVerifier | CosignatureVerifier:
    """Parse a vkey of type 0x01 (note) or 0x04 (cosignature); the key hash must match."""
    name, _, rest = vkey.partition("+")
    hash_hex, _, key_b64 = rest.partition("+")
    if not _valid_name(name):
        raise NoteError(f"verifier key has an invalid key name {name!r}")
    if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise NoteError(f"verifier key hash must be 8 lowercase hex digits, got {hash_hex!r}")
    material = _b64decode(key_b64, what="verifier key")
    if len(material) != 1 + _ED25519_KEY_SIZE or material[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError(
            f"verifier key must be a type byte 0x01 or 0x04 and a {_ED25519_KEY_SIZE}-byte "
            f"Ed25519 key, got {len(material)} bytes starting {material[:1].hex() or 'empty'}"
        )
    expected = key_hash(name, material[0], material[1:])
    if expected.hex() != hash_hex:
        raise NoteError(
            f"verifier key hash does not match its key: expected {expected.hex()}, got {hash_hex}"
        )
    public_key = Ed25519PublicKey.from_public_bytes(material[1:])
    if material[0] == ED25519:
        return NoteVerifier(name, public_key)
    return CosignatureVerifier(name, public_key)


def signature_line(name: str, key_hash: bytes, signature: bytes) -> bytes:
    """``— <name> base64(key hash || signature)\\n`` (signed-note "Format")."""
    _require_name(name)
    if len(key_hash) != KEY_HASH_SIZE:
        raise ValueError(f"a key hash is {KEY_HASH_SIZE} bytes, got {len(key_hash)}")
    encoded = base64.b64encode(key_hash + signature)
    return _SIGNATURE_PREFIX + name.encode() + b" " + encoded + b"\n"


def sign_note(text: bytes, signers: Sequence[NoteSigner]) -> bytes:
    """The signed note: ``text``, a blank line, one signature line per signer, in order."""
    _check_note_text(text, error=NoteError)
    if not signers:
        raise ValueError("a signed note needs at least one signer")
    lines = [signature_line(s.name, s.key_hash, s.sign(text)) for s in signers]
    return text + b"\n" + b"".join(lines)


def split_note(
    note: bytes, *, max_signatures: int = MAX_SIGNATURES
) -> tuple[bytes, list[NoteSignature]]:
    """Parse a signed note without verifying it: its text and its signature lines."""
    if len(note) > MAX_NOTE_SIZE:
        raise NoteError(f"note is {len(note)} bytes, at most {MAX_NOTE_SIZE} are accepted")
    _check_utf8_without_controls(note, what="note", error=NoteError)
    split = note.rfind(b"\n\n")
    if split < 0:
        raise NoteError("note has no blank line between its text and its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise NoteError("note has no signature lines after its last blank line")
    if not block.endswith(b"\n"):
        raise NoteError("note's last signature line does not end with a newline")
    lines = block[:-1].split(b"\n")
    if len(lines) > max_signatures:
        raise NoteError(
            f"note has {len(lines)} signature lines, at most {max_signatures} are accepted"
        )
    return text, [_parse_signature_line(line, number) for number, line in enumerate(lines, 1)]


def open_note(
    note: bytes,
    verifiers: Iterable[Verifier],
    *,
    require: Collection[str] = (),
    max_signatures: int = MAX_SIGNATURES,
) -> OpenedNote:
    """Verify a signed note; return its text and the names of the keys that signed it.

    Signatures by keys not among ``verifiers`` are ignored (a name or a key hash alone does
    not make a key known). Every signature by a known key must verify, at least one must be
    present, and so must one by each name in ``require``.
    """
    known = _index_verifiers(verifiers)
    text, signatures = split_note(note, max_signatures=max_signatures)
    verified: list[str] = []
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_hash))
        if verifier is None:
            continue
        if not verifier.verify(text, sig.signature):
            raise NoteSignatureError(
                f"signature by {sig.name}+{sig.key_hash.hex()} does not verify over the note text"
            )
        if sig.name not in verified:
            verified.append(sig.name)
    if not verified:
        expected = ", ".join(sorted(f"{n}+{h.hex()}" for n, h in known)) or "none"
        found = ", ".join(f"{s.name}+{s.key_hash.hex()}" for s in signatures)
        raise NoteSignatureError(
            f"note has no signature by a known key: expected one of {expected}, got {found}"
        )
    missing = [name for name in require if name not in verified]
    if missing:
        raise NoteSignatureError(
            f"signed by {len(require) - len(missing)} of {len(require)} required keys: "
            f"missing {', '.join(missing)}"
        )
    return OpenedNote(text, tuple(verified))


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head as c2sp.org/tlog-checkpoint note text."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(self.extensions))
        _check_checkpoint_line(self.origin, "origin")
        for number, extension in enumerate(self.extensions, 4):
            _check_checkpoint_line(extension, f"extension line {number}")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"tree size must be an integer, got {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size must be within 0..2^64-1, got {self.size}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"root hash must be {HASH_SIZE} bytes, got {self.root_hash!r}")
        if self.size == 0 and self.root_hash != EMPTY_ROOT:
            # RFC 9162 section 2.1.1: MTH({}) = SHA-256 of the empty string.
            raise CheckpointError(
                f"expected the empty tree's root {EMPTY_ROOT.hex()} for size 0, "
                f"got {self.root_hash.hex()}"
            )

    def checkpoint_text(self) -> bytes:
        """Origin, decimal size, base64 root hash, extension lines; each ends in a newline."""
        root_line = base64.b64encode(self.root_hash).decode()
        lines = [self.origin, str(self.size), root_line, *self.extensions]
        return "".join(f"{line}\n" for line in lines).encode()


def parse_checkpoint(text: bytes) -> Checkpoint:
    """Parse checkpoint note text (the text of an opened note, without signatures)."""
    _check_note_text(text, error=CheckpointError)
    lines = text.decode()[:-1].split("\n")
    if len(lines) < 3:  # noqa: PLR2004 - tlog-checkpoint "Note text": at least three lines
        raise CheckpointError(f"a checkpoint has at least 3 lines, got {len(lines)}")
    origin, size_line, root_line, *extensions = lines
    if not _DECIMAL.fullmatch(size_line):
        raise CheckpointError(
            f"line 2 must be the tree size in decimal without leading zeros, got {size_line!r}"
        )
    root_hash = _b64decode(root_line, what="line 3 (root hash)", error=CheckpointError)
    return Checkpoint(origin, int(size_line), root_hash, tuple(extensions))


def cosignature_message(checkpoint_text: bytes, timestamp: int) -> bytes:
    """``cosignature/v1\\ntime <timestamp>\\n`` + the checkpoint text (tlog-cosignature
    "Ed25519 signed message")."""
    return _COSIGNATURE_HEADER + b"time %d\n" % timestamp + checkpoint_text


def cosign(checkpoint_text: bytes, name: str, key: Ed25519PrivateKey, timestamp: int) -> bytes:
    """A witness's cosignature line over a checkpoint at ``timestamp`` (Unix seconds).

    The caller decides whether to cosign (the checkpoint must be consistent with every one
    this witness saw before, tlog-cosignature "Ed25519 signed message"); this only signs.
    """
    parse_checkpoint(checkpoint_text)
    _require_timestamp(timestamp)
    verifier = CosignatureVerifier(name, key.public_key())
    signature = key.sign(cosignature_message(checkpoint_text, timestamp))
    payload = timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature
    return signature_line(name, verifier.key_hash, payload)


def verify_cosignature(
    checkpoint_text: bytes,
    line: bytes,
    verifier: CosignatureVerifier,
    *,
    now: int | None = None,
) -> int:
    """Check one cosignature line by ``verifier`` over the checkpoint; return its timestamp.

    With ``now`` (Unix seconds), a timestamp later than ``now`` is rejected, which the spec
    allows verifiers to do.
    """
    parse_checkpoint(checkpoint_text)
    if not line.endswith(b"\n") or b"\n" in line[:-1]:
        raise NoteError("a cosignature is one signature line ending in a newline")
    _check_utf8_without_controls(line, what="cosignature line", error=NoteError)
    sig = _parse_signature_line(line[:-1], 1)
    if (sig.name, sig.key_hash) != (verifier.name, verifier.key_hash):
        raise NoteSignatureError(
            f"expected a cosignature by {verifier.name}+{verifier.key_hash.hex()}, "
            f"got one by {sig.name}+{sig.key_hash.hex()}"
        )
    expected = _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE
    if len(sig.signature) != expected:
        raise NoteError(
            f"a cosignature/v1 signature is {expected} bytes after the key hash, "
            f"got {len(sig.signature)}"
        )
    timestamp = int.from_bytes(sig.signature[:_TIMESTAMP_SIZE], "big")
    if not verifier.verify(checkpoint_text, sig.signature):
        raise NoteSignatureError(
            f"cosignature by {verifier.name} at time {timestamp} does not verify over "
            "this checkpoint"
        )
    if now is not None and timestamp > now:
        raise NoteSignatureError(
            f"cosignature by {verifier.name} is dated {timestamp}, after now ({now})"
        )
    return timestamp


def _parse_signature_line(line: bytes, number: int) -> NoteSignature:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError(
            f"signature line {number} must start with an em dash and a space, got {line[:16]!r}"
        )
    name, space, encoded = line[len(_SIGNATURE_PREFIX) :].decode().partition(" ")
    if not _valid_name(name):
        raise NoteError(f"signature line {number} has an invalid key name {name!r}")
    if not space:
        raise NoteError(f"signature line {number} has no space between key name and signature")
    raw = _b64decode(encoded, what=f"signature line {number}")
    if len(raw) <= KEY_HASH_SIZE:
        raise NoteError(
            f"signature line {number} must carry a {KEY_HASH_SIZE}-byte key hash and a "
            f"signature, got {len(raw)} bytes"
        )
    return NoteSignature(name, raw[:KEY_HASH_SIZE], raw[KEY_HASH_SIZE:])


def _index_verifiers(verifiers: Iterable[Verifier]) -> dict[tuple[str, bytes], Verifier]:
    known: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        ident = (verifier.name, verifier.key_hash)
        if ident in known and known[ident] != verifier:
            # golang.org/x/mod/sumdb/note calls this an "ambiguous key": a misconfiguration.
            raise ValueError(f"two different verifiers for key {ident[0]}+{ident[1].hex()}")
        known[ident] = verifier
    return known


def _check_note_text(text: bytes, *, error: type[NoteError | CheckpointError]) -> None:
    """signed-note "Format": UTF-8, no control characters but newline, ends in a newline."""
    if not isinstance(text, bytes):
        raise TypeError(f"note text is bytes, got {type(text).__name__}")
    _check_utf8_without_controls(text, what="note text", error=error)
    if not text.endswith(b"\n"):
        raise error(f"note text must end with a newline, got {text[-16:]!r}")


def _check_utf8_without_controls(
    data: bytes, *, what: str, error: type[NoteError | CheckpointError]
) -> None:
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{what} must be UTF-8; byte {e.start} is not") from e
    for index, char in enumerate(decoded):
        if char < " " and char != "\n":
            offset = len(decoded[:index].encode())
            raise error(
                f"{what} must not contain control characters other than newline; "
                f"got U+{ord(char):04X} at byte {offset}"
            )


def _check_checkpoint_line(line: str, what: str) -> None:
    if not isinstance(line, str) or not line:
        raise CheckpointError(f"checkpoint {what} must be a non-empty string, got {line!r}")
    if any(char < " " for char in line):
        raise CheckpointError(f"checkpoint {what} must not contain newlines or control characters")


def _valid_name(name: str) -> bool:
    """signed-note "Format": non-empty, no Unicode spaces, no plus; and no control characters."""
    return bool(name) and not any(c.isspace() or c == "+" or c < " " for c in name)


def _require_name(name: str) -> None:
    if not isinstance(name, str) or not _valid_name(name):
        raise ValueError(f"a key name is non-empty, without spaces or '+', got {name!r}")


def _require_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError(f"a cosignature timestamp is an integer, got {timestamp!r}")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"a cosignature timestamp is within 0..2^63-1, got {timestamp}")


def _b64decode(
    encoded: str, *, what: str, error: type[NoteError | CheckpointError] = NoteError
) -> bytes:
    """Standard base64 with padding (RFC 4648 section 4), in its one canonical spelling."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as e:
        raise error(f"{what} is not standard base64: {encoded[:24]!r}") from e
    if not raw or base64.b64encode(raw).decode() != encoded:
        raise error(f"{what} is not canonical standard base64: {encoded[:24]!r}")
    return raw


def _vkey(name: str, signature_type: int, raw_key: bytes) -> str:
    encoded = base64.b64encode(bytes([signature_type]) + raw_key).decode()
    return f"{name}+{key_hash(name, signature_type, raw_key).hex()}+{encoded}"


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _ed25519_valid(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
