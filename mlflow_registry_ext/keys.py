"""The server's two keys: where they live, how they are made, loaded and named.

- The **signing key** (``MLFLOW_GOVERNANCE_SIGNING_KEY``, ECDSA P-256, PKCS#8 PEM) signs model
  manifests in the OpenSSF Model Signing format, approval attestations and evidence bundles.
  OpenSSF Model Signing's key mode takes elliptic-curve keys, not Ed25519.
- The **log key** (``MLFLOW_GOVERNANCE_LOG_KEY``, Ed25519, PKCS#8 PEM) signs audit checkpoints as
  C2SP signed notes.

``mlflow-registry-ext keygen DIR`` writes both (mode 0600) with their public keys beside them.
A key id is what a verifier prints and a consumer pins: for the signing key the SHA-256 of its
DER public key; for the log key the C2SP signed-note key id (four bytes of
``SHA-256(name || "\\n" || 0x01 || public key)``) with the verifier key string that Go's
``golang.org/x/mod/sumdb/note`` and every C2SP tool read (``name+hex-id+base64(0x01 || key)``).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext import settings

__all__ = [
    "SIGNING_KEY_ENV",
    "LOG_KEY_ENV",
    "SIGNING_KEY_FILE",
    "SIGNING_PUBLIC_FILE",
    "LOG_KEY_FILE",
    "LOG_PUBLIC_FILE",
    "GeneratedKeys",
    "generate_keys",
    "load_signing_key",
    "load_log_key",
    "load_public_key",
    "signing_key_id",
    "note_key_id",
    "note_verifier_key",
    "public_pem",
    "LOG_ORIGIN_ENV",
    "log_origin",
]

SIGNING_KEY_ENV = settings.SIGNING_KEY.name
LOG_KEY_ENV = settings.LOG_KEY.name
SIGNING_KEY_FILE = "signing.pem"
SIGNING_PUBLIC_FILE = "signing.pub.pem"
LOG_KEY_FILE = "log.pem"
LOG_PUBLIC_FILE = "log.pub.pem"
LOG_ORIGIN_ENV = settings.LOG_ORIGIN.name
_ED25519_ALG = b"\x01"


def log_origin() -> str:
    """The origin line of this log's checkpoints and the name of its note key.

    ``MLFLOW_GOVERNANCE_LOG_ORIGIN`` when set (give every deployment its own, e.g.
    ``registry.bank.example/governance``), else ``<host name>/mlflow-registry-ext``.
    """
    import socket

    return settings.LOG_ORIGIN.get() or f"{socket.gethostname()}/mlflow-registry-ext"


@dataclasses.dataclass(frozen=True)
class GeneratedKeys:
    """What :func:`generate_keys` wrote."""

    signing_key: Path
    signing_public: Path
    signing_key_id: str
    log_key: Path
    log_public: Path
    log_key_id: str


def generate_keys(directory: str | os.PathLike, *, log_name: str) -> GeneratedKeys:
    """Write a new signing key and log key into ``directory`` (created if missing).

    Existing key files are never overwritten: a key that signed something must stay.

    Example:
        >>> keys = generate_keys(tmp_dir, log_name="registry.example/log")
        >>> keys.signing_key.name
        'signing.pem'
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / name for name in (SIGNING_KEY_FILE, SIGNING_PUBLIC_FILE, LOG_KEY_FILE, LOG_PUBLIC_FILE)]
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        raise InvalidInput(f"Key files already exist, not overwritten: {', '.join(existing)}")
    signing = ec.generate_private_key(ec.SECP256R1())
    log = ed25519.Ed25519PrivateKey.generate()
    _write_private(folder / SIGNING_KEY_FILE, signing)
    (folder / SIGNING_PUBLIC_FILE).write_bytes(public_pem(signing.public_key()))
    _write_private(folder / LOG_KEY_FILE, log)
    (folder / LOG_PUBLIC_FILE).write_bytes(public_pem(log.public_key()))
    return GeneratedKeys(
        signing_key=folder / SIGNING_KEY_FILE,
        signing_public=folder / SIGNING_PUBLIC_FILE,
        signing_key_id=signing_key_id(signing.public_key()),
        log_key=folder / LOG_KEY_FILE,
        log_public=folder / LOG_PUBLIC_FILE,
        log_key_id=note_key_id(log_name, log.public_key()).hex(),
    )


def load_signing_key(path: str | os.PathLike | None = None) -> ec.EllipticCurvePrivateKey | None:
    """The ECDSA P-256 signing key at ``path`` (default ``MLFLOW_GOVERNANCE_SIGNING_KEY``), or
    ``None`` when neither names one."""
    key = _load_private(path, SIGNING_KEY_ENV)
    if key is None:
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidInput(
            f"{SIGNING_KEY_ENV} must name an ECDSA P-256 private key (mlflow-registry-ext keygen "
            f"makes one); got {type(key).__name__}"
        )
    return key


def load_log_key(path: str | os.PathLike | None = None) -> ed25519.Ed25519PrivateKey | None:
    """The Ed25519 log key at ``path`` (default ``MLFLOW_GOVERNANCE_LOG_KEY``), or ``None``."""
    key = _load_private(path, LOG_KEY_ENV)
    if key is None:
        return None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InvalidInput(
            f"{LOG_KEY_ENV} must name an Ed25519 private key (mlflow-registry-ext keygen makes "
            f"one); got {type(key).__name__}"
        )
    return key


def load_public_key(path: str | os.PathLike):
    """A public key from a PEM file (either kind), or the public half of a private PEM."""
    data = _read(Path(path))
    try:
        return serialization.load_pem_public_key(data)
    except ValueError:
        pass
    try:
        return serialization.load_pem_private_key(data, password=None).public_key()
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{path} holds no PEM public or private key: {exc}") from exc


def public_pem(public_key) -> bytes:
    """``public_key`` as a SubjectPublicKeyInfo PEM."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def signing_key_id(public_key) -> str:
    """The SHA-256 (hex) of the DER SubjectPublicKeyInfo of ``public_key``."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def note_key_id(name: str, public_key: ed25519.Ed25519PublicKey) -> bytes:
    """The four-byte C2SP signed-note key id of an Ed25519 key named ``name``."""
    raw = _raw(public_key)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519_ALG + raw).digest()[:4]


def note_verifier_key(name: str, public_key: ed25519.Ed25519PublicKey) -> str:
    """The verifier key string of a C2SP signed note: ``name+hex(key id)+base64(0x01 || key)``."""
    encoded = base64.b64encode(_ED25519_ALG + _raw(public_key)).decode("ascii")
    return f"{name}+{note_key_id(name, public_key).hex()}+{encoded}"


def _raw(public_key: ed25519.Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _write_private(path: Path, key) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created 0600 from the start: never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _load_private(path, env: str):
    location = path if path is not None else settings.read(env)
    if not location:
        return None
    data = _read(Path(location))
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{location} ({env}) holds no unencrypted PEM private key: {exc}") from exc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read key file {path}: {exc.strerror or exc}") from exc
