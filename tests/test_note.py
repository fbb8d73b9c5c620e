"""C2SP signed notes, checkpoints and cosignatures: published vectors, a real log, rejections.

Vectors and their sources:

* golang.org/x/mod/sumdb/note (note.go package example, note_test.go TestSign/TestOpen/
  TestNewVerifier): the PeterNeumann and EnochRoot keys and notes;
* transparency-dev/formats note/note_cosigv1_test.go (TestCoSigV1NewVerifier): vkeys of type
  0x01 and 0x04;
* c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature: the example checkpoint, cosignature
  line and signed message;
* lsd-cat/sigsum-ts src/tests/verify.test.ts: a tree head of the sigsum test log
  (test.sigsum.org/barreleye), its log signature and three witness cosignatures in the
  cosignature/v1 format, made by software other than ours.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from topmatch.ledger.errors import CheckpointError, LedgerError, NoteError, NoteSignatureError
from topmatch.ledger.merkle import EMPTY_ROOT
from topmatch.ledger.note import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    CosignatureVerifier,
    NoteSigner,
    NoteVerifier,
    cosign,
    cosignature_message,
    key_hash,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    signature_line,
    split_note,
    verifier_key,
    verify_cosignature,
)

# golang.org/x/mod/sumdb/note: the package documentation's example and note_test.go.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
    "RZb6KE6RyyBwJnAM=\n"
).encode()
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox3"
    "3WWd1RvMc+QQ=\n"
).encode()
SIGNED = TEXT + b"\n" + PETER_SIG

# c2sp.org/tlog-checkpoint and tlog-cosignature examples.
SPEC_CHECKPOINT = (
    b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_COSIGNATURE = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b"
    "2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
).encode()

# lsd-cat/sigsum-ts src/tests/verify.test.ts: the sigsum test log's tree head at size 930.
SIGSUM_LOG_KEY = "4644af2abd40f4895a003bca350f9d5912ab301a49c77f13e5b6d905c20a5fe6"
SIGSUM_ROOT = "f24ca2b7b234c380438fbeb7e6a3e7481705adf22b8ecab47ca049b31b642bd8"
SIGSUM_LOG_SIGNATURE = (
    "a3e28bf1b8e97664ba2505ed1f02373af70ad86f5a794b8ddf77c9dfc2cda376"
    "6479cc53906312dc705f5892472eb1b1a60843f1fd0e0ea3442b6df6a7f11805"
)
SIGSUM_TIMESTAMP = 1749045854
SIGSUM_WITNESSES = {
    # witness public key: its cosignature/v1 Ed25519 signature at SIGSUM_TIMESTAMP
    "1c25f8a44c635457e2e391d1efbca7d4c2951a0aef06225a881e46b98962ac6c": (
        "5c5fa4d25f7734caf519c41b25e40220d54a7b1637cb608a034d7ee787850131"
        "3b36c8b8c0e4b61c7bb7d1f123aa856ffdb80e035650eac4b59be0f877d68e00"
    ),
    "28c92a5a3a054d317c86fc2eeb6a7ab2054d6217100d0be67ded5b74323c5806": (
        "62b2733f600df0cf2b2fe6e3e2b5e525048280872b68df3fc4b08409e325c857"
        "b5aa4b96806ced5fcb8edf4eb138e13772f48d55cc0de821bb8e6866443e7602"
    ),
    "f4855a0f46e8a3e23bb40faf260ee57ab8a18249fa402f2ca2d28a60e1a3130e": (
        "87c38ca5122a164450c93656a10b36deade0d031501d63ea9377d24608ad0d45"
        "949d938129c7e780495332aa09c44f8bf00a08ffe689a470504c25beb8bdfc07"
    ),
}


def peter_signer() -> NoteSigner:
    """The Go example's signer key is base64(0x01 || 32-byte Ed25519 seed)."""
    material = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert material[0] == ED25519
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(material[1:]))


def peter() -> NoteVerifier:
    verifier = parse_verifier_key(PETER_VKEY)
    assert isinstance(verifier, NoteVerifier)
    return verifier


def enoch() -> NoteVerifier:
    verifier = parse_verifier_key(ENOCH_VKEY)
    assert isinstance(verifier, NoteVerifier)
    return verifier


def new_signer(name: str) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.generate())


