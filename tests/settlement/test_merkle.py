"""RFC 6962 / RFC 9162 Merkle trees: the reference tree heads of Certificate Transparency, every
inclusion and consistency proof of many tree shapes verifies, and every altered proof fails."""

from __future__ import annotations

import pytest

from ledger.settlement import merkle

# The Certificate Transparency reference inputs and tree heads for sizes 0..8 (RFC 6962 test
# data, as published with the CT reference implementations).
CT_DATA = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {  # 0-based leaf index in the tree of 8 -> its audit path
    0: ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    5: ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
LEAVES = [merkle.leaf_hash(d) for d in CT_DATA]


def test_the_reference_tree_heads() -> None:
    for size, expected in enumerate(CT_ROOTS):
        assert merkle.root(LEAVES[:size]).hex() == expected
        tree = merkle.CompactTree()
        for leaf in LEAVES[:size]:
            tree.append(leaf)
        assert tree.root().hex() == expected and tree.size == size


def test_the_reference_inclusion_proofs() -> None:
    root = bytes.fromhex(CT_ROOTS[8])
    for index, path in CT_INCLUSION.items():
        proof = merkle.inclusion_proof(LEAVES, index)
        assert [p.hex() for p in proof] == path
        assert merkle.verify_inclusion(LEAVES[index], index, 8, proof, root)


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@pytest.mark.parametrize("size", range(1, 34))
def test_every_inclusion_proof_verifies_and_no_altered_one_does(size: int) -> None:
    leaves = _leaves(size)
    root = merkle.root(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(leaves, index)
        assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
        assert not merkle.verify_inclusion(leaves[index], index, size, proof,
                                           merkle.leaf_hash(b"other root"))
        other = (index + 1) % size
        if other != index:
            assert not merkle.verify_inclusion(leaves[other], index, size, proof, root)
        if proof:
            assert not merkle.verify_inclusion(leaves[index], index, size, proof[:-1], root)
            bent = [*proof[:-1], merkle.leaf_hash(b"x")]
            assert not merkle.verify_inclusion(leaves[index], index, size, bent, root)
        assert not merkle.verify_inclusion(leaves[index], size, size, proof, root)


@pytest.mark.parametrize("new_size", range(1, 21))
def test_every_consistency_proof_verifies_and_no_altered_one_does(new_size: int) -> None:
    leaves = _leaves(new_size)
    new_root = merkle.root(leaves)
    for old_size in range(1, new_size + 1):
        old_root = merkle.root(leaves[:old_size])
        proof = merkle.consistency_proof(leaves, old_size)
        assert merkle.verify_consistency(old_size, new_size, old_root, new_root, proof)
        forked = merkle.root([*leaves[:old_size - 1], merkle.leaf_hash(b"rewritten")])
        assert not merkle.verify_consistency(old_size, new_size, forked, new_root, proof)
        if old_size < new_size:
            assert not merkle.verify_consistency(old_size, new_size, old_root,
                                                 merkle.leaf_hash(b"x"), proof)
            assert not merkle.verify_consistency(old_size, new_size, old_root, new_root,
                                                 proof[:-1])


def test_the_reference_consistency_between_heads_of_the_ct_tree() -> None:
    for old in range(1, 9):
        proof = merkle.consistency_proof(LEAVES, old)
        assert merkle.verify_consistency(old, 8, bytes.fromhex(CT_ROOTS[old]),
                                         bytes.fromhex(CT_ROOTS[8]), proof)


def test_proofs_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError, match="not in a tree of 3"):
        merkle.inclusion_proof(_leaves(3), 3)
    with pytest.raises(ValueError, match="no consistency proof from 0"):
        merkle.consistency_proof(_leaves(3), 0)
    assert not merkle.verify_consistency(4, 3, b"", b"", [])
    assert merkle.verify_consistency(3, 3, b"r", b"r", []) and not merkle.verify_consistency(
        3, 3, b"r", b"s", [])
