"""RFC 9162 tree maths against the Certificate Transparency test vectors. Pure: no database.

The vectors are those of transparency-dev/merkle, proof/verify_test.go (the same eight leaves,
roots and proofs as the original certificate-transparency C++/Go code): leaves ``""``, ``00``,
``10``, ``2021``, ``3031``, ``40414243``, ``5051525354555657``, ``606162636465666768696a6b6c6d6e6f``.
"""

from __future__ import annotations

import random

import pytest

from mlflow_registry_ext.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex
LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                         "606162636465666768696a6b6c6d6e6f")]
ROOTS = [h(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
# (leaf number counted from 1, tree size, proof)
INCLUSION = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
TREE = MemoryTree([leaf_hash(d) for d in LEAVES])
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def test_empty_tree_and_roots_of_every_prefix():
    assert tree_root([]) == EMPTY_ROOT == h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    for size in range(1, 9):
        assert TREE.root(size) == ROOTS[size - 1]
        assert tree_root(TREE.leaves[:size]) == ROOTS[size - 1]


@pytest.mark.parametrize("leaf,size,proof", INCLUSION)
def test_inclusion_vectors(leaf, size, proof):
    proof = [h(p) for p in proof]
    assert inclusion_proof(leaf - 1, size, TREE.perfect) == proof
    lh = leaf_hash(LEAVES[leaf - 1])
    assert root_from_inclusion_proof(leaf - 1, size, lh, proof) == ROOTS[size - 1]
    assert verify_inclusion(leaf - 1, size, lh, proof, ROOTS[size - 1])
    # The corruptions of the reference test: none of them may verify.
    root, index = ROOTS[size - 1], leaf - 1
    bad = [
        (index - 1, size, lh, proof, root), (index + 1, size, lh, proof, root),
        (index ^ 2, size, lh, proof, root), (index, size * 2, lh, proof, root),
        (index, size // 2, lh, proof, root), (index, size, b"WrongLeaf", proof, root),
        (index, size, lh, proof, EMPTY_ROOT), (index, size, lh, proof, SOME_HASH),
        (index, size, lh, proof + [b""], root), (index, size, lh, proof + [root], root),
        (index, size, lh, [b""] + proof, root), (index, size, lh, [root] + proof, root),
        (index, size, lh, proof[:-1], root),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        bad.append((index, size, lh, flipped, root))
    if len(proof) > 1:
        bad.append((index, size, lh, [proof[0], SOME_HASH] + proof[1:], root))
    for args in bad:
        assert not verify_inclusion(*args), args[:2]


@pytest.mark.parametrize("old,new,proof", CONSISTENCY)
def test_consistency_vectors(old, new, proof):
    proof = [h(p) for p in proof]
    assert consistency_proof(old, new, TREE.perfect) == proof
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    assert verify_consistency(old, new, r1, r2, proof)
    bad = [
        (old - 1, new, r1, r2, proof), (old + 1, new, r1, r2, proof), (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof), (old, new // 2, r1, r2, proof),
        (old, new, b"WrongRoot", r2, proof), (old, new, r1, b"WrongRoot", proof),
        (old, new, r2, r1, proof), (old, new, r1, r2, []),
        (old, new, r1, r2, proof + [b""]), (old, new, r1, r2, proof + [r1]),
        (old, new, r1, r2, proof + [r2]), (old, new, r1, r2, [b""] + proof),
        (old, new, r1, r2, [r1] + proof), (old, new, r1, r2, [r2] + proof),
        (old, new, r1, r2, [proof[0]] + proof), (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        bad.append((old, new, r1, r2, flipped))
    for args in bad:
        assert not verify_consistency(*args), args[:2]


def test_trivial_consistency_cases():
    r1, r2 = b"don't care 1", b"don't care 2"
    assert verify_consistency(0, 0, r1, r1, [])
    assert verify_consistency(0, 1, r1, r2, [])
    assert verify_consistency(1, 1, r2, r2, [])
    assert not verify_consistency(0, 0, r1, r2, [])
    assert not verify_consistency(1, 1, r1, r2, [])
    assert not verify_consistency(1, 0, r1, r2, [])
    assert not verify_consistency(2, 1, r1, r2, [])
    assert not verify_consistency(1, 2, r1, r2, [])
    assert not verify_consistency(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])


def test_single_entry_and_out_of_range():
    lh = leaf_hash(b"data")
    assert verify_inclusion(0, 1, lh, [], lh)
    assert not verify_inclusion(0, 1, b"", [], lh)
    for index, size in ((0, 0), (1, 0), (2, 1)):
        assert not verify_inclusion(index, size, SOME_HASH, [], EMPTY_ROOT)


def test_every_proof_of_random_trees_and_compact_range():
    rng = random.Random(7)
    leaves = [leaf_hash(rng.randbytes(8)) for _ in range(70)]
    tree = MemoryTree(leaves)
    compact = CompactRange()
    for size in range(1, 71):
        compact.append(leaves[size - 1])
        root = tree.root(size)
        assert compact.root() == root == tree_root(leaves[:size])
        for index in range(size):
            assert verify_inclusion(index, size, leaves[index], inclusion_proof(index, size, tree.perfect), root)
        for old in range(0, size + 1):
            proof = consistency_proof(old, size, tree.perfect)
            assert verify_consistency(old, size, tree.root(old), root, proof)
    assert node_hash(leaves[0], leaves[1]) == tree.root(2)
    assert CompactRange(compact.size, compact.peaks).root() == compact.root()
