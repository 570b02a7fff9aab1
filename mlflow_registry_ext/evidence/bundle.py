"""Writing and verifying an evidence bundle: a zip whose ``manifest.json`` lists the SHA-256 of
every other member and whose ``manifest.sig`` is an ECDSA P-256 (SHA-256) signature of it.

Verifying needs only the zip and the public key: no server, no database. The first failure is
named: a bad signature, a member missing, changed or added, or (given the model's files) an
artifact that differs from the signed artifact manifest.

Example:
    >>> import io
    >>> from cryptography.hazmat.primitives.asymmetric import ec
    >>> key = ec.generate_private_key(ec.SECP256R1())
    >>> data = write_bundle({"security/scan.json": b"{}"}, {"model": "fraud-model", "version": "1"}, key)
    >>> verify_bundle(io.BytesIO(data), key.public_key()).ok
    True
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import IO, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from mlflow_registry_ext.keys import signing_key_id

__all__ = ["MANIFEST", "SIGNATURE", "INDEX", "write_bundle", "verify_bundle", "BundleCheck"]

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
INDEX = "index.json"
_FORMAT = "mlflow-registry-ext/evidence-bundle/v1"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_bundle(members: Mapping[str, bytes], index: dict, key: ec.EllipticCurvePrivateKey, **about) -> bytes:
    """The zip of ``members`` plus ``index.json``, the manifest and its signature."""
    files = dict(members)
    files[INDEX] = json.dumps(index, indent=2, sort_keys=True).encode()
    manifest = {
        "format": _FORMAT,
        **about,
        "key_id": signing_key_id(key.public_key()),
        "members": {name: _sha256(data) for name, data in sorted(files.items())},
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    signature = key.sign(manifest_bytes, ec.ECDSA(hashes.SHA256()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
        zf.writestr(MANIFEST, manifest_bytes)
        zf.writestr(SIGNATURE, base64.b64encode(signature) + b"\n")
    return out.getvalue()


@dataclasses.dataclass(frozen=True)
class BundleCheck:
    """The verdict: ``ok``, or the first thing that failed."""

    ok: bool
    failure: str | None = None
    checked: int = 0
    missing_parts: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _fail(text: str) -> BundleCheck:
    return BundleCheck(False, text)


def verify_bundle(source: str | Path | IO[bytes], public_key, model_dir: str | Path | None = None,
                  log_key: str | None = None) -> BundleCheck:
    """Check the signature, every member against the signed manifest, every inclusion proof
    against the signed checkpoint (with ``log_key``, the log's verifier key string; else the one
    in the bundle), and (with ``model_dir``) the model's files against the artifact manifest."""
    try:
        zf = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as exc:
        return _fail(f"not a readable zip: {exc}")
    with zf:
        names = set(zf.namelist())
        for required in (MANIFEST, SIGNATURE):
            if required not in names:
                return _fail(f"{required} is missing")
        manifest_bytes = zf.read(MANIFEST)
        try:
            signature = base64.b64decode(zf.read(SIGNATURE).strip(), validate=True)
            public_key.verify(signature, manifest_bytes, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return _fail(f"{SIGNATURE}: the signature of {MANIFEST} does not verify with the given key")
        except TypeError:
            return _fail("the public key is not an ECDSA P-256 key")
        manifest = json.loads(manifest_bytes)
        members: dict[str, str] = manifest.get("members") or {}
        for name, digest in sorted(members.items()):
            if name not in names:
                return _fail(f"{name} is missing from the bundle")
            try:
                data = zf.read(name)
            except (zipfile.BadZipFile, OSError) as exc:  # a flipped byte can break the CRC
                return _fail(f"{name} is damaged: {exc}")
            if _sha256(data) != digest:
                return _fail(f"{name} does not match its SHA-256 in the signed manifest")
        extra = sorted(names - set(members) - {MANIFEST, SIGNATURE})
        if extra:
            return _fail(f"{extra[0]} is not in the signed manifest")
        index = json.loads(zf.read(INDEX)) if INDEX in names else {}
        problem = _check_proofs(zf, names, log_key)
        if problem:
            return _fail(problem)
        if model_dir is not None:
            problem = _check_model(zf, members, Path(model_dir))
            if problem:
                return _fail(problem)
    missing = tuple(p["name"] for p in index.get("parts", ()) if p.get("status") == "missing")
    return BundleCheck(True, None, len(members), missing)


def _check_proofs(zf: zipfile.ZipFile, names: set, log_key: str | None) -> str | None:
    from mlflow_registry_ext.audit.merkle import ProofError
    from mlflow_registry_ext.audit.offline import verify_inclusion

    if "audit/proofs.json" not in names:
        return None
    key = log_key or (zf.read("keys/log.vkey").decode() if "keys/log.vkey" in names else None)
    if key is None:
        return "audit/proofs.json: no log verifier key to check the checkpoint with (--log-key)"
    checkpoint = zf.read("audit/checkpoint.txt").decode() if "audit/checkpoint.txt" in names else None
    for proof in json.loads(zf.read("audit/proofs.json")):
        if checkpoint is not None and proof.get("checkpoint") != checkpoint:
            return f"audit/proofs.json: entry {proof.get('seq')} is proven against another checkpoint"
        try:
            verify_inclusion(proof, key)
        except ProofError as exc:
            return f"audit/proofs.json: {exc}"
    return None


def _check_model(zf: zipfile.ZipFile, members: Mapping[str, str], model_dir: Path) -> str | None:
    from mlflow_registry_ext.security.files import hash_tree

    name = "artifacts/manifest.json"
    if name not in members:
        return f"{name} is not in the bundle: the model's files cannot be checked"
    expected = {f["path"]: (f["size"], f["sha256"]) for f in json.loads(zf.read(name))["files"]}
    actual = {f.path: (f.size, f.sha256) for f in hash_tree(model_dir)}
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            return f"model file {path} is missing from {model_dir}"
        if path not in expected:
            return f"model file {path} is not in the signed artifact manifest"
        if actual[path] != expected[path]:
            return f"model file {path} differs from the signed artifact manifest"
    return None
