"""Checking proofs with no database: what an auditor runs on files. Pure.

A proof bundle is what ``audit prove SEQ --json`` (or ``GET /audit/proof``) prints::

    {"seq": 7, "size": 42, "entry_hash": "<hex>", "body": "<canonical JSON>",
     "proof": ["<base64>", ...], "checkpoint": "<signed note>"}

and a consistency bundle what ``audit consistency OLD NEW --json`` prints:
``{"old": "<note>", "new": "<note>", "proof": [...]}``. The verifier key is the log's
``name+id+base64`` string (``keygen`` prints it) or its Ed25519 public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from mlflow_registry_ext.audit import merkle
from mlflow_registry_ext.audit.note import Checkpoint, NoteError, Verifier, open_checkpoint

__all__ = ["verify_inclusion", "verify_consistency"]


def _bundle(value: Any) -> dict:
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise merkle.ProofError(f"not a proof bundle: {exc}") from exc
    if not isinstance(value, dict):
        raise merkle.ProofError("not a proof bundle")
    return value


def _verifier(key) -> Verifier:
    if isinstance(key, Verifier):
        return key
    try:
        return Verifier.parse(key)
    except NoteError as exc:
        raise merkle.ProofError(str(exc)) from exc


def _hashes(items) -> list[bytes]:
    try:
        return [base64.b64decode(p, validate=True) for p in items]
    except (binascii.Error, TypeError) as exc:
        raise merkle.ProofError("a proof element is not base64") from exc


def _open(note: str, verifier: Verifier) -> Checkpoint:
    try:
        return open_checkpoint(note, verifier)
    except NoteError as exc:
        raise merkle.ProofError(f"checkpoint: {exc}") from exc


def verify_inclusion(bundle, key) -> Checkpoint:
    """Check that the entry in ``bundle`` is in the log whose signed checkpoint it carries.

    Args:
        bundle: A proof bundle (dict or JSON text).
        key: The log's verifier key string (or a :class:`Verifier`).

    Returns:
        The checkpoint the entry is proven against.

    Raises:
        ProofError: Naming what does not hold (body, signature, or proof).
    """
    b = _bundle(bundle)
    cp = _open(b.get("checkpoint", ""), _verifier(key))
    body, entry_hash, seq = b.get("body"), b.get("entry_hash"), b.get("seq")
    if not isinstance(seq, int) or not isinstance(entry_hash, str):
        raise merkle.ProofError("the bundle names no entry")
    if isinstance(body, str) and hashlib.sha256(body.encode("utf-8")).hexdigest() != entry_hash:
        raise merkle.ProofError(f"entry {seq}: its body does not hash to {entry_hash}")
    try:
        leaf = merkle.leaf_hash(bytes.fromhex(entry_hash))
    except ValueError as exc:
        raise merkle.ProofError("the entry hash is not hex") from exc
    if not merkle.verify_inclusion(seq - 1, cp.size, leaf, _hashes(b.get("proof", [])), cp.root):
        raise merkle.ProofError(f"entry {seq} is not proven in checkpoint {cp.size}")
    return cp


def verify_consistency(bundle, key) -> tuple[Checkpoint, Checkpoint]:
    """Check that the newer checkpoint of ``bundle`` extends the older one (no entry of the older
    tree was changed, removed or reordered). Returns both; raises :class:`ProofError`."""
    b = _bundle(bundle)
    verifier = _verifier(key)
    old, new = _open(b.get("old", ""), verifier), _open(b.get("new", ""), verifier)
    if old.origin != new.origin:
        raise merkle.ProofError("the checkpoints are of different logs")
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, _hashes(b.get("proof", []))):
        raise merkle.ProofError(f"checkpoint {new.size} does not extend checkpoint {old.size}")
    return old, new