def sigsum_checkpoint() -> bytes:
    log_key = bytes.fromhex(SIGSUM_LOG_KEY)
    origin = "sigsum.org/v1/tree/" + hashlib.sha256(log_key).hexdigest()
    return Checkpoint(origin, 930, bytes.fromhex(SIGSUM_ROOT)).checkpoint_text()


# --- signed notes: the Go package's vectors ---------------------------------------------


def test_verifier_key_of_the_example_signer_is_the_published_one() -> None:
    signer = peter_signer()
    assert signer.verifier.vkey == PETER_VKEY
    assert verifier_key("PeterNeumann", signer.private_key.public_key()) == PETER_VKEY
    assert signer.key_hash == bytes.fromhex("c74f20a3") == peter().key_hash


def test_signing_reproduces_the_published_note_byte_for_byte() -> None:
    assert sign_note(TEXT, [peter_signer()]) == SIGNED


def test_opening_the_published_note() -> None:
    text, names = open_note(SIGNED, [peter()])
    assert text == TEXT
    assert names == ("PeterNeumann",)


def test_signatures_by_unknown_keys_are_ignored() -> None:
    opened = open_note(TEXT + b"\n" + PETER_SIG + ENOCH_SIG, [peter()])
    assert opened.verified_names == ("PeterNeumann",)
    both = open_note(TEXT + b"\n" + PETER_SIG + ENOCH_SIG, [peter(), enoch()])
    assert both.verified_names == ("PeterNeumann", "EnochRoot")


def test_a_note_without_a_known_signature_is_rejected() -> None:
    with pytest.raises(NoteSignatureError, match="no signature by a known key"):
        open_note(TEXT + b"\n" + PETER_SIG + ENOCH_SIG, [])
    with pytest.raises(NoteSignatureError, match=r"expected one of EnochRoot\+af0cfe78"):
        open_note(SIGNED, [enoch()])


def test_repeated_and_unknown_corrupt_signatures_are_tolerated() -> None:
    """TestOpen "Duplicated verified and unverified signatures"."""
    corrupt_enoch = ENOCH_SIG[:60] + b"ABCD" + ENOCH_SIG[60:]
    note = TEXT + b"\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + corrupt_enoch
    assert open_note(note, [peter()]).verified_names == ("PeterNeumann",)


def test_an_invalid_signature_by_a_known_key_rejects_the_note() -> None:
    corrupt = PETER_SIG[:60] + b"ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteSignatureError, match=r"PeterNeumann\+c74f20a3 does not verify"):
        open_note(TEXT + b"\n" + corrupt, [peter()])


def test_tampered_text_fails() -> None:
    tampered = SIGNED.replace(b"cryptography", b"cryptographY")
    with pytest.raises(NoteSignatureError, match="does not verify over the note text"):
        open_note(tampered, [peter()])


def test_a_key_known_only_by_name_or_only_by_hash_is_ignored() -> None:
    """signed-note "Signatures": unknown keys are ignored even if they share a name or an ID."""
    impostor = sign_note(TEXT, [new_signer("PeterNeumann")])
    with pytest.raises(NoteSignatureError, match="no signature by a known key"):
        open_note(impostor, [peter()])
    misnamed = SIGNED.replace(b"PeterNeumann", b"CarmenSandiego")
    with pytest.raises(NoteSignatureError, match="no signature by a known key"):
        open_note(misnamed, [peter()])
    assert open_note(impostor + PETER_SIG, [peter()]).verified_names == ("PeterNeumann",)


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + b"\n",
        TEXT + b"\n" + PETER_SIG[:-1],
        b"\x01" + TEXT + b"\n" + PETER_SIG,
        b"\xff" + TEXT + b"\n" + PETER_SIG,
        TEXT
        + b"\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FF"
        "YC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=".encode(),
        TEXT + b"\n" + PETER_SIG + b"Unexpected line.\n",
        # Ours: carriage returns, non-canonical base64, a bare key hash.
        TEXT.replace(b"\n", b"\r\n") + b"\r\n" + PETER_SIG,
        TEXT + b"\n" + PETER_SIG.replace(b"AM=", b"AN="),
        TEXT + b"\n" + "— PeterNeumann x08gow==\n".encode(),
        TEXT + b"\n" + "— PeterNeumann\n".encode(),
    ],
    ids=[
        "text only",
        "no signatures",
        "no final newline",
        "control character",
        "invalid UTF-8",
        "name with a space",
        "unexpected line",
        "carriage returns",
        "non-canonical base64",
        "no signature after the key hash",
        "no signature at all",
    ],
)
def test_malformed_notes_are_rejected(note: bytes) -> None:
    """TestOpen "Invalid encoded message syntax", and a few more."""
    with pytest.raises(NoteError):
        open_note(note, [peter()])


