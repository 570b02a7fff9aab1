"""RFC 9162 (Certificate Transparency v2, section 2) Merkle tree maths. Pure.

The tree hash of ``n`` leaves is ``MTH({}) = SHA-256()``, ``MTH({d}) = SHA-256(0x00 || d)`` and
``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` with ``k`` the largest power of two
below ``n``. Every range the recursion visits is a *perfect* subtree (a power-of-two number of
leaves starting at a multiple of that power) or splits into them, so proofs are computed from one
callback, ``perfect(start, size) -> hash``: storage decides how to answer it cheaply (the audit
log keeps the hash of every complete tile of :data:`TILE` leaves), this module does the maths.

Example:
    >>> tree = MemoryTree([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
    >>> proof = inclusion_proof(1, 3, tree.perfect)
    >>> verify_inclusion(1, 3, leaf_hash(b"b"), proof, tree.root(3))
    True
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "TILE",
    "CompactRange",
    "MemoryTree",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "perfect_root",
    "root_from_inclusion_proof",
    "subtree_root",
    "tree_root",
    "UNIT",
    "UnitRoots",
    "peaks_of",
    "roots_at",
    "verify_consistency",
    "verify_inclusion",
]

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()
#: Leaves per stored tile; 1024 keeps a proof at a million entries to about a thousand tile hashes.
TILE = 1024

Perfect = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof that does not verify, or arguments no proof can exist for."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """``MTH`` of a list of leaf hashes (already hashed with :func:`leaf_hash`)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return MemoryTree(leaf_hashes).root(len(leaf_hashes))


def perfect_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree (a power-of-two number of leaf hashes), bottom-up."""
    level = list(leaf_hashes)
    sha = _sha256
    while len(level) > 1:
        level = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0]


def peaks_of(leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The perfect subtree roots covering ``leaf_hashes``, largest (leftmost) first: the peaks of
    a :class:`CompactRange` over them when they start at a multiple of a power of two at least
    as large as their number."""
    peaks, i, n = [], 0, len(leaf_hashes)
    while i < n:
        size = 1 << ((n - i).bit_length() - 1)
        peaks.append(perfect_root(leaf_hashes[i:i + size]))
        i += size
    return peaks


#: Leaves per unit of :class:`UnitRoots`: a power of two, so every complete unit is a perfect
#: subtree and ranges of units can be hashed apart (in separate processes) and joined.
UNIT = 1 << 16


