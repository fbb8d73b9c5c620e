"""RFC 9162 Merkle log: published known answers, a real log's proof, properties, rejections.

Known answers come from transparency-dev/merkle (testonly/constants.go and
proof/verify_test.go), the vectors certificate-transparency has used since RFC 6962: eight
leaves, the roots of every prefix, and inclusion and consistency proofs. Their inclusion
vectors number leaves from 1; here they are converted to 0-based indices.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topmatch.errors import TopmatchError
from topmatch.ledger import errors
from topmatch.ledger.errors import ConsistencyProofError, InclusionProofError, LedgerError
from topmatch.ledger.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)


def h(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest)


# transparency-dev/merkle testonly/constants.go: LeafInputs()
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
LEAF_HASHES = [leaf_hash(d) for d in LEAVES]

# testonly/constants.go: NodeHashes()[0], the leaf hashes.
PUBLISHED_LEAF_HASHES = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
    h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
    h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
    h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
    h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
]

# testonly/constants.go: RootHashes(), indexed by tree size 0..8.
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# proof/verify_test.go: inclusionProofs, as (0-based index, tree size, proof).
INCLUSION_PROOFS = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# proof/verify_test.go: consistencyProofs, as (old size, new size, proof).
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def reference_mth(data: Sequence[bytes]) -> bytes:
    """RFC 9162 section 2.1.1, literally: the recursive MTH over leaf *data*."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + reference_mth(data[:k]) + reference_mth(data[k:])).digest()


def distinct_leaves(n: int, salt: bytes = b"") -> list[bytes]:
    """Leaf hashes of n different records (distinct leaves make every subtree distinct)."""
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(n)]


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


# --- errors -----------------------------------------------------------------------------


def test_every_ledger_error_is_a_topmatch_error_with_its_own_code() -> None:
    classes = [
        errors.InclusionProofError,
        errors.ConsistencyProofError,
        errors.NoteError,
        errors.NoteSignatureError,
        errors.CheckpointError,
        errors.EntrySignatureError,
        errors.CanonicalFormError,
    ]
    assert all(issubclass(c, LedgerError) and issubclass(c, TopmatchError) for c in classes)
    codes = [c.code for c in [LedgerError, *classes]]
    assert len(set(codes)) == len(codes)
    assert LedgerError.code == "ledger_error"


# --- known answers ----------------------------------------------------------------------


def test_leaf_hashes_match_the_published_ones() -> None:
    assert LEAF_HASHES == PUBLISHED_LEAF_HASHES


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_published_ones(size: int) -> None:
    assert root(LEAF_HASHES[:size]) == ROOTS[size]
    assert MerkleTree(LEAF_HASHES[:size]).root() == ROOTS[size]
    assert reference_mth(LEAVES[:size]) == ROOTS[size]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert MerkleTree().root() == EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_published_inclusion_proofs_are_generated_and_verify(
    index: int, size: int, proof: list[bytes]
) -> None:
    assert inclusion_proof(LEAF_HASHES[:size], index) == proof
    assert MerkleTree(LEAF_HASHES).inclusion_proof(index, size) == proof
    verify_inclusion(
        leaf_hash=LEAF_HASHES[index], index=index, tree_size=size, proof=proof, root=ROOTS[size]
    )


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS)
def test_published_consistency_proofs_are_generated_and_verify(
    old: int, new: int, proof: list[bytes]
) -> None:
    assert consistency_proof(LEAF_HASHES[:new], old) == proof
    assert MerkleTree(LEAF_HASHES).consistency_proof(old, new) == proof
    verify_consistency(
        old_size=old, new_size=new, old_root=ROOTS[old], new_root=ROOTS[new], proof=proof
    )


