"""Checking what a caller asks of the approval store: targets, versions, comments.

Every problem is an :class:`~mlflow_registry_ext.errors.InvalidInput` (``INVALID_PARAMETER_VALUE``),
with MLflow's own wording for alias names and stages MLflow would reject.
"""

from __future__ import annotations

from typing import Any

from mlflow.entities.model_registry.model_version_stages import get_canonical_stage
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.policy.names import check_mlflow_alias

__all__ = ["MAX_COMMENT", "parse_target", "parse_version", "clean_comment"]

#: The longest comment a request's timeline takes.
MAX_COMMENT = 10_000


def parse_target(alias: str | None, stage: str | None) -> tuple[str, str]:
    """``("alias", name)`` or ``("stage", canonical stage)``; exactly one must be given.

    Raises:
        InvalidInput: Neither or both, an alias name MLflow would reject, or an unknown stage.

    Example:
        >>> parse_target(None, "production")
        ('stage', 'Production')
    """
    if bool(alias) == bool(stage):
        raise InvalidInput("Give exactly one target: an alias or a stage")
    if alias:
        try:
            check_mlflow_alias(alias)
        except MlflowException as exc:
            raise InvalidInput(exc.message) from None
        return "alias", alias
    try:
        return "stage", get_canonical_stage(stage)
    except MlflowException as exc:
        raise InvalidInput(exc.message) from None


def parse_version(version: Any) -> str:
    """A model version number as MLflow stores it.

    Example:
        >>> parse_version(" 07 ")
        '7'
    """
    text = str(version).strip()
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"A model version is a positive whole number, got {version!r}")
    return str(int(text))


def clean_comment(text: str | None, *, required: bool = False) -> str | None:
    """``text`` stripped; ``None`` for a blank one unless ``required``.

    Example:
        >>> clean_comment("  LGTM "), clean_comment("   ")
        ('LGTM', None)
    """
    if text is None or not str(text).strip():
        if required:
            raise InvalidInput("A comment must not be empty")
        return None
    text = str(text).strip()
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"A comment may be at most {MAX_COMMENT} characters, got {len(text)}")
    return text