def test_signature_count_is_limited() -> None:
    with pytest.raises(NoteError, match="101 signature lines, at most 100"):
        open_note(TEXT + b"\n" + PETER_SIG * 101, [peter()])
    with pytest.raises(NoteError, match="3 signature lines, at most 2"):
        open_note(TEXT + b"\n" + PETER_SIG * 3, [peter()], max_signatures=2)


def test_sixteen_signatures_are_accepted() -> None:
    """signed-note "Format": verifiers MUST accept at least 16 signatures."""
    signers = [new_signer(f"example.com/key{i}") for i in range(16)]
    note = sign_note(TEXT, signers)
    opened = open_note(note, [s.verifier for s in signers])
    assert opened.verified_names == tuple(s.name for s in signers)


def test_text_is_split_at_the_last_blank_line() -> None:
    """The C2SP example note has a blank line inside its text."""
    text = (
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\n"
        "ed è subito sera.\n"
    )
    signer = new_signer("quasimodo.example/salvatore")
    note = sign_note(text.encode(), [signer])
    assert open_note(note, [signer.verifier]).text == text.encode()
    text_part, signatures = split_note(note)
    assert text_part == text.encode()
    assert [s.name for s in signatures] == ["quasimodo.example/salvatore"]


def test_required_keys_must_all_have_signed() -> None:
    with pytest.raises(
        NoteSignatureError, match="signed by 1 of 2 required keys: missing EnochRoot"
    ):
        open_note(SIGNED, [peter(), enoch()], require=["PeterNeumann", "EnochRoot"])
    opened = open_note(SIGNED + ENOCH_SIG, [peter(), enoch()], require=["EnochRoot"])
    assert opened.verified_names == ("PeterNeumann", "EnochRoot")


def test_signing_refuses_text_that_cannot_be_a_note() -> None:
    with pytest.raises(NoteError, match="must end with a newline"):
        sign_note(b"abc", [peter_signer()])
    with pytest.raises(NoteError, match="control characters"):
        sign_note(b"a\tb\n", [peter_signer()])
    with pytest.raises(ValueError, match="at least one signer"):
        sign_note(TEXT, [])
    with pytest.raises(ValueError, match="key name"):
        NoteSigner("bad name", Ed25519PrivateKey.generate())
    with pytest.raises(ValueError, match="key name"):
        NoteSigner("a+b", Ed25519PrivateKey.generate())


def test_two_different_verifiers_for_one_key_are_a_misconfiguration() -> None:
    """TestOpen "Check duplicated verifier": an ambiguous key."""
    twin = NoteVerifier("PeterNeumann", Ed25519PrivateKey.generate().public_key())
    object.__setattr__(twin, "key_hash", peter().key_hash)
    with pytest.raises(ValueError, match=r"PeterNeumann\+c74f20a3"):
        open_note(SIGNED, [peter(), twin])
    assert open_note(SIGNED, [peter(), peter()]).verified_names == ("PeterNeumann",)


@given(
    text=st.text(
        alphabet=st.characters(exclude_categories=["Cs", "Cc"]) | st.just("\n"), max_size=200
    ),
    position=st.integers(min_value=0),
    delta=st.integers(min_value=1, max_value=255),
)
def test_any_changed_byte_of_a_signed_note_is_rejected(
    text: str, position: int, delta: int
) -> None:
    signer = _HYPOTHESIS_SIGNER
    note = sign_note(text.encode() + b"\n", [signer])
    assert open_note(note, [signer.verifier]).text == text.encode() + b"\n"
    at = position % len(note)
    changed = note[:at] + bytes([(note[at] + delta) % 256]) + note[at + 1 :]
    with pytest.raises(LedgerError):
        open_note(changed, [signer.verifier])


_HYPOTHESIS_SIGNER = NoteSigner("example.com/hypothesis", Ed25519PrivateKey.generate())


