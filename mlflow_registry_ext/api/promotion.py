"""A version's governance status, changing protected targets, and the policy that applies."""

from typing import Any

from pydantic import Field

from mlflow_registry_ext.api.approvals import ChangeAction
from mlflow_registry_ext.api.fields import Id, LongText, Name, VersionText
from mlflow_registry_ext.api.operation import Answer, Body, Operation, Query

_MODEL = "Registered model name."
_ALIAS = "The protected alias (give this or stage)."
_STAGE = "The protected stage (give this or alias)."
_OVERRIDE = "Force a refused change through (rule admins only)."


class StatusTarget(Answer):
    target_kind: str
    target: str
    status: str
    live: bool
    tag: str
    value: str
    approvals: str | None = None
    request_id: str | None = None


class GovernanceStatus(Answer):
    model: str
    version: str
    covered: bool
    status: str
    rule: str | None = None
    approvals: str | None = None
    fairness: str | None = None
    artifact_digest: str | None = None
    request_id: str | None = None
    page_link: str | None = None
    targets: list[StatusTarget] | None = None
    tags: dict[str, Any] | None = None


class PromotionResult(Answer):
    model: str
    version: str
    target_kind: str
    target: str
    action: str | None = None
    previous_version: str | None = None
    request_id: str | None = None
    override_reason: str | None = None
    audit_seq: int | None = None
    rule: str | None = None
    reason: str | None = None
    alone: bool | None = None


class PromotionCheck(Answer):
    protected: bool
    allowed: bool
    message: str
    model: str | None = None
    version: str | None = None
    target_kind: str | None = None
    target: str | None = None
    action: str | None = None
    missing: list[str] | None = None


class EffectivePolicy(Answer):
    model: str
    requirements: list[dict[str, Any]]
    protected: bool
    policy_source: str | None = None
    policy_digest: str | None = None
    rule: dict[str, Any] | None = None
    rule_name: str | None = None
    reviewers: list[str] | None = None


class VersionQuery(Query):
    model: Name = Field(description=_MODEL)
    version: VersionText = Field(description="Model version.")


class VersionBody(Body):
    model: Name = Field(description=_MODEL)
    version: VersionText = Field(description="Model version.")


class PromoteBody(Body):
    model: Name = Field(description=_MODEL)
    version: VersionText = Field(description="Model version.")
    alias: Name | None = Field(None, description=_ALIAS)
    stage: Name | None = Field(None, description=_STAGE)
    request_id: Id | None = Field(None, description="The approved request to apply.")
    override_reason: LongText | None = Field(None, description=_OVERRIDE)
    archive_existing_versions: bool | None = Field(
        None, description="For stages: move the versions now in the stage to Archived.")


class RollbackBody(Body):
    model: Name = Field(description=_MODEL)
    alias: Name = Field(description=_ALIAS)
    reason: LongText = Field(description="Why the alias goes back (mandatory; recorded in the audit log and "
                                         "the promotion.rolled_back event).")
    request_id: Id | None = Field(None, description="The approved rollback request to apply.")
    override_reason: LongText | None = Field(None, description=_OVERRIDE)


class CheckQuery(Query):
    model: Name = Field(description=_MODEL)
    version: VersionText = Field(description="Model version.")
    alias: Name | None = Field(None, description=_ALIAS)
    stage: Name | None = Field(None, description=_STAGE)
    action: ChangeAction | None = Field(None, description="The change (default promote).")


class PolicyQuery(Query):
    model: Name = Field(description=_MODEL)


OPERATIONS = (
    Operation("status_get", "GET", "/status", "The governance status of a model version", "status", "read",
              query=VersionQuery, response=GovernanceStatus),
    Operation("status_refresh", "POST", "/status/refresh", "Recompute a version's status and rewrite its gov tags",
              "status", "update", body=VersionBody, response=GovernanceStatus),
    Operation("promote", "POST", "/promote",
              "Put a version under a protected alias or stage (applies its approved request)", "promotion",
              "update", body=PromoteBody, response=PromotionResult),
    Operation("rollback", "POST", "/rollback", "Point an alias back to the version it pointed to before",
              "promotion", "update", body=RollbackBody, response=PromotionResult),
    Operation("promotion_check", "GET", "/promote/check",
              "Dry run: would the policy allow this change now, and what is missing", "promotion", "read",
              query=CheckQuery, response=PromotionCheck),
    Operation("policy_get", "GET", "/policy",
              "The policy rule that applies to a model and what changing its targets requires", "policy", "read",
              query=PolicyQuery, response=EffectivePolicy),
)
