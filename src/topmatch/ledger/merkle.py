"""The ledger's Merkle log: RFC 9162 tree hashing, inclusion and consistency proofs. Pure.

RFC 9162 section 2.1 (Certificate Transparency 2.0) defines the same Merkle Tree Hash as
RFC 6962 section 2.1, with SHA-256 and domain-separated leaves and nodes:

    MTH({})    = SHA-256()                                          (section 2.1.1)
    MTH({d0})  = SHA-256(0x00 || d0)                                 the leaf hash
    MTH(D[n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))         k = the largest power
                                                                     of two smaller than n

Everything here works on *leaf hashes* (``leaf_hash(data)``), not on leaf data, so a log can
keep 32 bytes per entry. Proof *generation* follows the recursive definitions PATH (section
2.1.3.1) and SUBPROOF (section 2.1.4.1); proof *verification* is the RFC's own iterative
algorithms (sections 2.1.3.2 and 2.1.4.2) and needs nothing but the proof, the sizes and the
roots, so an auditor can run it offline.

Cost, for a tree of n leaves (a "hash" is one SHA-256 of at most 65 bytes):

===============================================  ==============================================
``root(leaf_hashes)``                            n - 1 hashes, O(n) memory for one level
``inclusion_proof`` / ``consistency_proof``      O(n) hashes: each sibling subtree is hashed
  on a plain list of leaf hashes                 from its leaves
``MerkleTree.append``                            1 hash amortised, at most log2(n)
``MerkleTree.root()``                            at most log2(n) hashes (the compact range)
``MerkleTree`` proofs                            O(log² n) hashes worst case, from the cache
``MerkleTree`` memory                            about 64n bytes (64 MB per million leaves)
``verify_inclusion`` / ``verify_consistency``    O(log n) hashes
===============================================  ==============================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from topmatch.ledger.errors import ConsistencyProofError, InclusionProofError

HASH_SIZE: Final = 32
#: MTH({}) = SHA-256 of the empty string (RFC 9162 section 2.1.1).
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"

_FROM_PROOF: Final = "from the consistency proof"

#: MTH(D[start:end]) of one tree: how a proof generator obtains subtree hashes.
_RangeHash = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """MTH({d0}) = SHA-256(0x00 || d0) (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the tree with these leaf hashes, level by level.

    Pairing neighbours on each level and carrying a lone last node up unchanged builds the
    same tree as the recursive definition, because the left subtree of every split holds a
    power of two leaves.
    """
    _require_hashes(leaf_hashes)
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 section 2.1.3.1, leaf side first. O(n) hashes."""
    _require_hashes(leaf_hashes)
    _require_index(index, len(leaf_hashes))
    return _path(index, len(leaf_hashes), _list_range_hash(leaf_hashes))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 9162 section 2.1.4.1, for 0 <= old_size <= n. O(n) hashes.

    The proof is empty when old_size is 0 or n: every tree extends the empty tree, and a
    tree is consistent with itself.
    """
    _require_hashes(leaf_hashes)
    _require_size(old_size, len(leaf_hashes), what="old size")
    return _subproof(old_size, len(leaf_hashes), _list_range_hash(leaf_hashes))


def verify_inclusion(
    *, leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` with ``root``.

    RFC 9162 section 2.1.3.2. Raises :class:`InclusionProofError`, with expected and actual
    values, when it is not.
    """
    _check_natural(index, "leaf index", InclusionProofError)
    _check_natural(tree_size, "tree size", InclusionProofError)
    if index >= tree_size:
        raise InclusionProofError(
            f"leaf index {index} is outside a tree of size {tree_size}: "
            f"expected an index below {tree_size}"
        )
    _check_hash(leaf_hash, "leaf hash", InclusionProofError)
    _check_hash(root, "root", InclusionProofError)
    for i, node in enumerate(proof):
        _check_hash(node, f"proof hash {i}", InclusionProofError)
    expected = _inclusion_proof_length(index, tree_size)
    if len(proof) != expected:
        raise InclusionProofError(
            f"an inclusion proof for leaf {index} in a tree of size {tree_size} has "
            f"{expected} hashes, got {len(proof)}"
        )
    computed = _root_from_inclusion_proof(leaf_hash, index, tree_size, proof)
    if computed != root:
        raise InclusionProofError(
            f"expected root {root.hex()}, got {computed.hex()} from the inclusion proof "
            f"of leaf {index} in a tree of size {tree_size}"
        )


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the one of ``old_size``.

    RFC 9162 section 2.1.4.2, plus the edge cases the RFC leaves to the caller: a log that
    shrank fails, equal sizes need equal roots and an empty proof, and the empty tree (whose
    root must be SHA-256 of nothing) is extended by every tree. Raises
    :class:`ConsistencyProofError`.
    """
    _check_natural(old_size, "old size", ConsistencyProofError)
    _check_natural(new_size, "new size", ConsistencyProofError)
    if old_size > new_size:
        raise ConsistencyProofError(
            f"the log went backwards: expected a new size of at least {old_size}, got {new_size}"
        )
    _check_hash(old_root, "old root", ConsistencyProofError)
    _check_hash(new_root, "new root", ConsistencyProofError)
    for i, node in enumerate(proof):
        _check_hash(node, f"proof hash {i}", ConsistencyProofError)
    expected = _consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise ConsistencyProofError(
            f"a consistency proof from size {old_size} to {new_size} has {expected} hashes, "
            f"got {len(proof)}"
        )
    if old_size == new_size and old_root != new_root:
        raise ConsistencyProofError(
            f"expected new root (size {new_size}) equal to the old root {old_root.hex()}, "
            f"got {new_root.hex()}"
        )
    if old_size == 0:
        _same_root(EMPTY_ROOT, old_root, "the empty tree's root", "as the old root of size 0")
    elif old_size != new_size:
        old_computed, new_computed = _roots_from_consistency_proof(
            old_size, new_size, old_root, proof
        )
        _same_root(old_root, old_computed, f"old root (size {old_size})", _FROM_PROOF)
        _same_root(new_root, new_computed, f"new root (size {new_size})", _FROM_PROOF)


class MerkleTree:
    """An append-only tree of leaf hashes that caches every complete subtree.

    Level ``l`` holds, in one ``bytearray``, the hash of each complete subtree of ``2**l``
    leaves that starts at a multiple of ``2**l``; level 0 holds the leaf hashes. Those
    subtrees never change in an append-only log, so they are hashed once. The last node of
    each level whose bit is set in the size forms the tree's frontier (its "compact range"):
    the stack of RFC 9162 section 2.1.2, whose merge step :meth:`append` performs. Folding it
    (step 3 there) makes :meth:`root` O(log n), and every subtree a proof needs is at most
    O(log n) hashes away from the cache.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = []
        self._size = 0
        for leaf in leaf_hashes:
            self.append(leaf)

    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf_hash: bytes) -> int:
        """Add one leaf hash; return its index. Hashes each subtree it completes."""
        _require_hash(leaf_hash)
        index = self._size
        self._store(0, leaf_hash)
        self._size += 1
        node, level, position = leaf_hash, 0, index
        # RFC 9162 section 2.1.2 step 2: merge once per trailing one bit of the index (a node
        # at an odd position is a right child and completes its parent).
        while position & 1:
            node = node_hash(self._node(level, position - 1), node)
            level += 1
            position >>= 1
            self._store(level, node)
        return index

    def leaf_hash(self, index: int) -> bytes:
        _require_index(index, self._size)
        return self._node(0, index)

    def root(self, tree_size: int | None = None) -> bytes:
        """MTH of the first ``tree_size`` leaves (default: all of them). O(log n)."""
        size = self._size_or_current(tree_size)
        return self._range_hash(0, size)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """PATH(index, D[tree_size]) (RFC 9162 section 2.1.3.1) from the cache."""
        size = self._size_or_current(tree_size)
        _require_index(index, size)
        return _path(index, size, self._range_hash)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[new_size]) (RFC 9162 section 2.1.4.1) from the cache."""
        size = self._size_or_current(new_size)
        _require_size(old_size, size, what="old size")
        return _subproof(old_size, size, self._range_hash)

    def _size_or_current(self, tree_size: int | None) -> int:
        if tree_size is None:
            return self._size
        _require_size(tree_size, self._size, what="tree size")
        return tree_size

    def _node(self, level: int, position: int) -> bytes:
        offset = position * HASH_SIZE
        return bytes(self._levels[level][offset : offset + HASH_SIZE])

    def _store(self, level: int, node: bytes) -> None:
        if level == len(self._levels):
            self._levels.append(bytearray())
        self._levels[level] += node

    def _range_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]); a complete aligned subtree comes straight from the cache."""
        width = end - start
        if width == 0:
            return EMPTY_ROOT
        if width & (width - 1) == 0 and start % width == 0:
            level = width.bit_length() - 1
            return self._node(level, start >> level)
        split = _split(width)
        return node_hash(
            self._range_hash(start, start + split), self._range_hash(start + split, end)
        )


