"""The server's check that the files under every pinned version's source are still the pinned ones.

A pinned version never serves changed files (its snapshot, or a ``verified:`` download, see
:mod:`mlflow_registry_ext.registry.pinning`), but a change to the run it came from is worth
knowing: someone overwrote reviewed weights. The governance server looks at every pinned version
of every workspace every ``MLFLOW_GOVERNANCE_ARTIFACT_CHECK_INTERVAL`` seconds (default 900; ``0``
turns it off), in one process of the deployment at a time, and records each change found for the
first time: the audit entry and webhook event ``model_version.artifacts_changed`` and the tag
``governance.artifacts=changed`` (:meth:`Pinner.check`).

Example:
    >>> check_pinned_versions(store)    # (model, version, digest found) of each pinned version whose files changed
    []
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

__all__ = ["LEASE", "check_pinned_versions"]

_log = logging.getLogger(__name__)

LEASE = "server-artifact-check"


@contextlib.contextmanager
def _in_workspace(name: str) -> Iterator[None]:
    try:
        from mlflow.utils.workspace_context import clear_server_request_workspace, set_server_request_workspace
    except ImportError:  # an MLflow release without workspaces: everything is in ``default``
        yield
        return
    set_server_request_workspace(name)
    try:
        yield
    finally:
        clear_server_request_workspace()


def check_pinned_versions(store: Any) -> list[tuple[str, str, str]]:
    """Check every pinned version of every workspace once; ``(model, version, found digest)``
    of each version whose source no longer holds its pinned files."""
    from mlflow.exceptions import MlflowException

    changed = []
    for workspace in store.pinner.manifests.workspaces():
        with _in_workspace(workspace):
            seen = set()
            for manifest in store.pinner.manifests.all():
                key = (manifest.model, manifest.version)
                if key in seen:
                    continue
                seen.add(key)
                try:
                    found = store.pinner.check(manifest.model, manifest.version)
                except MlflowException as exc:
                    # The model or version was deleted since, or its registry row is unreadable.
                    _log.debug("Artifact check of %s v%s skipped: %s", *key, exc.message)
                    continue
                if found is not None:
                    changed.append((manifest.model, manifest.version, found))
    return changed
