"""The reviewer's evidence about one model version, gathered from MLflow and the governance data.

:func:`mlflow_registry_ext.dossier.build.build_dossier` is the one library call behind
``GET .../dossier``, ``GovernanceClient.dossier(...)`` and ``mlflow-registry-ext dossier``.
Its JSON shape (documented in ``docs/review.md`` and pinned by ``tests/dossier/test_shape.py``):
every part is an object whose ``status`` is ``present``, ``partial`` or ``missing`` and, when not
present, whose ``reason`` says why. A part MLflow does not hold is named missing, never invented.

The modules are imported on demand (not here) so that the gate can read metrics and model cards
without pulling in the whole builder.
"""

from __future__ import annotations

__all__ = ["DOSSIER_VERSION", "PARTS"]

#: Version of the dossier's JSON shape; a change of shape raises it.
DOSSIER_VERSION = 1

#: The parts of a dossier, in the order a reviewer reads them.
PARTS: tuple[str, ...] = (
    "comparison",
    "metrics",
    "lineage",
    "datasets",
    "code",
    "environment",
    "signature",
    "input_example",
    "model_card",
    "fairness",
    "artifacts",
    "artifact_signature",
    "governance",
)
