"""A witness's memory: the checkpoints it accepted, and the rule for accepting another.

The state is an append-only file of checkpoint notes (the same format as a ``file://`` witness,
so ``audit verify --checkpoints STATE`` reads it). A new checkpoint is accepted when:

* it is signed by the log's key (anything else is not a checkpoint of this log: refused);
* it is one already held (same size and root: nothing to do), or the first one seen;
* it is larger than the newest held, and a consistency proof from the newest held to it checks
  against both roots (the proof comes with the ``audit.checkpoint`` event, or from the log).

Everything else is refused with :class:`InconsistentCheckpoint` and never stored: a different
root for a size already held (a fork), a smaller size not held (a truncated or forked log), or
a larger one that does not extend the newest held (a rewritten history) or comes with no proof
that it does.

Example:
    >>> state = WitnessState("witness.txt", verifier)      # doctest: +SKIP
    >>> state.offer(note, proof, proof_from=40)            # doctest: +SKIP
    Accepted(size=42, root='...', stored=True)
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import threading
from pathlib import Path
from typing import Callable, Sequence

from mlflow_registry_ext.audit import merkle
from mlflow_registry_ext.audit.note import Checkpoint, NoteError, Verifier, open_checkpoint, split_notes
from mlflow_registry_ext.errors import IntegrityError, InvalidInput

__all__ = ["Accepted", "InconsistentCheckpoint", "ProofSource", "WitnessState", "decode_proof"]

#: ``(old size, new size) -> consistency proof`` (base64 strings), e.g. from the log's server.
ProofSource = Callable[[int, int], Sequence[str]]


class InconsistentCheckpoint(IntegrityError):
    """The checkpoint does not extend the newest one the witness holds (HTTP 409, exit 1)."""


@dataclasses.dataclass(frozen=True)
class Accepted:
    """A checkpoint the witness holds.

    Attributes:
        size: Its size.
        root: Its base64 root hash.
        stored: False when it was held already.
        previous_size: The newest checkpoint held before it (0: none).
    """

    size: int
    root: str
    stored: bool
    previous_size: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def decode_proof(items: Sequence[str]) -> list[bytes]:
    """Base64 proof hashes as bytes.

    Raises:
        InvalidInput: An item is not base64.
    """
    try:
        return [base64.b64decode(p, validate=True) for p in items]
    except (binascii.Error, TypeError, ValueError) as exc:
        raise InvalidInput("a consistency proof element is not base64") from exc


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class WitnessState:
    """The checkpoints of one log a witness accepted, kept in ``path``.

    Args:
        path: The append-only state file (created on first accept).
        verifier: The log's note verifier.
    """

    def __init__(self, path: str | os.PathLike, verifier: Verifier):
        self.path = Path(path)
        self.verifier = verifier
        self._lock = threading.Lock()

    def held(self) -> list[Checkpoint]:
        """The checkpoints in the state file signed by the log's key, oldest first."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise InvalidInput(f"Cannot read {self.path}: {exc.strerror or exc}") from exc
        found: dict[int, Checkpoint] = {}
        for note in split_notes(text):
            try:
                cp = open_checkpoint(note, self.verifier)
            except NoteError:
                continue
            found.setdefault(cp.size, cp)
        return [found[size] for size in sorted(found)]

    def latest(self) -> Checkpoint | None:
        held = self.held()
        return held[-1] if held else None

    def _open(self, note: str) -> Checkpoint:
        try:
            return open_checkpoint(note, self.verifier)
        except NoteError as exc:
            raise InvalidInput(f"Not a checkpoint of this log: {exc}") from exc

    def offer(self, note: str, proof: Sequence[str] | None = None, *, proof_from: int | None = None,
              proof_source: ProofSource | None = None) -> Accepted:
        """Accept ``note`` if it extends the newest held checkpoint, and store it.

        Args:
            note: The signed checkpoint note.
            proof: A base64 consistency proof from the checkpoint of size ``proof_from`` to it.
            proof_from: The size ``proof`` starts from.
            proof_source: Where to get a proof when ``proof`` does not start at the newest held
                checkpoint (it is checked like any other: a wrong one is refused).

        Raises:
            InvalidInput: ``note`` is not a checkpoint signed by the log's key.
            InconsistentCheckpoint: It is not an extension of the newest held checkpoint.
        """
        cp = self._open(note)
        with self._lock:
            held = self.held()
            same = next((h for h in held if h.size == cp.size), None)
            if same is not None:
                if same.root != cp.root:
                    raise InconsistentCheckpoint(
                        f"forked: checkpoint {cp.size} has root {_b64(cp.root)} but the witness holds "
                        f"{_b64(same.root)} for that size")
                return Accepted(cp.size, _b64(cp.root), False, held[-1].size)
            last = held[-1] if held else None
            if last is None:
                self._append(note)
                return Accepted(cp.size, _b64(cp.root), True, 0)
            if cp.size < last.size:
                raise InconsistentCheckpoint(
                    f"truncated: checkpoint {cp.size} is smaller than checkpoint {last.size} the witness "
                    "holds, and not one it holds")
            if proof is None or proof_from != last.size:
                if proof_source is None:
                    raise InconsistentCheckpoint(
                        f"unproven: no consistency proof from checkpoint {last.size} (the newest the witness "
                        f"holds) to {cp.size}; the proof given starts at {proof_from}")
                proof = list(proof_source(last.size, cp.size))
            if not merkle.verify_consistency(last.size, cp.size, last.root, cp.root, decode_proof(proof)):
                raise InconsistentCheckpoint(
                    f"rewritten: checkpoint {cp.size} does not extend checkpoint {last.size} the witness holds")
            self._append(note)
            return Accepted(cp.size, _b64(cp.root), True, last.size)

    def _append(self, note: str) -> None:
        from mlflow_registry_ext.audit.witnesses import FileWitness

        FileWitness(self.path).publish(note if note.endswith("\n") else note + "\n", 0, b"")
