"""C2SP signed notes, tlog checkpoints and tlog cosignatures. Pure.

A signed note (https://c2sp.org/signed-note) is UTF-8 text ending in a newline, a blank line, and
one line per signature: ``— <key name> <base64(4-byte key id || signature)>``. A checkpoint
(https://c2sp.org/tlog-checkpoint) is a note whose text is the log's origin, the tree size in
decimal and the base64 root hash, one per line. A witness cosignature
(https://c2sp.org/tlog-cosignature) is one more signature line, of algorithm 0x04, over
``cosignature/v1\\ntime <seconds>\\n`` followed by the checkpoint text.

Keys are Ed25519; the verifier key string is ``name+hex(key id)+base64(alg || public key)``, the
form Go's ``golang.org/x/mod/sumdb/note`` reads, so any C2SP tool checks what we write.

Example:
    >>> key = Ed25519PrivateKey.generate()
    >>> note = sign_note(format_checkpoint(Checkpoint("example.com/log", 1, b"\\0" * 32)),
    ...                  "example.com/log", key)
    >>> open_checkpoint(note, Verifier.for_key("example.com/log", key.public_key())).size
    1
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ALG_ED25519",
    "ALG_COSIGNATURE",
    "Checkpoint",
    "Note",
    "NoteError",
    "Signature",
    "Verifier",
    "cosign_checkpoint",
    "format_checkpoint",
    "key_id",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "sign_note",
    "split_notes",
    "verify_cosignature",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE = 0x04
_DASH = "\u2014 "


class NoteError(ValueError):
    """A note that is malformed or whose signature does not verify."""


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, alg: int, raw_public: bytes) -> bytes:
    """The four-byte key id: ``SHA-256(name || "\\n" || alg || key)[:4]``."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + raw_public).digest()[:4]


@dataclasses.dataclass(frozen=True)
class Verifier:
    """A public key that checks signature lines of one name."""

    name: str
    public_key: Ed25519PublicKey
    alg: int = ALG_ED25519

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, _raw(self.public_key))

    @property
    def key_string(self) -> str:
        """``name+hex(id)+base64(alg || key)``."""
        encoded = base64.b64encode(bytes([self.alg]) + _raw(self.public_key)).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def for_key(cls, name: str, public_key: Ed25519PublicKey, alg: int = ALG_ED25519) -> "Verifier":
        return cls(name, public_key, alg)

    @classmethod
    def parse(cls, key_string: str) -> "Verifier":
        """A verifier from its key string; raises :class:`NoteError` when it is malformed or its
        key id does not match the key."""
        parts = key_string.strip().split("+", 2)
        if len(parts) != 3 or not _valid_name(parts[0]) or len(parts[1]) != 8:
            raise NoteError(f"not a note verifier key: {key_string!r}")
        name, hex_id, encoded = parts
        try:
            blob = base64.b64decode(encoded, validate=True)
            wanted = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError) as exc:
            raise NoteError(f"not a note verifier key: {key_string!r}") from exc
        if len(blob) != 33 or blob[0] not in (ALG_ED25519, ALG_COSIGNATURE):
            raise NoteError(f"verifier key {name!r} is not an Ed25519 key")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(blob[1:]), blob[0])
        if verifier.key_id != wanted:
            raise NoteError(f"verifier key {name!r}: its key id does not match the key")
        return verifier


def _valid_name(name: str) -> bool:
    return bool(name) and not any(c.isspace() or c == "+" for c in name)


@dataclasses.dataclass(frozen=True)
class Signature:
    """One signature line: the key name, the key id and the signature bytes after it."""

    name: str
    key_id: bytes
    blob: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.blob).decode('ascii')}\n"