# --- verifier keys ----------------------------------------------------------------------


def test_every_mangling_of_a_verifier_key_is_rejected() -> None:
    """TestNewVerifier: every proper substring and every single incremented byte."""
    vkey = PETER_VKEY
    for i in range(len(vkey) + 1):
        for j in range(i + 1, len(vkey) + 1):
            if (i, j) != (0, len(vkey)):
                with pytest.raises(NoteError):
                    parse_verifier_key(vkey[i:j])
    for i in range(len(vkey)):
        mangled = vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1 :]
        with pytest.raises(NoteError):
            parse_verifier_key(mangled)


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        # TestNewVerifier: a key of the wrong length, and an unknown algorithm, both with
        # a key hash adjusted to match.
        (
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "verifier key",  # Go rejects its length; we its non-canonical padding
        ),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "starting 65"),
        # transparency-dev/formats TestCoSigV1NewVerifier failure cases.
        ("bananas.sigstore.dev+12344556", "not canonical standard base64"),
        ("rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!", "not standard base64"),
        ("rekor.sigstore.dev+12345678+AwEB", "type byte"),
        ("PeterNeumann+00000000+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "expected c74f20a3"),
    ],
)
def test_bad_verifier_keys_fail_precisely(vkey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_verifier_key(vkey)


def test_published_verifier_keys_of_both_types_parse() -> None:
    """transparency-dev/formats TestCoSigV1NewVerifier: a 0x01 key and a native 0x04 key; the
    key hashes they carry are checked against ours."""
    plain = parse_verifier_key("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert isinstance(plain, NoteVerifier)
    assert plain.key_hash.hex() == "7997405c"
    witness = parse_verifier_key(
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    )
    assert isinstance(witness, CosignatureVerifier)
    assert witness.key_hash.hex() == "da77ade7"
    assert witness.vkey == "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def test_key_hash_is_the_spec_formula() -> None:
    key = bytes(range(32))
    for signature_type in (ED25519, COSIGNATURE_V1):
        expected = hashlib.sha256(b"w\n" + bytes([signature_type]) + key).digest()[:4]
        assert key_hash("w", signature_type, key) == expected


# --- checkpoints ------------------------------------------------------------------------


def test_the_spec_example_checkpoint_parses_and_round_trips() -> None:
    checkpoint = parse_checkpoint(SPEC_CHECKPOINT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.checkpoint_text() == SPEC_CHECKPOINT


def test_extension_lines_round_trip() -> None:
    checkpoint = Checkpoint("log.example/fees", 7, bytes(32), ("ext one", "ext two"))
    text = checkpoint.checkpoint_text()
    assert text.endswith(b"\next one\next two\n")
    assert parse_checkpoint(text) == checkpoint


def test_the_empty_tree_checkpoint() -> None:
    empty = Checkpoint("log.example/fees", 0, EMPTY_ROOT)
    assert parse_checkpoint(empty.checkpoint_text()) == empty
    with pytest.raises(CheckpointError, match=f"expected the empty tree's root {EMPTY_ROOT.hex()}"):
        Checkpoint("log.example/fees", 0, bytes(32))


ROOT_LINE = b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"origin\n5\n", "at least 3 lines, got 2"),
        (b"origin\n5\n" + ROOT_LINE, "must end with a newline"),
        (b"origin\n05\n" + ROOT_LINE + b"\n", "without leading zeros, got '05'"),
        (b"origin\n+5\n" + ROOT_LINE + b"\n", "got '\\+5'"),
        (b"origin\n 5\n" + ROOT_LINE + b"\n", "got ' 5'"),
        ("origin\n５\n".encode() + ROOT_LINE + b"\n", "in decimal"),
        (b"origin\n-1\n" + ROOT_LINE + b"\n", "in decimal"),
        (b"origin\n18446744073709551616\n" + ROOT_LINE + b"\n", "within 0..2\\^64-1"),
        (b"origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", "not standard base64"),
        (b"origin\n5\nAAAA\n", "root hash must be 32 bytes"),
        (b"\n5\n" + ROOT_LINE + b"\n", "origin must be a non-empty string"),
        (b"origin\n5\n" + ROOT_LINE + b"\n\n", "extension line 4 must be a non-empty"),
        (b"origin\n5\n" + ROOT_LINE + b"\r\n", "control characters"),
    ],
)
def test_malformed_checkpoints_are_rejected(text: bytes, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(text)


@given(
    origin=st.text(st.characters(min_codepoint=0x21, exclude_categories=["Cs"]), min_size=1),
    size=st.integers(1, 2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1),
        max_size=3,
    ),
)
def test_checkpoints_round_trip(
    origin: str, size: int, root_hash: bytes, extensions: list[str]
) -> None:
    checkpoint = Checkpoint(origin, size, root_hash, tuple(extensions))
    assert parse_checkpoint(checkpoint.checkpoint_text()) == checkpoint


