"""Export a model version's evidence bundle: run every producer, index what each file serves,
sign the whole.

Example:
    >>> data = export_bundle(store, "fraud", "3", key=load_signing_key())   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.evidence.bundle import write_bundle
from mlflow_registry_ext.evidence.index import PARTS, part
from mlflow_registry_ext.evidence.producers import PRODUCERS, Sources
from mlflow_registry_ext.keys import SIGNING_KEY_ENV, load_signing_key, public_pem, signing_key_id
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["export_bundle"]

_log = logging.getLogger(__name__)


def export_bundle(store: Any, model: str, version: str | int, *, key=None, client=None) -> bytes:
    """The signed evidence bundle (zip bytes) of a model version of a governed store.

    Raises:
        InvalidInput: No signing key (``MLFLOW_GOVERNANCE_SIGNING_KEY``).
        NotFound: The version does not exist.
    """
    key = key or load_signing_key()
    if key is None:
        raise InvalidInput(f"Exporting evidence needs the signing key: set {SIGNING_KEY_ENV} (mlflow-registry-ext keygen)")
    version = str(version)
    store.get_model_version(model, version)  # MLflow's own NOT_FOUND when missing
    sources = Sources(store=store, model=model, version=version, client=client)
    members: dict[str, bytes] = {}
    parts = []
    for name, producer in PRODUCERS.items():
        info = part(name)
        entry = {"name": name, "path": info.path, "description": info.description,
                 "eu_ai_act": info.eu_ai_act, "sr_11_7": info.sr_11_7, "nist_ai_rmf": info.nist_ai_rmf}
        try:
            produced = producer(sources)
        except LookupError as exc:
            entry.update(status="missing", reason=str(exc.args[0] if exc.args else exc))
        except Exception as exc:  # noqa: BLE001 - one unreadable part is named, not fatal
            _log.warning("Evidence part %s of %s %s failed", name, model, version, exc_info=True)
            entry.update(status="missing", reason=f"could not be produced: {getattr(exc, 'message', None) or exc}")
        else:
            members.update(produced or {})
            entry.update(status="present", files=sorted(produced or {}))
        parts.append(entry)
    members["keys/signing.pub.pem"] = public_pem(key.public_key())
    pk = part("public_key")
    parts.append({"name": pk.name, "path": pk.path, "description": pk.description, "eu_ai_act": pk.eu_ai_act,
                  "sr_11_7": pk.sr_11_7, "nist_ai_rmf": pk.nist_ai_rmf, "status": "present", "files": [pk.path]})
    assert {p["name"] for p in parts} == {p.name for p in PARTS}
    index = {"model": model, "version": version, "parts": parts}
    return write_bundle(members, index, key, model=model, version=version,
                        created_at_ms=utc_now_ms(), signing_key_id=signing_key_id(key.public_key()))