@dataclasses.dataclass(frozen=True)
class Note:
    """A parsed note: the signed text and its signature lines."""

    text: str
    signatures: tuple[Signature, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """``text`` signed by ``private_key`` under ``name`` (Ed25519, algorithm 0x01)."""
    _check_text(text)
    if not _valid_name(name):
        raise NoteError(f"bad key name {name!r}")
    kid = key_id(name, ALG_ED25519, _raw(private_key.public_key()))
    return str(Note(text, (Signature(name, kid, private_key.sign(text.encode("utf-8"))),)))


def _check_text(text: str) -> None:
    if not text.endswith("\n") or any(c < " " and c != "\n" for c in text):
        raise NoteError("a note's text ends in a newline and holds no control character")


def parse_note(note: str) -> Note:
    """Split a note into text and signature lines (nothing verified yet)."""
    if not isinstance(note, str) or len(note) > 1_000_000:
        raise NoteError("not a note")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    text, sig_block = note[: cut + 1], note[cut + 2 :]
    _check_text(text)
    signatures = []
    for line in sig_block.splitlines():
        if not line.startswith(_DASH):
            raise NoteError(f"malformed signature line {line!r}")
        try:
            name, encoded = line[len(_DASH) :].split(" ")
            blob = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError(f"malformed signature line {line!r}") from exc
        if len(blob) < 5 or not _valid_name(name):
            raise NoteError(f"malformed signature line {line!r}")
        signatures.append(Signature(name, blob[:4], blob[4:]))
    if not signatures:
        raise NoteError("the note has no signature")
    return Note(text, tuple(signatures))


def open_note(note: str | Note, verifier: Verifier) -> Note:
    """The note, once a signature by ``verifier`` checks out; else :class:`NoteError`."""
    parsed = note if isinstance(note, Note) else parse_note(note)
    for sig in parsed.signatures:
        if sig.name == verifier.name and sig.key_id == verifier.key_id and verifier.alg == ALG_ED25519:
            try:
                verifier.public_key.verify(sig.blob, parsed.text.encode("utf-8"))
            except InvalidSignature as exc:
                raise NoteError(f"the signature of {verifier.name} does not verify") from exc
            return parsed
    raise NoteError(f"the note carries no signature by {verifier.name}+{verifier.key_id.hex()}")


def split_notes(stream: str) -> list[str]:
    """Consecutive notes of one file (each a text, a blank line, signature lines) as a list."""
    notes, current, in_sigs = [], [], False
    for line in stream.splitlines(keepends=True):
        if in_sigs and not line.startswith(_DASH):
            notes.append("".join(current))
            current, in_sigs = [], False
            if line == "\n":
                continue
        if line == "\n" and current:
            in_sigs = True
        current.append(line)
    if current:
        notes.append("".join(current))
    return notes


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log's origin, its size and root hash (plus extension lines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"origin": self.origin, "size": self.size, "root": base64.b64encode(self.root).decode()}


def format_checkpoint(cp: Checkpoint) -> str:
    """The checkpoint's note text."""
    if not cp.origin or "\n" in cp.origin:
        raise NoteError("a checkpoint needs a one-line origin")
    lines = [cp.origin, str(int(cp.size)), base64.b64encode(cp.root).decode("ascii"), *cp.extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """A checkpoint from note text; :class:`NoteError` when it is not one."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash line")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"bad checkpoint size {size!r}")
    try:
        raw_root = base64.b64decode(root, validate=True)
    except binascii.Error as exc:
        raise NoteError("bad checkpoint root hash") from exc
    if len(raw_root) != 32 or not origin:
        raise NoteError("bad checkpoint root hash or origin")
    return Checkpoint(origin, int(size), raw_root, tuple(lines[3:-1]))


def open_checkpoint(note: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """The checkpoint of a note signed by ``verifier`` (and of ``origin``, when given)."""
    cp = parse_checkpoint(open_note(note, verifier).text)
    if origin is not None and cp.origin != origin:
        raise NoteError(f"the checkpoint is of log {cp.origin!r}, not {origin!r}")
    return cp


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode("utf-8")


def cosign_checkpoint(note: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """``note`` with a witness cosignature line (tlog-cosignature, algorithm 0x04) added."""
    parsed = parse_note(note)
    kid = key_id(name, ALG_COSIGNATURE, _raw(private_key.public_key()))
    sig = private_key.sign(_cosigned_message(parsed.text, timestamp))
    extra = Signature(name, kid, struct.pack(">Q", timestamp) + sig)
    return str(Note(parsed.text, parsed.signatures + (extra,)))


def verify_cosignature(note: str, verifier: Verifier) -> int:
    """The timestamp of ``verifier``'s valid cosignature on ``note``; :class:`NoteError` otherwise."""
    parsed = parse_note(note)
    cosigner = Verifier(verifier.name, verifier.public_key, ALG_COSIGNATURE)
    for sig in parsed.signatures:
        if sig.name == cosigner.name and sig.key_id == cosigner.key_id and len(sig.blob) == 72:
            (timestamp,) = struct.unpack(">Q", sig.blob[:8])
            try:
                cosigner.public_key.verify(sig.blob[8:], _cosigned_message(parsed.text, timestamp))
            except InvalidSignature as exc:
                raise NoteError(f"the cosignature of {verifier.name} does not verify") from exc
            return timestamp
    raise NoteError(f"the note carries no cosignature by {verifier.name}")