def corrupted_inclusion_probes(
    index: int, size: int, proof: list[bytes], good_root: bytes, leaf: bytes
) -> list[tuple[str, dict[str, object]]]:
    """transparency-dev/merkle proof/verify_test.go corruptInclusionProof, probe by probe."""
    base: dict[str, object] = {
        "leaf_hash": leaf,
        "index": index,
        "tree_size": size,
        "proof": proof,
        "root": good_root,
    }
    probes: list[tuple[str, dict[str, object]]] = [
        ("index - 1", {**base, "index": index - 1}),
        ("index + 1", {**base, "index": index + 1}),
        ("index ^ 2", {**base, "index": index ^ 2}),
        ("size * 2", {**base, "tree_size": size * 2}),
        ("size // 2", {**base, "tree_size": size // 2}),
        ("wrong leaf", {**base, "leaf_hash": b"WrongLeaf"}),
        ("empty root", {**base, "root": EMPTY_ROOT}),
        ("random root", {**base, "root": SOME_HASH}),
        ("trailing garbage", {**base, "proof": [*proof, b""]}),
        ("trailing root", {**base, "proof": [*proof, good_root]}),
        ("preceding garbage", {**base, "proof": [b"", *proof]}),
        ("preceding root", {**base, "proof": [good_root, *proof]}),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        probes.append((f"proof[{i}] bit 3", {**base, "proof": bad}))
    if proof:
        probes.append(("removed component", {**base, "proof": proof[:-1]}))
    if len(proof) > 1:
        probes.append(("inserted component", {**base, "proof": [proof[0], SOME_HASH, *proof[1:]]}))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS[1:])
def test_corrupted_published_inclusion_proofs_fail(
    index: int, size: int, proof: list[bytes]
) -> None:
    verified = []
    for description, probe in corrupted_inclusion_probes(
        index, size, proof, ROOTS[size], LEAF_HASHES[index]
    ):
        try:
            verify_inclusion(**probe)  # type: ignore[arg-type]
        except InclusionProofError:
            continue
        verified.append(description)
    assert verified == []


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS[1:])
def test_corrupted_published_consistency_proofs_fail(
    old: int, new: int, proof: list[bytes]
) -> None:
    """transparency-dev/merkle proof/verify_test.go corruptConsistencyProof."""
    r1, r2 = ROOTS[old], ROOTS[new]
    base: dict[str, object] = {
        "old_size": old,
        "new_size": new,
        "old_root": r1,
        "new_root": r2,
        "proof": proof,
    }
    probes: list[dict[str, object]] = [
        {**base, "old_size": old - 1},
        {**base, "old_size": old + 1},
        {**base, "old_size": old ^ 2},
        {**base, "new_size": new * 2},
        {**base, "new_size": new // 2},
        {**base, "old_root": b"WrongRoot"},
        {**base, "new_root": b"WrongRoot"},
        {**base, "old_root": r2, "new_root": r1},
        {**base, "proof": []},
        {**base, "proof": [*proof, b""]},
        {**base, "proof": [*proof, r1]},
        {**base, "proof": [*proof, r2]},
        {**base, "proof": [b"", *proof]},
        {**base, "proof": [r1, *proof]},
        {**base, "proof": [r2, *proof]},
        {**base, "proof": [proof[0], *proof]},
        {**base, "proof": proof[:-1]},
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append({**base, "proof": bad})
    verified = []
    for probe in probes:
        try:
            verify_consistency(**probe)  # type: ignore[arg-type]
        except ConsistencyProofError:
            continue
        verified.append(probe)
    assert verified == []


def test_inclusion_proof_from_a_real_log() -> None:
    """A proof served by the sigsum test log (test.sigsum.org/barreleye) for the leaf that
    logs "test\\n": its tree head at size 930 also carries a valid log signature and three
    witness cosignatures (tests/test_note.py). Vector: lsd-cat/sigsum-ts
    src/tests/verify.test.ts. A sigsum leaf is checksum || signature || key hash, with
    checksum = SHA-256(SHA-256(message))."""
    checksum = hashlib.sha256(hashlib.sha256(b"test\n").digest()).digest()
    signature = h(
        "7fdadea21d3268bceb9c4959f25ed8d7a0be2e23637bbcf795b861498626928b"
        "cde9180591c5d3c1d6b15b0b6a36df329226d312cde0bb36331888194df1680a"
    )
    submitter = h("00004cce3ad5f54dceb2e20788b72b1c91a8c3913e7866670f5752fe14009f4d")
    proof = [
        h("77c4b148100a011c490dd23bead8e08f9bdafe27675082f6ec00b0725b8ef8fd"),
        h("0736f9e2aad3b8c89c4dbb01f71d3c38d0ace393079dcaf8edd9b61ab9adca84"),
        h("abc5352f9af6df2f2c0a06381043393af36555170c01b3004507af7d36fd22a4"),
        h("4e301e7ae4f9abb0c710cae380daa991b95528b0d631ce04a001c28236e4f938"),
        h("b6be547daa4f6b3d42628bb14020e9b2d73a4ee8cf3c4e0a3b88793916926f27"),
    ]
    published_root = h("f24ca2b7b234c380438fbeb7e6a3e7481705adf22b8ecab47ca049b31b642bd8")
    leaf = leaf_hash(checksum + signature + submitter)
    verify_inclusion(leaf_hash=leaf, index=929, tree_size=930, proof=proof, root=published_root)
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf_hash=leaf, index=928, tree_size=930, proof=proof, root=published_root)


# --- edge cases and messages ------------------------------------------------------------


def test_inclusion_failure_names_expected_and_actual_root() -> None:
    index, size, proof = INCLUSION_PROOFS[1]
    with pytest.raises(InclusionProofError) as caught:
        verify_inclusion(
            leaf_hash=LEAF_HASHES[index], index=index, tree_size=size, proof=proof, root=SOME_HASH
        )
    assert caught.value.message.startswith(f"expected root {SOME_HASH.hex()}, got {ROOTS[8].hex()}")


@pytest.mark.parametrize(
    ("index", "size", "proof", "message"),
    [
        (0, 0, [], "leaf index 0 is outside a tree of size 0"),
        (1, 1, [], "leaf index 1 is outside a tree of size 1"),
        (-1, 1, [], "leaf index must be a non-negative integer, got -1"),
        (0, 2, [], "for leaf 0 in a tree of size 2 has 1 hashes, got 0"),
        (0, 1, [b"short"], "proof hash 0 must be 32 bytes, got 5 bytes"),
    ],
)
def test_malformed_inclusion_requests_fail_precisely(
    index: int, size: int, proof: list[bytes], message: str
) -> None:
    with pytest.raises(InclusionProofError, match=message):
        verify_inclusion(
            leaf_hash=SOME_HASH, index=index, tree_size=size, proof=proof, root=SOME_HASH
        )


def test_single_leaf_tree_root_is_the_leaf_hash() -> None:
    leaf = leaf_hash(b"data")
    verify_inclusion(leaf_hash=leaf, index=0, tree_size=1, proof=[], root=leaf)
    with pytest.raises(InclusionProofError, match="must be 32 bytes"):
        verify_inclusion(leaf_hash=b"", index=0, tree_size=1, proof=[], root=leaf)
    with pytest.raises(InclusionProofError, match="must be 32 bytes"):
        verify_inclusion(leaf_hash=leaf, index=0, tree_size=1, proof=[], root=b"")


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof", "message"),
    [
        # transparency-dev's TestVerifyConsistency table, with our stricter size-0 rule.
        (0, 0, EMPTY_ROOT, SOME_HASH, [], "expected new root"),
        (1, 1, SOME_HASH, EMPTY_ROOT, [], "expected new root"),
        (1, 0, SOME_HASH, SOME_HASH, [], "the log went backwards"),
        (2, 1, SOME_HASH, SOME_HASH, [], "expected a new size of at least 2, got 1"),
        (1, 2, SOME_HASH, SOME_HASH, [], "from size 1 to 2 has 1 hashes, got 0"),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], "from size 0 to 0 has 0 hashes, got 1"),
        (0, 1, EMPTY_ROOT, SOME_HASH, [EMPTY_ROOT], "from size 0 to 1 has 0 hashes, got 1"),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], "from size 1 to 1 has 0 hashes, got 1"),
        (0, 5, SOME_HASH, SOME_HASH, [], "expected the empty tree's root e3b0c442"),
    ],
)
def test_consistency_edge_cases_fail_precisely(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes], message: str
) -> None:
    with pytest.raises(ConsistencyProofError, match=message):
        verify_consistency(
            old_size=old, new_size=new, old_root=old_root, new_root=new_root, proof=proof
        )


