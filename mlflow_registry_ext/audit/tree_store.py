"""The audit log as an RFC 9162 tree, read from the database.

Leaf ``i`` (0-based) is ``SHA-256(0x00 || H)`` where ``H`` is the 32-byte hash of entry ``i + 1``
(the SHA-256 of its canonical body), so an auditor holding an entry computes its leaf. The hash
of every complete tile of :data:`~mlflow_registry_ext.audit.merkle.TILE` leaves is stored in
``gov_audit_tiles``; a proof then reads those (about a thousand rows at a million entries) and
the entries of at most two tiles, whatever the size of the log.

Nothing here is trusted: a proof built from tampered tiles or entries simply fails to verify
against a signed checkpoint.
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from mlflow_registry_ext.audit.checkpoint_tables import tiles
from mlflow_registry_ext.audit.merkle import (
    TILE,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_root,
    subtree_root,
)
from mlflow_registry_ext.db.tables import audit_log

__all__ = ["StoredTree", "entry_leaf", "leaves_of", "store_tiles"]


def entry_leaf(entry_hash: str) -> bytes:
    """The leaf hash of an entry from its (hex) chain hash."""
    return leaf_hash(bytes.fromhex(entry_hash))


def leaves_of(hashes: Iterable[str]) -> list[bytes]:
    """Leaf hashes of entry hashes, in order."""
    fromhex = bytes.fromhex
    return [leaf_hash(fromhex(h)) for h in hashes]


class StoredTree:
    """The tree of the first ``size`` entries of the log on ``conn``.

    Args:
        conn: A connection to the governance database.
        size: The tree size (entries ``1..size``).
    """

    def __init__(self, conn: Connection, size: int):
        self.conn = conn
        self.size = size
        self._tiles: list[bytes] | None = None
        self._leaves: dict[int, list[bytes]] = {}
        self._memo: dict[tuple[int, int], bytes] = {}

    def _tile_hashes(self) -> list[bytes]:
        if self._tiles is None:
            complete = self.size // TILE
            rows = self.conn.execute(
                select(tiles.c.tile, tiles.c.hash).where(tiles.c.tile < complete).order_by(tiles.c.tile)
            ).all()
            found = [bytes.fromhex(h) for t, h in rows if 0 <= t < complete]
            if len(found) != complete or any(t != i for i, (t, _) in enumerate(rows)):
                # Tiles not stored yet (or lost): compute them from the entries.
                found = [perfect_root(self._tile_leaves(t)) for t in range(complete)]
            self._tiles = found
        return self._tiles

    def _tile_leaves(self, tile: int) -> list[bytes]:
        cached = self._leaves.get(tile)
        if cached is None:
            lo, hi = tile * TILE + 1, min((tile + 1) * TILE, self.size)
            rows = self.conn.execute(
                select(audit_log.c.seq, audit_log.c.hash)
                .where(audit_log.c.seq >= lo, audit_log.c.seq <= hi)
                .order_by(audit_log.c.seq)
            ).all()
            if [r[0] for r in rows] != list(range(lo, hi + 1)):
                raise ProofError(f"entries {lo}..{hi} are not all in the log")
            cached = leaves_of(r[1] for r in rows)
            self._leaves[tile] = cached
        return cached

    def perfect(self, start: int, size: int) -> bytes:
        """The hash of the perfect subtree of leaves ``start..start+size-1``."""
        key = (start, size)
        found = self._memo.get(key)
        if found is not None:
            return found
        if start + size > self.size:
            raise ProofError(f"leaves {start}..{start + size - 1} are beyond the tree of {self.size}")
        if size >= TILE:
            level = self._tile_hashes()[start // TILE : (start + size) // TILE]
            while len(level) > 1:
                level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
            found = level[0]
        elif size == 1:
            found = self._tile_leaves(start // TILE)[start % TILE]
        else:
            half = size // 2
            found = node_hash(self.perfect(start, half), self.perfect(start + half, half))
        self._memo[key] = found
        return found

    def root(self) -> bytes:
        return subtree_root(0, self.size, self.perfect)

    def inclusion(self, seq: int) -> list[bytes]:
        """The inclusion proof of entry ``seq`` (1-based)."""
        return inclusion_proof(seq - 1, self.size, self.perfect)

    def consistency(self, old: int) -> list[bytes]:
        """The consistency proof from the tree of ``old`` entries to this one."""
        return consistency_proof(old, self.size, self.perfect)


def store_tiles(conn: Connection, upto: int, leaves_by_tile: dict[int, list[bytes]]) -> int:
    """Store the hash of each complete tile of ``leaves_by_tile`` not stored yet; returns how
    many were written. ``upto`` is the tree size the tiles come from."""
    complete = {t: v for t, v in leaves_by_tile.items() if len(v) == TILE and (t + 1) * TILE <= upto}
    if not complete:
        return 0
    have = {
        t for (t,) in conn.execute(select(tiles.c.tile).where(tiles.c.tile.in_(list(complete))))
    }
    rows = [{"tile": t, "hash": perfect_root(v).hex()} for t, v in sorted(complete.items()) if t not in have]
    if rows:
        conn.execute(tiles.insert(), rows)
    return len(rows)