# --- cosignatures -----------------------------------------------------------------------


def test_the_spec_example_cosignature_line_and_message() -> None:
    """tlog-cosignature: the example line carries key hash, timestamp 1679315147 and a
    64-byte signature, and the example signed message is header, time line, checkpoint."""
    text, signatures = split_note(SPEC_CHECKPOINT + b"\n" + SPEC_COSIGNATURE)
    assert text == SPEC_CHECKPOINT
    (line,) = signatures
    assert line.name == "witness.example.com/w1"
    assert line.key_hash == bytes.fromhex("8d66cf3f")
    assert int.from_bytes(line.signature[:8], "big") == 1679315147
    assert len(line.signature) == 8 + 64
    assert cosignature_message(SPEC_CHECKPOINT, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def sigsum_witness(public_hex: str) -> tuple[CosignatureVerifier, bytes]:
    """A verifier for one sigsum test witness and its cosignature as a note line (sigsum
    does not name witnesses; the name only feeds the key hash)."""
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    verifier = CosignatureVerifier(f"witness.sigsum.example/{public_hex[:8]}", public_key)
    payload = SIGSUM_TIMESTAMP.to_bytes(8, "big") + bytes.fromhex(SIGSUM_WITNESSES[public_hex])
    return verifier, signature_line(verifier.name, verifier.key_hash, payload)


def test_a_real_logs_checkpoint_and_cosignatures_verify() -> None:
    """The sigsum test log signs its checkpoint as an Ed25519 note signature named by the
    origin, and its witnesses cosign it with cosignature/v1: both verify here."""
    checkpoint = sigsum_checkpoint()
    log = NoteVerifier(
        parse_checkpoint(checkpoint).origin,
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(SIGSUM_LOG_KEY)),
    )
    log_line = signature_line(log.name, log.key_hash, bytes.fromhex(SIGSUM_LOG_SIGNATURE))
    witnesses = [sigsum_witness(key) for key in SIGSUM_WITNESSES]
    for verifier, line in witnesses:
        assert verify_cosignature(checkpoint, line, verifier) == SIGSUM_TIMESTAMP
        with pytest.raises(NoteSignatureError, match="does not verify"):
            verify_cosignature(checkpoint.replace(b"930", b"931"), line, verifier)
    note = checkpoint + b"\n" + log_line + b"".join(line for _, line in witnesses)
    opened = open_note(
        note,
        [log, *(verifier for verifier, _ in witnesses)],
        require=[log.name, *(verifier.name for verifier, _ in witnesses)],
    )
    assert opened.text == checkpoint
    assert len(opened.verified_names) == 4


def test_cosignature_round_trip() -> None:
    checkpoint = Checkpoint("log.example/fees", 3, bytes(range(32))).checkpoint_text()
    key = Ed25519PrivateKey.generate()
    line = cosign(checkpoint, "witness.example/w1", key, 1_700_000_000)
    verifier = CosignatureVerifier("witness.example/w1", key.public_key())
    assert line.startswith("— witness.example/w1 ".encode())
    assert verify_cosignature(checkpoint, line, verifier) == 1_700_000_000
    assert verify_cosignature(checkpoint, line, verifier, now=1_700_000_000) == 1_700_000_000
    parsed = parse_verifier_key(verifier.vkey)
    assert isinstance(parsed, CosignatureVerifier)
    assert parsed.key_hash == verifier.key_hash


