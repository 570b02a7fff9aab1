"""The audit log: entries, the chain check, checkpoints and proofs, reconcile, and health."""

from typing import Any

from pydantic import Field

from mlflow_registry_ext.api.fields import TIME, Name, QueryInt, Text, TextList, TimeText, VersionText
from mlflow_registry_ext.api.operation import Answer, Body, NoBody, Operation, Query


class AuditEntry(Answer):
    seq: int
    entry_id: str
    timestamp_ms: int
    actor: str
    action: str
    hash: str
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    details: dict[str, Any] | None = None
    request_id: str | None = None
    client_addr: str | None = None
    prev_hash: str | None = None


class AuditPage(Answer):
    entries: list[AuditEntry]
    next_after_seq: int | None = None


class VerifyResult(Answer):
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    kind: str | None = None


class AliasPosition(Answer):
    model: str | None = None
    alias: str | None = None
    version: str | None = None
    since_ms: int | None = None
    actor: str | None = None
    seq: int | None = None
    action: str | None = None


class AliasHistory(Answer):
    history: list[AliasPosition]


class Checkpoint(Answer):
    size: int
    root: str
    note: str
    origin: str
    created_ms: int
    witnessed: list[str] | None = None
    created: bool | None = None


class CheckpointPage(Answer):
    checkpoints: list[Checkpoint]
    next_before_size: int | None = None


class InclusionProof(Answer):
    seq: int
    size: int
    entry_hash: str
    proof: list[str]
    checkpoint: str
    body: str | None = None


class ConsistencyProof(Answer):
    old: str
    new: str
    proof: list[str]


class Difference(Answer):
    workspace: str | None = None
    kind: str | None = None
    model: str | None = None
    version: str | None = None
    key: str | None = None
    expected: str | None = None
    actual: str | None = None


class ReconcileResult(Answer):
    ok: bool
    differences: list[Difference]
    workspace: str | None = None
    new: int | None = None
    models: int | None = None
    versions: int | None = None
    entries: int | None = None
    ran_ms: int | None = None
    drift_seqs: list[int] | None = None


class Health(Answer):
    status: str
    policy: dict[str, Any]
    checkpoint: dict[str, Any]
    dispatcher: dict[str, Any]
    reconcile: dict[str, Any] | None
    time_ms: int | None = None


class ExportQuery(Query):
    model: Name | None = Field(None, description="Only entries about this registered model.")
    version: VersionText | None = Field(None, description="Only entries about this model version.")
    alias: Name | None = Field(None, description="Only entries about this alias.")
    actor: Name | None = Field(None, description="Only entries by this user.")
    action: Name | None = Field(None, description="Only this action, e.g. model_version_alias.created.")
    since: TimeText | None = Field(None, description="From this time: " + TIME)
    until: TimeText | None = Field(None, description="Up to this time: " + TIME)


class ListQuery(ExportQuery):
    after_seq: QueryInt(0) | None = Field(None, description="Only entries after this position.")
    limit: QueryInt(1, 10_000) | None = Field(None, description="Most items to return.")


class VerifyBody(Body):
    checkpoints: TextList(1_000_000) | None = Field(
        None, description="Checkpoint notes a witness holds (truncation, rewrites and forks are found against "
                          "them).")
    verifier_key: Text(1000) | None = Field(
        None, description="The log's note verifier key (default: the server's log key).")
    full: bool | None = Field(None, description="Read every entry, not only those after the last verified "
                                                "checkpoint.")


class AliasHistoryQuery(Query):
    model: Name = Field(description="Registered model name.")
    alias: Name = Field(description="The alias.")
    at: TimeText | None = Field(None, description="Only what it pointed to at this time: " + TIME)


class CheckpointsQuery(Query):
    limit: QueryInt(1, 10_000) | None = Field(None, description="Most items to return.")
    before_size: QueryInt(1) | None = Field(
        None, description="Only checkpoints smaller than this (next_before_size of the previous page).")


class ProofQuery(Query):
    seq: QueryInt(1) = Field(description="The entry's position.")
    size: QueryInt(1) | None = Field(None, description="The checkpoint's size (default: the latest).")


class ConsistencyQuery(Query):
    old: QueryInt(1) = Field(description="Size of the older checkpoint.")
    new: QueryInt(1) | None = Field(None, description="Size of the newer checkpoint (default: the latest).")


class DriftQuery(Query):
    model: Name | None = Field(None, description="Only differences about this model.")


OPERATIONS = (
    Operation("audit_list", "GET", "/audit", "Audit entries, oldest first", "audit", "user", query=ListQuery,
              response=AuditPage),
    Operation("audit_verify", "POST", "/audit/verify",
              "Check the audit log's hash chain, and against checkpoints held elsewhere", "audit", "user",
              body=VerifyBody, response=VerifyResult),
    Operation("audit_export", "GET", "/audit/export", "Every audit entry as JSON Lines, hashes included", "audit",
              "user", query=ExportQuery, ndjson=True),
    Operation("alias_history", "GET", "/audit/alias-history", "Where an alias pointed over time, and who moved it",
              "audit", "read", query=AliasHistoryQuery, response=AliasHistory),
    Operation("audit_checkpoint_create", "POST", "/audit/checkpoint",
              "Sign a checkpoint of the audit log now and send it to the witnesses", "audit", "admin", body=NoBody,
              response=Checkpoint),
    Operation("audit_checkpoints_list", "GET", "/audit/checkpoints", "Signed checkpoints of the audit log, newest first",
              "audit", "user", query=CheckpointsQuery, response=CheckpointPage),
    Operation("audit_proof", "GET", "/audit/proof",
              "Inclusion proof of an entry against the latest checkpoint (or the one of size)", "audit", "user",
              query=ProofQuery, response=InclusionProof),
    Operation("audit_consistency", "GET", "/audit/consistency", "Consistency proof between two checkpoints", "audit",
              "user", query=ConsistencyQuery, response=ConsistencyProof),
    Operation("health_get", "GET", "/health",
              "Policy digest, age of the last checkpoint, dispatcher lag, last reconcile", "health", "user",
              response=Health),
    Operation("audit_reconcile", "POST", "/audit/reconcile",
              "Compare the registry with the state its audit log describes; record new drift", "audit", "user",
              body=NoBody, response=ReconcileResult),
    Operation("audit_drift", "GET", "/audit/drift", "The differences the latest reconcile of the workspace found",
              "audit", "user", query=DriftQuery, response=ReconcileResult),
)