class UnitRoots:
    """The tree hashes of a stretch of leaves fed in order from leaf ``start`` (a multiple of
    :data:`UNIT`): the root of every complete unit and, for each tree size in ``sizes`` that ends
    inside the stretch, the peaks of its last, incomplete unit. :func:`roots_at` joins the parts
    of consecutive stretches into the roots of those tree sizes.
    """

    def __init__(self, start: int, sizes: Iterable[int] = ()):
        if start % UNIT:
            raise ValueError(f"a stretch of units starts at a multiple of {UNIT}, not {start}")
        self.units: dict[int, bytes] = {}
        self.partial: dict[int, list[bytes]] = {}
        self._sizes = sorted(set(sizes))
        self._buf: list[bytes] = []
        self._buf_start = start

    def extend(self, leaves: Sequence[bytes]) -> None:
        pos, n = 0, len(leaves)
        while pos < n:
            take = UNIT - len(self._buf)
            self._buf.extend(leaves[pos:pos + take])
            pos += take
            if len(self._buf) == UNIT:
                self._close_unit()

    def _take_sizes(self) -> None:
        base, buf = self._buf_start, self._buf
        top = base + len(buf)
        keep = []
        for size in self._sizes:
            if base < size <= top:
                if size % UNIT:
                    self.partial[size] = peaks_of(buf[:size - base])
            else:
                keep.append(size)
        self._sizes = keep

    def _close_unit(self) -> None:
        self._take_sizes()
        self.units[self._buf_start // UNIT] = perfect_root(self._buf)
        self._buf_start += UNIT
        self._buf = []

    def finish(self) -> dict:
        """``{"units": {unit index: root}, "partial": {size: peaks}}`` (picklable)."""
        self._take_sizes()
        return {"units": self.units, "partial": self.partial}


def roots_at(sizes: Iterable[int], parts: Iterable[dict]) -> dict[int, bytes]:
    """``MTH`` of the first ``size`` leaves for each of ``sizes``, from the :meth:`UnitRoots.finish`
    parts of consecutive stretches starting at leaf 0. Sizes the parts do not cover are left out."""
    units: dict[int, bytes] = {}
    partial: dict[int, list[bytes]] = {}
    for part in parts:
        units.update(part["units"])
        partial.update(part["partial"])
    roots: dict[int, bytes] = {}
    big = CompactRange()
    for size in sorted(set(sizes)):
        whole = size // UNIT
        while big.size < whole and big.size in units:
            big.append(units[big.size])
        if big.size < whole or (size % UNIT and size not in partial):
            continue
        peaks = big.peaks + (partial[size] if size % UNIT else [])
        roots[size] = CompactRange(size, peaks).root()
    return roots


def subtree_root(start: int, end: int, perfect: Perfect) -> bytes:
    """``MTH(D[start:end])`` for a range the RFC recursion visits."""
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        return perfect(start, size)
    k = _split(size)
    return node_hash(perfect(start, k), subtree_root(start + k, end, perfect))


def inclusion_proof(index: int, size: int, perfect: Perfect) -> list[bytes]:
    """``PATH(index, D[size])`` of RFC 9162 section 2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    proof: list[bytes] = []
    start, end = 0, size
    # Walk from the root down; siblings are collected root-side first, then reversed.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(subtree_root(start + k, end, perfect))
            end = start + k
        else:
            proof.append(perfect(start, k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(old: int, new: int, perfect: Perfect) -> list[bytes]:
    """``PROOF(old, D[new])`` of RFC 9162 section 2.1.4.1."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from {old} to {new}")
    if old == 0 or old == new:
        return []
    proof: list[bytes] = []
    start, end, complete = 0, new, True
    m = old
    while True:
        size = end - start
        if m == size:
            if not complete:
                proof.append(subtree_root(start, end, perfect))
            break
        k = _split(size)
        if m <= k:
            proof.append(subtree_root(start + k, end, perfect))
            end = start + k
        else:
            proof.append(perfect(start, k))
            start += k
            m -= k
            complete = False
    proof.reverse()
    return proof


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise ProofError(f"{what} is not a 32-byte hash")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` of leaf ``index`` in a tree of ``size`` leads to (RFC 9162
    section 2.1.3.2); raises :class:`ProofError` when the proof has the wrong shape."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    _check_hash(leaf, "the leaf hash")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        _check_hash(p, "a proof element")
        if sn == 0:
            raise ProofError("the proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is high")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree of ``size`` with ``root``.

    Returns False for any proof that does not verify (never raises on bad input).
    """
    try:
        return root_from_inclusion_proof(index, size, leaf, proof) == root
    except ProofError:
        return False


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree of ``new`` leaves (``new_root``) extends the tree of
    ``old`` leaves (``old_root``), per RFC 9162 section 2.1.4.2. Never raises on bad input."""
    try:
        _check_consistency(old, new, old_root, new_root, list(proof))
    except ProofError:
        return False
    return True


def _check_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> None:
    if not 0 <= old <= new:
        raise ProofError("the old tree is larger than the new one")
    if old == new:
        if proof or old_root != new_root:
            raise ProofError("equal sizes need equal roots and an empty proof")
        return
    if old == 0:
        if proof:
            raise ProofError("a proof from the empty tree is empty")
        return
    if not proof:
        raise ProofError("empty proof")
    for p in proof:
        _check_hash(p, "a proof element")
    _check_hash(old_root, "the old root")
    if old & (old - 1) == 0:
        proof = [old_root] + proof
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise ProofError("the proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is too short")
    if fr != old_root or sr != new_root:
        raise ProofError("the roots do not match")


class MemoryTree:
    """Leaf hashes held in memory, answering :data:`Perfect` queries (tests, small logs)."""

    def __init__(self, leaf_hashes: Iterable[bytes]):
        self.leaves = list(leaf_hashes)
        self._cache: dict[tuple[int, int], bytes] = {}

    def perfect(self, start: int, size: int) -> bytes:
        if start + size > len(self.leaves):
            raise ProofError(f"leaves {start}..{start + size - 1} are not in the tree")
        if size == 1:
            return self.leaves[start]
        key = (start, size)
        found = self._cache.get(key)
        if found is None:
            half = size // 2
            found = node_hash(self.perfect(start, half), self.perfect(start + half, half))
            self._cache[key] = found
        return found

    def root(self, size: int | None = None) -> bytes:
        return subtree_root(0, len(self.leaves) if size is None else size, self.perfect)


class CompactRange:
    """The perfect subtrees covering leaves ``0..size-1`` (at most log2(size) hashes), so the
    root after appending leaves costs about two hashes per leaf, whatever came before.

    Args:
        size: How many leaves the range covers.
        peaks: The roots of its perfect subtrees, largest (leftmost) first.
    """

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()):
        if len(peaks) != bin(size).count("1"):
            raise ProofError(f"a compact range of {size} leaves has {bin(size).count('1')} peaks")
        self.size = size
        self.peaks = list(peaks)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash on the right."""
        peaks = self.peaks
        peaks.append(leaf)
        size = self.size
        # Each trailing one bit of the old size is a peak of the same height to merge with.
        while size & 1:
            right = peaks.pop()
            peaks[-1] = node_hash(peaks[-1], right)
            size >>= 1
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """``MTH`` of the leaves covered."""
        if not self.peaks:
            return EMPTY_ROOT
        root = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            root = node_hash(peak, root)
        return root

    def copy(self) -> "CompactRange":
        return CompactRange(self.size, list(self.peaks))
