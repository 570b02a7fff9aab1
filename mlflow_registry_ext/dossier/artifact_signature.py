"""The ``artifact_signature`` part: a signature over the version's artifacts, where one exists.

This installation has no signature lookup yet, so the part always reports ``missing`` with the
reason; a signing lookup plugs in by replacing :func:`artifact_signature_part`.
"""

from __future__ import annotations

from mlflow_registry_ext.dossier.parts import missing

__all__ = ["artifact_signature_part"]


def artifact_signature_part(model: str, version: str) -> dict:
    """Always ``missing`` here: no signature lookup is installed."""
    return missing("no signature lookup is available for model version signatures",
                   signed=None, key_id=None, signature=None)