def test_consistency_edge_cases_that_hold() -> None:
    verify_consistency(old_size=0, new_size=0, old_root=EMPTY_ROOT, new_root=EMPTY_ROOT, proof=[])
    verify_consistency(old_size=0, new_size=8, old_root=EMPTY_ROOT, new_root=ROOTS[8], proof=[])
    verify_consistency(old_size=3, new_size=3, old_root=ROOTS[3], new_root=ROOTS[3], proof=[])


def test_consistency_failure_names_expected_and_actual_roots() -> None:
    old, new, proof = CONSISTENCY_PROOFS[2]
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(
            old_size=old, new_size=new, old_root=SOME_HASH, new_root=ROOTS[new], proof=proof
        )
    assert caught.value.message == (
        f"expected old root (size 6) {SOME_HASH.hex()}, got {ROOTS[6].hex()} "
        "from the consistency proof"
    )


def test_misuse_of_the_generators_is_a_programming_error() -> None:
    tree = MerkleTree(LEAF_HASHES)
    with pytest.raises(ValueError, match="a leaf hash is 32 bytes"):
        tree.append(b"raw data, not a hash")
    with pytest.raises(IndexError):
        tree.inclusion_proof(8)
    with pytest.raises(IndexError):
        inclusion_proof(LEAF_HASHES, -1)
    with pytest.raises(ValueError, match=re.escape("tree size 9 is outside 0..8")):
        tree.root(9)
    with pytest.raises(ValueError, match=re.escape("old size 9 is outside 0..8")):
        consistency_proof(LEAF_HASHES, 9)
    with pytest.raises(ValueError, match=re.escape("old size 5 is outside 0..4")):
        tree.consistency_proof(5, 4)


