"""The ``datasets`` part: what ``mlflow.log_input`` recorded on the source run."""

from __future__ import annotations

import json
from typing import Any

from mlflow_registry_ext.dossier.parts import missing, present

__all__ = ["datasets_part"]


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def datasets_part(run: Any | None) -> dict:
    """Each dataset input: name, digest, source type and source, schema, profile, context."""
    if run is None:
        return missing("no source run", items=[])
    items = []
    for item in (run.inputs.dataset_inputs if run.inputs else None) or ():
        ds = item.dataset
        tags = {t.key: t.value for t in item.tags or ()}
        items.append({
            "name": ds.name,
            "digest": ds.digest,
            "context": tags.get("mlflow.data.context"),
            "source_type": ds.source_type,
            "source": _json(ds.source),
            "schema": _json(ds.schema),
            "profile": _json(ds.profile),
        })
    if not items:
        return missing("the run logged no dataset input (mlflow.log_input)", items=[])
    return present(items=items)
