"""The read-only ``governance.*`` tags that show a version's governance state in the stock UI.

They are written through the wrapped MLflow store, so MLflow's own UI and API show them like any
tag, and only on versions of models whose rule protects something: a model no rule protects gets
nothing visible. The registry store refuses users' writes to them on such models.

=============================== ==========================================================
``governance.status``           ``none``, ``pending``, ``approved``, ``rejected``, ``expired``:
                                the newest request of the version that was not cancelled
                                (an applied request shows ``approved``)
``governance.approvals``        ``counted/required`` of that request (``0/required`` without one)
``governance.fairness``         ``passed``, ``failed``, ``missing``: the newest fairness records
                                against the rule's thresholds, or the records' own verdicts
                                when the rule sets none
``governance.artifact_digest``  the digest the newest request was made for; before any
                                request, the digest recorded when the version was created
                                (under a rule that sets ``require.artifact_digest``)
=============================== ==========================================================

Example:
    >>> store.status_tags.refresh("fraud-model", "7").tags
    {'governance.status': 'pending', 'governance.approvals': '1/2', 'governance.fairness': 'passed'}
"""

from __future__ import annotations

from typing import Any, Iterable

from mlflow.entities.model_registry import ModelVersionTag
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.entities import ApprovalRequest, GovernanceStatus
from mlflow_registry_ext.governance.database import GovernanceDatabase
from mlflow_registry_ext.governance.incarnation import live_model_created_ms
from mlflow_registry_ext.governance.version_state import read_fairness
from mlflow_registry_ext.policy import FairnessFact, Policy, Rule, fairness_status

__all__ = [
    "TAG_PREFIX",
    "STATUS_TAG",
    "APPROVALS_TAG",
    "FAIRNESS_TAG",
    "DIGEST_TAG",
    "is_status_tag",
    "status_of",
    "fairness_of",
    "initial_tags",
    "StatusTags",
]

TAG_PREFIX = "governance."
STATUS_TAG = "governance.status"
APPROVALS_TAG = "governance.approvals"
FAIRNESS_TAG = "governance.fairness"
DIGEST_TAG = "governance.artifact_digest"

# Request status -> governance.status: an applied request was approved; cancelled ones are skipped.
_SHOWN = {
    "pending": "pending",
    "approved": "approved",
    "applied": "approved",
    "rejected": "rejected",
    "expired": "expired",
}


def is_status_tag(key: str | None) -> bool:
    """Whether ``key`` is one of the plugin's read-only tags (any ``governance.`` key)."""
    return bool(key) and key.startswith(TAG_PREFIX)


def covers(rule: Rule | None) -> bool:
    """Whether a model under ``rule`` carries status tags: only when the rule protects something."""
    return rule is not None and rule.protects_anything


def status_of(request: ApprovalRequest | None) -> str:
    """The ``governance.status`` value a version's newest request gives it."""
    return _SHOWN.get(request.status, "none") if request is not None else "none"


def fairness_of(rule: Rule | None, records: Iterable[FairnessFact]) -> str:
    """``passed``, ``failed`` or ``missing`` for the ``governance.fairness`` tag.

    Example:
        >>> fairness_of(rule, [])
        'missing'
    """
    records = tuple(records)
    judged = fairness_status(rule, records)
    if judged is not None:
        return judged
    verdicts = [r.passed for r in records if r.passed is not None]
    if not verdicts:
        return "missing"
    return "passed" if all(verdicts) else "failed"


def initial_tags(rule: Rule) -> dict[str, str]:
    """The tags of a version the moment it is created under ``rule``."""
    return {STATUS_TAG: "none", APPROVALS_TAG: f"0/{rule.approvals.required}", FAIRNESS_TAG: "missing"}


class StatusTags:
    """Computes a version's governance state and keeps its ``governance.*`` tags current.

    Args:
        policy: The policy.
        db: The governance database (fairness records).
        inner_store: The wrapped MLflow store: tags are written through it, unaudited, because
            they are derived from audited facts.
        approvals: The approval store (the newest request of a version).
    """

    def __init__(self, policy: Policy, db: GovernanceDatabase, inner_store: Any, approvals):
        self.policy = policy
        self.db = db
        self.inner = inner_store
        self.approvals = approvals

    def compute(self, model: str, version: str | int, mv: Any = None) -> GovernanceStatus:
        """The version's governance state, without writing anything."""
        version = str(version)
        rule = self.policy.rule_for(model)
        if mv is None:
            mv = self.inner.get_model_version(model, version)
        current = {k: v for k, v in (mv.tags or {}).items() if is_status_tag(k)}
        if not covers(rule):
            return GovernanceStatus(model=model, version=version, covered=False,
                                    rule=rule.describe() if rule else None, tags=current)
        live_ms = live_model_created_ms(self.inner, model)
        request = self.approvals.latest_for_version(model, version, mv.creation_timestamp, live_ms)
        approvals = request.approvals_text if request else f"0/{rule.approvals.required}"
        return GovernanceStatus(
            model=model,
            version=version,
            covered=True,
            rule=rule.describe(),
            status=status_of(request),
            approvals=approvals,
            fairness=fairness_of(rule, read_fairness(self.db, model, version, live_ms)),
            artifact_digest=(request.artifact_digest if request else None) or current.get(DIGEST_TAG),
            request_id=request.id if request else None,
            tags=current,
        )

    def refresh(self, model: str, version: str | int) -> GovernanceStatus | None:
        """Bring the version's tags in line with its state; writes only the tags that differ.

        Returns ``None`` when the version no longer exists.
        """
        try:
            mv = self.inner.get_model_version(model, str(version))
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        status = self.compute(model, version, mv)
        wanted = _tags_of(status) if status.covered else {}
        for key, value in wanted.items():
            if status.tags.get(key) != value:
                self.inner.set_model_version_tag(model, str(version), ModelVersionTag(key, value))
        for key in status.tags:
            if key not in wanted and key in _MANAGED:
                self.inner.delete_model_version_tag(model, str(version), key)
        written = {k: v for k, v in status.tags.items() if k not in _MANAGED}
        written.update(wanted)
        return GovernanceStatus(**{**status.to_dict(), "tags": written})

    def refresh_model(self, model: str) -> int:
        """Refresh every version of ``model`` (after a rename moved it under another rule)."""
        count = 0
        token = None
        while True:
            page = self.inner.search_model_versions(
                f"name={_quoted(model)}", max_results=1000, page_token=token
            )
            for mv in page:
                self.refresh(model, mv.version)
                count += 1
            token = page.token
            if not token:
                return count


_MANAGED = (STATUS_TAG, APPROVALS_TAG, FAIRNESS_TAG, DIGEST_TAG)


def _tags_of(status: GovernanceStatus) -> dict[str, str]:
    tags = {STATUS_TAG: status.status, APPROVALS_TAG: status.approvals, FAIRNESS_TAG: status.fairness}
    if status.artifact_digest:
        tags[DIGEST_TAG] = status.artifact_digest
    return {k: v for k, v in tags.items() if v is not None}


def _quoted(name: str) -> str:
    # MLflow's filter grammar has no escapes; a name holding a single quote goes in double ones.
    return f'"{name}"' if "'" in name else f"'{name}'"