# --- properties -------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=140)


@given(data=st.lists(st.binary(max_size=40), max_size=70))
def test_roots_match_the_literal_rfc_definition(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    tree = MerkleTree()
    assert tree.root() == root([]) == reference_mth([])
    for n, leaf in enumerate(hashes, 1):
        assert tree.append(leaf) == n - 1
        assert tree.root() == root(hashes[:n]) == reference_mth(data[:n])
    for n in range(len(hashes) + 1):
        assert tree.root(n) == reference_mth(data[:n])


@given(size=sizes, data=st.data())
def test_every_inclusion_proof_verifies(size: int, data: st.DataObject) -> None:
    hashes = distinct_leaves(size)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(hashes, index)
    assert proof == MerkleTree(hashes).inclusion_proof(index)
    verify_inclusion(
        leaf_hash=hashes[index], index=index, tree_size=size, proof=proof, root=root(hashes)
    )


@given(size=sizes, data=st.data())
def test_any_flipped_byte_breaks_an_inclusion_proof(size: int, data: st.DataObject) -> None:
    hashes = distinct_leaves(size)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof, good_root = inclusion_proof(hashes, index), root(hashes)
    target = data.draw(st.sampled_from(["leaf", "root", "proof"] if proof else ["leaf", "root"]))
    leaf = hashes[index]
    position = data.draw(st.integers(0, 31), label="byte")
    if target == "leaf":
        leaf = flip(leaf, position)
    elif target == "root":
        good_root = flip(good_root, position)
    else:
        which = data.draw(st.integers(0, len(proof) - 1), label="proof hash")
        proof[which] = flip(proof[which], position)
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf_hash=leaf, index=index, tree_size=size, proof=proof, root=good_root)


@given(size=sizes, data=st.data())
def test_an_inclusion_proof_fails_for_any_other_index(size: int, data: st.DataObject) -> None:
    hashes = distinct_leaves(size)
    index = data.draw(st.integers(0, size - 1), label="index")
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
    proof = inclusion_proof(hashes, index)
    with pytest.raises(InclusionProofError):
        verify_inclusion(
            leaf_hash=hashes[index], index=other, tree_size=size, proof=proof, root=root(hashes)
        )


