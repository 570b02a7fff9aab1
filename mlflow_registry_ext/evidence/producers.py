"""Where each part of an evidence bundle comes from: one producer function per part.

A producer takes the :class:`Sources` of one version and returns ``{member path: bytes}``, or
``None`` when this installation has no producer for the part or nothing to put in it; the index
then names the part ``missing`` with the reason (never invented). A part this
installation cannot make is registered as :func:`not_available`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

from mlflow_registry_ext.audit.log import AuditQuery, query

__all__ = ["Sources", "Produced", "PRODUCERS", "not_available"]


@dataclasses.dataclass
class Sources:
    """What the producers read: the governed store, the version, an MLflow client."""

    store: Any
    model: str
    version: str
    client: Any = None
    _entries: list | None = None
    _digest: Any = None
    _dossier: dict | None = None

    def digest(self):
        """The version's :class:`~mlflow_registry_ext.artifacts.digest.ModelDigest` (computed once)."""
        from mlflow_registry_ext.artifacts.digest import model_digest

        if self._digest is None:
            uri = self.store.inner.get_model_version_download_uri(self.model, self.version)
            self._digest = model_digest(uri)
        return self._digest

    def audit_entries(self) -> list:
        if self._entries is None:
            self._entries = query(
                self.store.governance_db.engine, AuditQuery(model=self.model, version=self.version, limit=None)
            )
        return self._entries