def test_cosignature_failures() -> None:
    checkpoint = Checkpoint("log.example/fees", 3, bytes(range(32))).checkpoint_text()
    key = Ed25519PrivateKey.generate()
    verifier = CosignatureVerifier("witness.example/w1", key.public_key())
    line = cosign(checkpoint, "witness.example/w1", key, 1_700_000_000)
    with pytest.raises(NoteSignatureError, match="dated 1700000000, after now \\(1699999999\\)"):
        verify_cosignature(checkpoint, line, verifier, now=1_699_999_999)
    stranger = CosignatureVerifier("witness.example/w1", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(
        NoteSignatureError, match=re.escape("expected a cosignature by witness.example/w1")
    ):
        verify_cosignature(checkpoint, line, stranger)
    other = cosign(checkpoint, "witness.example/w2", key, 1_700_000_000)
    with pytest.raises(NoteSignatureError, match=re.escape("got one by witness.example/w2")):
        verify_cosignature(checkpoint, other, verifier)
    tampered = Checkpoint("log.example/fees", 4, bytes(range(32))).checkpoint_text()
    with pytest.raises(NoteSignatureError, match="at time 1700000000 does not verify"):
        verify_cosignature(tampered, line, verifier)
    raw = base64.b64decode(line.split(b" ")[2])
    backdated = raw[:4] + (1_600_000_000).to_bytes(8, "big") + raw[12:]
    backdated_line = signature_line("witness.example/w1", raw[:4], backdated[4:])
    with pytest.raises(NoteSignatureError, match="at time 1600000000 does not verify"):
        verify_cosignature(checkpoint, backdated_line, verifier)
    with pytest.raises(NoteError, match="one signature line"):
        verify_cosignature(checkpoint, line + line, verifier)
    with pytest.raises(CheckpointError):
        cosign(b"not a checkpoint\n", "witness.example/w1", key, 1)
    with pytest.raises(ValueError, match=re.escape("within 0..2^63-1")):
        cosign(checkpoint, "witness.example/w1", key, 2**63)


def test_a_cosignature_is_not_a_plain_note_signature() -> None:
    """Key type 0x04 gives the same key another key hash, so neither passes for the other."""
    checkpoint = Checkpoint("log.example/fees", 3, bytes(range(32))).checkpoint_text()
    key = Ed25519PrivateKey.generate()
    plain = NoteVerifier("witness.example/w1", key.public_key())
    cosigned = checkpoint + b"\n" + cosign(checkpoint, "witness.example/w1", key, 5)
    with pytest.raises(NoteSignatureError, match="no signature by a known key"):
        open_note(cosigned, [plain])
    signed = sign_note(checkpoint, [NoteSigner("witness.example/w1", key)])
    with pytest.raises(NoteSignatureError, match="no signature by a known key"):
        open_note(signed, [CosignatureVerifier("witness.example/w1", key.public_key())])


def test_a_log_and_its_witnesses_in_one_note() -> None:
    checkpoint = Checkpoint("log.example/fees", 12, bytes(range(32))).checkpoint_text()
    log = new_signer("log.example/fees")
    keys = {f"witness.example/w{i}": Ed25519PrivateKey.generate() for i in range(3)}
    witnesses = [CosignatureVerifier(name, key.public_key()) for name, key in keys.items()]
    note = sign_note(checkpoint, [log]) + b"".join(
        cosign(checkpoint, name, key, 1_700_000_000 + i)
        for i, (name, key) in enumerate(list(keys.items())[:2])
    )
    opened = open_note(note, [log.verifier, *witnesses], require=["log.example/fees"])
    assert opened.verified_names == ("log.example/fees", "witness.example/w0", "witness.example/w1")
    with pytest.raises(
        NoteSignatureError,
        match=re.escape("signed by 3 of 4 required keys: missing witness.example/w2"),
    ):
        open_note(note, [log.verifier, *witnesses], require=[log.name, *keys])


@given(timestamp=st.integers(0, 2**63 - 1), size=st.integers(1, 2**64 - 1))
def test_cosignatures_round_trip_at_any_time(timestamp: int, size: int) -> None:
    checkpoint = Checkpoint("log.example/fees", size, bytes(32)).checkpoint_text()
    line = cosign(checkpoint, "witness.example/w1", _HYPOTHESIS_WITNESS, timestamp)
    verifier = CosignatureVerifier("witness.example/w1", _HYPOTHESIS_WITNESS.public_key())
    assert verify_cosignature(checkpoint, line, verifier) == timestamp


_HYPOTHESIS_WITNESS = Ed25519PrivateKey.generate()
