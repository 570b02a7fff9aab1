"""``GET .../evidence``: a model version's signed evidence bundle, as a zip download."""

from __future__ import annotations

import re

from flask import Response
from mlflow_registry_ext.server.views._serves import serves


@serves("evidence_get")
def evidence_get(ctx, access, model, version):
    from mlflow_registry_ext.evidence.export import export_bundle

    data = export_bundle(ctx.governed_store(), model, version, client=ctx.mlflow_client())
    # Only safe characters in the suggested file name; the model name is the user's.
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{model}-v{version}-evidence")
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{stem}.zip"'})