Produced = dict[str, bytes] | None
Producer = Callable[[Sources], Produced]


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return _plain(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _json(value: Any) -> bytes:
    return json.dumps(_plain(value), indent=2, sort_keys=True, default=str).encode()


def not_available(reason: str) -> Producer:
    """A producer for a part this installation cannot make; the index says why."""

    def produce(sources: Sources) -> Produced:
        raise LookupError(reason)

    return produce


def scan(sources: Sources) -> Produced:
    from mlflow_registry_ext.security.records import ScanStore
    from mlflow_registry_ext.db.incarnation import live_model_created_ms

    report = ScanStore(sources.store.governance_db).latest(
        sources.model, sources.version, model_created_ms=live_model_created_ms(sources.store.inner, sources.model)
    )
    if report is None:
        raise LookupError("the version has no security scan")
    return {"security/scan.json": _json(report)}


def bom(sources: Sources) -> Produced:
    from mlflow_registry_ext.security.bom import version_bom

    text = version_bom(sources.store.inner, sources.model, sources.version, tracking_client=sources.client,
                       artifact_digest=sources.digest().digest)
    return {"security/bom.cdx.json": text.encode()}


def fairness(sources: Sources) -> Produced:
    from mlflow_registry_ext.fairness.records import FairnessStore

    checks = FairnessStore(sources.store.governance_db).list(sources.model, sources.version)
    if not checks:
        raise LookupError("no fairness check is recorded on the version")
    return {"fairness/records.json": _json(checks)}


def fairness_charts(sources: Sources) -> Produced:
    from mlflow_registry_ext.fairness.records import FairnessStore

    out: dict[str, bytes] = {}
    checks = FairnessStore(sources.store.governance_db).list(sources.model, sources.version)
    if sources.client is None:
        raise LookupError("no MLflow client to read the charts from the run")
    import os
    import tempfile

    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        for check in checks:
            if not check.chart_uri:
                continue
            local = mlflow.artifacts.download_artifacts(artifact_uri=check.chart_uri, dst_path=tmp,
                                                        tracking_uri=sources.client.tracking_uri)
            with open(local, "rb") as f:
                out[f"fairness/charts/{check.id}{os.path.splitext(local)[1]}"] = f.read()
    if not out:
        raise LookupError("no fairness chart was logged")
    return out


def artifact_manifest(sources: Sources) -> Produced:
    return {"artifacts/manifest.json": _json(sources.digest())}


def approvals(sources: Sources) -> Produced:
    requests = sources.store.approvals.list(sources.model, sources.version)
    if not requests:
        raise LookupError("no approval request was made for the version")
    entries = [e for e in sources.audit_entries() if e.action.startswith(("approval_request.", "promotion."))]
    out = {}
    for request in requests:
        mine = [e for e in entries
                if request.id in (e.details.get("request_id"), e.details.get("approval_request"),
                                  e.after.get("id"), e.after.get("request_id"))]
        out[f"approvals/{request.id}.json"] = _json({"request": request, "audit_entries": mine})
    return out


def audit(sources: Sources) -> Produced:
    lines = [json.dumps(_plain(e), sort_keys=True, default=str) for e in sources.audit_entries()]
    return {"audit/entries.jsonl": ("\n".join(lines) + "\n").encode()}


def _dossier(sources: Sources) -> dict:
    if sources._dossier is None:
        from mlflow_registry_ext.dossier.build import build_dossier

        if sources.client is None:
            raise LookupError("no MLflow client to read the version's run and files")
        store = sources.store
        sources._dossier = build_dossier(sources.client, store.inner, store.governance_db, store.policy,
                                         sources.model, sources.version, governed=store)
    return sources._dossier


def dossier(sources: Sources) -> Produced:
    return {"dossier.json": _json(_dossier(sources))}


def model_card(sources: Sources) -> Produced:
    from mlflow_registry_ext.dossier.card_render import render_card

    return {"model_card.md": render_card(_dossier(sources), "md").encode()}


def artifact_signature(sources: Sources) -> Produced:
    from mlflow_registry_ext.errors import NotFound
    from mlflow_registry_ext.signing.signatures import find_signature

    try:
        record = find_signature(sources.store.inner, sources.store.governance_db, sources.model, sources.version)
    except NotFound as exc:
        raise LookupError(exc.message) from None
    return {"artifacts/model.sig": record.signature_bundle.encode(),
            "artifacts/approval.intoto.json": record.attestation.encode()}


def _proven_entries(sources: Sources) -> list:
    # The entries a reviewer's decision rests on: requests, decisions, promotions, alias changes.
    return [e for e in sources.audit_entries()
            if e.action.startswith(("approval_request.", "promotion.", "model_version_alias.",
                                    "model_version.stage_transitioned", "model_version.created"))]


def _log_checkpoint(sources: Sources):
    from mlflow_registry_ext.audit import checkpoints

    found = checkpoints.list_checkpoints(sources.store.governance_db, limit=1)
    if not found:
        raise LookupError("the audit log has no signed checkpoint yet (mlflow-registry-ext audit checkpoint)")
    return found[0]


def checkpoint(sources: Sources) -> Produced:
    from mlflow_registry_ext import keys

    latest = _log_checkpoint(sources)
    out = {"audit/checkpoint.txt": latest.note.encode()}
    private = keys.load_log_key()
    if private is not None:
        out["keys/log.pub.pem"] = keys.public_pem(private.public_key())
        out["keys/log.vkey"] = keys.note_verifier_key(latest.origin, private.public_key()).encode()
    return out


def inclusion_proofs(sources: Sources) -> Produced:
    from mlflow_registry_ext.audit import checkpoints

    latest = _log_checkpoint(sources)
    proofs = [checkpoints.inclusion(sources.store.governance_db, e.seq, latest.size)
              for e in _proven_entries(sources) if e.seq <= latest.size]
    if not proofs:
        raise LookupError("no approval or promotion entry of the version is covered by the latest checkpoint")
    return {"audit/proofs.json": _json(proofs)}


#: part name -> producer. Replace a ``not_available`` entry when its producer exists here.
PRODUCERS: dict[str, Producer] = {
    "dossier": dossier,
    "model_card": model_card,
    "fairness": fairness,
    "fairness_charts": fairness_charts,
    "scan": scan,
    "bom": bom,
    "artifact_manifest": artifact_manifest,
    "artifact_signature": artifact_signature,
    "approvals": approvals,
    "audit": audit,
    "inclusion_proofs": inclusion_proofs,
    "checkpoint": checkpoint,
}