@given(size=sizes, data=st.data())
def test_an_inclusion_proof_fails_for_any_other_tree_size(size: int, data: st.DataObject) -> None:
    """Claimed against another size of the same log, with that size's own root."""
    hashes = distinct_leaves(size + 40)
    index = data.draw(st.integers(0, size - 1), label="index")
    other = data.draw(st.integers(index + 1, size + 40).filter(lambda n: n != size), label="size")
    proof = inclusion_proof(hashes[:size], index)
    with pytest.raises(InclusionProofError):
        verify_inclusion(
            leaf_hash=hashes[index],
            index=index,
            tree_size=other,
            proof=proof,
            root=root(hashes[:other]),
        )


@given(new=sizes, data=st.data())
def test_every_consistency_proof_verifies(new: int, data: st.DataObject) -> None:
    hashes = distinct_leaves(new)
    old = data.draw(st.integers(0, new), label="old")
    proof = consistency_proof(hashes, old)
    assert proof == MerkleTree(hashes).consistency_proof(old)
    verify_consistency(
        old_size=old, new_size=new, old_root=root(hashes[:old]), new_root=root(hashes), proof=proof
    )


@given(new=sizes, data=st.data())
def test_a_consistency_proof_fails_for_a_wrong_root_or_flipped_byte(
    new: int, data: st.DataObject
) -> None:
    hashes = distinct_leaves(new)
    old = data.draw(st.integers(0, new), label="old")
    proof = consistency_proof(hashes, old)
    old_root, new_root = root(hashes[:old]), root(hashes)
    targets = ["old root", "new root", *(["proof"] if proof else [])]
    if old in (0, new):
        # Every tree extends the empty one, and for equal sizes either root is the same probe.
        targets.remove("new root")
    target = data.draw(st.sampled_from(targets))
    position = data.draw(st.integers(0, 31), label="byte")
    if target == "old root":
        old_root = flip(old_root, position)
    elif target == "new root":
        new_root = flip(new_root, position)
    else:
        which = data.draw(st.integers(0, len(proof) - 1), label="proof hash")
        proof[which] = flip(proof[which], position)
    with pytest.raises(ConsistencyProofError):
        verify_consistency(
            old_size=old, new_size=new, old_root=old_root, new_root=new_root, proof=proof
        )


@given(new=sizes, data=st.data())
def test_a_consistency_proof_fails_against_another_logs_old_root(
    new: int, data: st.DataObject
) -> None:
    """A fork: the old tree head of a log that rewrote its history does not extend."""
    hashes = distinct_leaves(new)
    forked = distinct_leaves(new, salt=b"fork")
    old = data.draw(st.integers(1, new), label="old")
    with pytest.raises(ConsistencyProofError):
        verify_consistency(
            old_size=old,
            new_size=new,
            old_root=root(forked[:old]),
            new_root=root(hashes),
            proof=consistency_proof(hashes, old),
        )


@given(size=st.integers(0, 300), data=st.data())
def test_a_grown_tree_proves_its_history(size: int, data: st.DataObject) -> None:
    """Proofs for any earlier size come from the cache and equal the ones from the list."""
    hashes = distinct_leaves(size)
    tree = MerkleTree(hashes)
    assert len(tree) == tree.size == size
    past = data.draw(st.integers(0, size), label="past size")
    assert tree.root(past) == root(hashes[:past])
    older = data.draw(st.integers(0, past), label="older size")
    assert tree.consistency_proof(older, past) == consistency_proof(hashes[:past], older)
    if past:
        index = data.draw(st.integers(0, past - 1), label="index")
        assert tree.leaf_hash(index) == hashes[index]
        assert tree.inclusion_proof(index, past) == inclusion_proof(hashes[:past], index)


def test_a_large_tree_keeps_its_root_in_step() -> None:
    hashes = distinct_leaves(5_000)
    tree = MerkleTree()
    for leaf in hashes:
        tree.append(leaf)
    assert tree.root() == root(hashes)
    index = 4_321
    verify_inclusion(
        leaf_hash=hashes[index],
        index=index,
        tree_size=5_000,
        proof=tree.inclusion_proof(index),
        root=tree.root(),
    )
    verify_consistency(
        old_size=4_097,
        new_size=5_000,
        old_root=tree.root(4_097),
        new_root=tree.root(),
        proof=tree.consistency_proof(4_097),
    )
