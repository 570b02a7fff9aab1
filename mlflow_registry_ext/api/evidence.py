"""A version's artifacts, the reviewer's dossier, signatures, the public keys and the evidence bundle."""

from typing import Any, Literal

from pydantic import Field, create_model

from mlflow_registry_ext.api.fields import Name, Text
from mlflow_registry_ext.api.operation import Answer, Operation
from mlflow_registry_ext.api.promotion import VersionBody, VersionQuery


class ModelDigest(Answer):
    digest: str
    files: list[dict[str, Any]]
    uri: str | None = None
    source: str | None = None
    file_count: int | None = None
    total_size: int | None = None


class VerifyReport(Answer):
    ok: bool
    checked: int
    problems: list[dict[str, Any]]
    uri: str | None = None
    method: str | None = None
    digest: str | None = None
    expected_digest: str | None = None
    digest_matches: bool | None = None


class DossierPart(Answer):
    status: Literal["present", "partial", "missing"]
    reason: str | None = None


#: The parts of a dossier, each present, partial or missing.
DOSSIER_PARTS = ("comparison", "metrics", "lineage", "datasets", "code", "environment", "signature",
                 "input_example", "model_card", "fairness", "artifacts", "artifact_signature", "governance")

Dossier = create_model(
    "Dossier",
    __base__=Answer,
    dossier_version=(int, ...),
    model=(str, ...),
    version=(str, ...),
    missing=(list[str], ...),
    alias=(str | None, None),
    generated_at=(str | None, None),
    model_version=(dict[str, Any] | None, None),
    elapsed_ms=(float | None, None),
    **{part: (DossierPart, ...) for part in DOSSIER_PARTS},
)


class ModelSignature(Answer):
    model: str
    version: str
    digest: str
    key_id: str
    signature_bundle: str
    attestation: str
    id: str | None = None
    workspace: str | None = None
    model_created_ms: int | None = None
    version_created_ms: int | None = None
    request_id: str | None = None
    target_kind: str | None = None
    target: str | None = None
    created_at_ms: int | None = None


class PublicKeys(Answer):
    signing: dict[str, Any] | None
    log: dict[str, Any] | None


class VerifyBody(VersionBody):
    expected_digest: Text(80) | None = Field(None, description="Also require this digest (sha256:<hex>).")


class DossierQuery(VersionQuery):
    alias: Name | None = Field(None, description="Compare with the version this alias points to now (default: "
                                                 "the first protected alias pointing to another version).")


OPERATIONS = (
    Operation("artifacts_digest", "GET", "/artifacts/digest", "The artifact digest of a model version", "artifacts",
              "read", query=VersionQuery, response=ModelDigest),
    Operation("artifacts_verify", "POST", "/artifacts/verify", "Re-hash every artifact file of a model version",
              "artifacts", "read", body=VerifyBody, response=VerifyReport),
    Operation("dossier_get", "GET", "/dossier",
              "Everything a reviewer needs about a version: lineage, data, code, environment, metrics against the "
              "version under an alias, model card, fairness, digest, requests", "dossier", "read", query=DossierQuery,
              response=Dossier),
    Operation("signature_get", "GET", "/signature", "The model signature and approval attestation of a model version",
              "signatures", "read", query=VersionQuery, response=ModelSignature),
    Operation("keys_get", "GET", "/keys", "The server's public keys: model and attestation signing, audit checkpoints",
              "signatures", "user", response=PublicKeys),
    Operation("evidence_get", "GET", "/evidence",
              "The signed evidence bundle of a model version (a zip an auditor verifies offline with "
              "mlflow-registry-ext evidence verify)", "evidence", "read", query=VersionQuery,
              media="application/zip"),
)

