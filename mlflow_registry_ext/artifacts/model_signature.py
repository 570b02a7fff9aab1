"""OpenSSF Model Signing signatures over a model's file list, made from hashes already known.

The governance server signs a model version when its approval is applied. It already holds the
version's file list (path, size, SHA-256), so it builds the ``model_signing`` manifest from those
hashes instead of downloading and re-hashing every byte, and signs it with
``model_signing``'s own elliptic-curve key signer. The result is the package's standard
signature: a Sigstore bundle whose DSSE envelope carries an in-toto statement listing every file
and its SHA-256. The stock verifier reads it unchanged::

    model_signing verify key MODEL_DIR --signature model.sig --public_key signing.pub.pem

``model_signing`` always skips ``.git/``, ``.github/``, ``.gitattributes`` and ``.gitignore`` when
it hashes a directory, so the signed manifest leaves them out too (the stock verifier would
report them missing otherwise). They are still covered by the version's artifact digest, which
the approval attestation carries and ``artifacts verify --signature`` checks.

MLflow before 3.18 adds one file to every model directory downloaded through a ``models:/``
URI: ``registered_model_meta`` (the model's name and version, written by the client). A
signature made for a registered version (``registered_as``) under such an MLflow covers that
file with the exact bytes MLflow writes, so the stock verifier accepts
``download_artifacts("models:/NAME@ALIAS")`` as it is; under MLflow 3.18 and later, which adds
nothing, it covers the version's files alone. A signature made before an upgrade of MLflow still
verifies against the version's files (its ``registered_model_meta`` is checked as it was
written).

Example:
    >>> bundle = sign_files("fraud-model", files, "signing.pem")      # doctest: +SKIP
    >>> verify_files(bundle, files, public_key)                        # doctest: +SKIP
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
from typing import Iterable

from mlflow_registry_ext.artifacts.digest import FileEntry
from mlflow_registry_ext.errors import IntegrityError, InvalidInput

__all__ = ["IGNORED_BY_MODEL_SIGNING", "registered_model_meta", "signed_files", "sign_files", "verify_files", "signed_resources"]

# What model_signing's hashing.Config skips by default on both sides, in the order it records
# them; a file under one of these names cannot be checked by the stock verifier.
IGNORED_BY_MODEL_SIGNING = (".gitignore", ".git", ".github", ".gitattributes")
_HASH = "sha256"


def _ignored(path: str) -> bool:
    first = path.split("/", 1)[0]
    return first in IGNORED_BY_MODEL_SIGNING


# The file MLflow before 3.18 adds to every ``models:/`` download (``registered_model_meta``);
# MLflow 3.18 no longer writes it.
_META_FILE = "registered_model_meta"


def registered_model_meta(name: str, version: str) -> FileEntry:
    """The ``registered_model_meta`` file MLflow (before 3.18) writes into a ``models:/``
    download, hashed."""
    import tempfile

    from mlflow.utils.yaml_utils import write_yaml

    from mlflow_registry_ext.artifacts.hashing import hash_file

    with tempfile.TemporaryDirectory(prefix="mlflow-meta-") as tmp:
        # Written by MLflow's own function with the arguments its download uses, so the bytes match.
        write_yaml(tmp, _META_FILE, {"model_name": name, "model_version": str(version)},
                   overwrite=True, ensure_yaml_extension=False)
        result = hash_file(os.path.join(tmp, _META_FILE))
    return FileEntry(_META_FILE, result.size, result.sha256)


def _mlflow_writes_meta() -> bool:
    """Whether this MLflow writes ``registered_model_meta`` into ``models:/`` downloads."""
    from mlflow.store.artifact import models_artifact_repo

    return getattr(models_artifact_repo, "REGISTERED_MODEL_META_FILE_NAME", None) == _META_FILE


def signed_files(
    files: Iterable[FileEntry],
    registered_as: tuple[str, str] | None = None,
    *,
    with_meta: bool | None = None,
) -> list[FileEntry]:
    """The files a model signature covers: all but those ``model_signing`` always skips, plus the
    ``registered_model_meta`` of a ``models:/`` download when ``registered_as`` names the
    version, the files are a model directory (``MLmodel`` at the top, as MLflow checks) and
    ``with_meta`` holds (by default: where this MLflow writes that file)."""
    chosen = [f for f in files if not _ignored(f.path)]
    if with_meta is None:
        with_meta = _mlflow_writes_meta()
    if with_meta and registered_as is not None and any(f.path == "MLmodel" for f in chosen):
        meta = registered_model_meta(*registered_as)
        chosen = [f for f in chosen if f.path != meta.path] + [meta]
    return sorted(chosen)


def _manifest(name: str, files: Iterable[FileEntry], registered_as=None):
    from model_signing import manifest
    from model_signing._hashing import hashing

    items = [
        manifest.FileManifestItem(
            path=pathlib.PurePosixPath(f.path), digest=hashing.Digest(_HASH, bytes.fromhex(f.sha256))
        )
        for f in signed_files(files, registered_as)
    ]
    # The same serialization record model_signing's default file hashing writes, so a verifier
    # that guesses the hashing from the signature hashes the downloaded folder the same way.
    serialization = manifest._FileSerialization(_HASH, False, [pathlib.Path(p) for p in IGNORED_BY_MODEL_SIGNING])
    return manifest.Manifest(name, items, serialization)


def sign_files(
    name: str,
    files: Iterable[FileEntry],
    private_key_path: str | os.PathLike,
    registered_as: tuple[str, str] | None = None,
) -> str:
    """Sign a file list in the OpenSSF Model Signing format with an EC private key.

    Args:
        name: The model's name, recorded as the statement's subject (informative only).
        files: Every file of the model: relative ``/``-separated path, size, SHA-256 hex.
        private_key_path: A PKCS#8 PEM EC key (P-256 from ``mlflow-registry-ext keygen``).
        registered_as: ``(model name, version)`` of a registered version: the signature then
            also covers the ``registered_model_meta`` file of its ``models:/`` downloads, where
            this MLflow writes one (before 3.18).

    Returns:
        The signature bundle as JSON text: write it to ``model.sig`` for the stock verifier.

    Raises:
        InvalidInput: No file would be signed, or the key is not one ``model_signing`` takes.
    """
    from model_signing._signing import sign_ec_key, signing

    manifest = _manifest(name, files, registered_as)
    if not list(manifest.resource_descriptors()):
        raise InvalidInput(f"Model {name} has no file that a model signature can cover")
    try:
        signer = sign_ec_key.Signer(pathlib.Path(private_key_path))
    # An Ed25519 key fails inside model_signing with AttributeError (it has no curve).
    except (ValueError, TypeError, OSError, AttributeError) as exc:
        raise InvalidInput(f"Cannot sign with {private_key_path}: {exc}") from exc
    return signer.sign(signing.Payload(manifest)).bundle.to_json()


def signed_resources(bundle_json: str, public_key_path: str | os.PathLike) -> dict[str, str]:
    """Check the bundle's signature with the public key; return ``{path: sha256}`` it signs.

    Raises:
        IntegrityError: The bundle is malformed, signed by another key, or its signature is bad.
    """
    from model_signing._signing import sign_ec_key, sign_sigstore_pb

    try:
        signature = sign_sigstore_pb.Signature(_bundle(bundle_json))
        verifier = sign_ec_key.Verifier(pathlib.Path(public_key_path))
        manifest = verifier.verify(signature)
    except IntegrityError:
        raise
    except Exception as exc:  # noqa: BLE001 - model_signing raises ValueError, InvalidSignature, ...
        detail = str(exc) or type(exc).__name__
        raise IntegrityError(f"The model signature does not verify with this key: {detail}") from None
    return {r.identifier: r.digest.digest_hex for r in manifest.resource_descriptors()}


def verify_files(
    bundle_json: str,
    files: Iterable[FileEntry],
    public_key_path: str | os.PathLike,
    registered_as: tuple[str, str] | None = None,
) -> int:
    """Check that the bundle is signed by the key and signs exactly ``files``.

    Returns:
        How many files the signature covers.

    Raises:
        IntegrityError: Naming the first problem: bad signature, or the first file that is
            missing, extra, or has another hash.
    """
    signed = signed_resources(bundle_json, public_key_path)
    files = list(files)
    # Signed under an MLflow that still wrote the file into downloads (and no file of the model
    # has its name): it is checked as that MLflow wrote it, so an upgrade of MLflow leaves
    # earlier signatures valid.
    signed_with_meta = _META_FILE in signed and all(f.path != _META_FILE for f in files)
    actual = {f.path: f.sha256 for f in signed_files(files, registered_as, with_meta=signed_with_meta or None)}
    for path in sorted(set(signed) | set(actual)):
        if path not in actual:
            raise IntegrityError(f"The model signature covers {path}, which the model does not have")
        if path not in signed:
            raise IntegrityError(f"The model signature does not cover {path}")
        if signed[path] != actual[path]:
            raise IntegrityError(
                f"The model signature has sha256 {signed[path]} for {path}, the model has {actual[path]}"
            )
    return len(signed)


def _bundle(bundle_json: str):
    from sigstore_models.bundle import v1 as bundle_pb

    try:
        data = json.loads(bundle_json)
        base64.b64decode(data["dsseEnvelope"]["payload"], validate=True)
        return bundle_pb.Bundle.from_dict(data)
    except Exception as exc:  # noqa: BLE001 - the bundle model raises its own validation errors
        raise IntegrityError(f"The model signature is not a signature bundle: {exc}") from None