def _split(width: int) -> int:
    """k of RFC 9162 section 2.1.1: the largest power of two smaller than width (>= 2)."""
    return 1 << ((width - 1).bit_length() - 1)


def _path(index: int, size: int, range_hash: _RangeHash) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 section 2.1.3.1), unrolled.

    Walks from the root towards the leaf; the sibling met at each split is the subtree hash
    the RFC appends after the recursive part, so the list is reversed at the end.
    """
    siblings: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            siblings.append(range_hash(start + k, end))
            end = start + k
        else:
            siblings.append(range_hash(start, start + k))
            start, m = start + k, m - k
    siblings.reverse()
    return siblings


def _subproof(old_size: int, size: int, range_hash: _RangeHash) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162 section 2.1.4.1), unrolled."""
    if old_size in (0, size):
        return []
    nodes: list[bytes] = []
    start, end, m, complete = 0, size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            nodes.append(range_hash(start + k, end))
            end = start + k
        else:
            nodes.append(range_hash(start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        nodes.append(range_hash(start, end))
    nodes.reverse()
    return nodes


def _root_from_inclusion_proof(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes]
) -> bytes:
    """Steps 2-5 of RFC 9162 section 2.1.3.2; the caller has done step 1 (index < size)."""
    fn, sn = index, tree_size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise InclusionProofError(
                f"inclusion proof is longer than a tree of size {tree_size} allows"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InclusionProofError(
            f"inclusion proof is shorter than a tree of size {tree_size} needs"
        )
    return r


def _roots_from_consistency_proof(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """Steps 1-7 of RFC 9162 section 2.1.4.2, for 0 < old_size < new_size."""
    if not proof:
        raise ConsistencyProofError(
            f"a consistency proof from size {old_size} to {new_size} cannot be empty"
        )
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # Step 2: the old tree is one complete subtree of the new one; its root starts the path.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyProofError(
                f"consistency proof is longer than sizes {old_size} to {new_size} allow"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyProofError(
            f"consistency proof is shorter than sizes {old_size} to {new_size} need"
        )
    return fr, sr


def _inclusion_proof_length(index: int, size: int) -> int:
    """Length of PATH(index, D[size]): the levels where index and the last leaf part ways
    (the inner part) plus the complete left subtrees above them (the border)."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    """Length of PROOF(old_size, D[new_size]).

    The proof is the inclusion proof, at the level of the largest complete subtree that ends
    at old_size, of that subtree in the new tree, plus that subtree itself unless it is the
    whole old tree (old_size a power of two: the verifier knows it as the old root).
    """
    if old_size in (0, new_size):
        return 0
    level = (old_size & -old_size).bit_length() - 1
    index = (old_size - 1) >> level
    length = _inclusion_proof_length(index, ((new_size - 1) >> level) + 1)
    return length + (0 if index == 0 else 1)


def _same_root(expected: bytes, actual: bytes, what: str, source: str) -> None:
    if expected != actual:
        raise ConsistencyProofError(
            f"expected {what} {expected.hex()}, got {actual.hex()} {source}"
        )


def _check_natural(
    value: int, what: str, error: type[InclusionProofError | ConsistencyProofError]
) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise error(f"{what} must be a non-negative integer, got {value!r}")


def _check_hash(
    value: bytes, what: str, error: type[InclusionProofError | ConsistencyProofError]
) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        actual = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise error(f"{what} must be {HASH_SIZE} bytes, got {actual}")


def _require_hash(value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        actual = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise ValueError(f"a leaf hash is {HASH_SIZE} bytes (use leaf_hash(data)), got {actual}")


def _require_hashes(leaf_hashes: Sequence[bytes]) -> None:
    for leaf in leaf_hashes:
        _require_hash(leaf)


def _require_index(index: int, size: int) -> None:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
        raise IndexError(f"leaf index {index!r} is outside a tree of size {size}")


def _require_size(value: int, limit: int, *, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ValueError(f"{what} {value!r} is outside 0..{limit}")


def _list_range_hash(leaf_hashes: Sequence[bytes]) -> _RangeHash:
    def range_hash(start: int, end: int) -> bytes:
        return root(leaf_hashes[start:end])

    return range_hash
