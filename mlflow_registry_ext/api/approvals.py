"""Approval requests: create, list, read, and the reviewers' decisions."""

from typing import Any, Literal

from pydantic import Field

from mlflow_registry_ext.api.fields import Id, LongText, Name, QueryBool, QueryInt, VersionText
from mlflow_registry_ext.api.operation import Answer, Body, Operation, Query

RequestStatus = Literal["pending", "approved", "applied", "rejected", "cancelled", "expired"]
ChangeAction = Literal["promote", "rollback", "delete_alias"]
_COMMENT = "A comment shown in the request's timeline."


class ApprovalRequest(Answer):
    id: str
    model: str
    version: str
    target_kind: Literal["alias", "stage"]
    target: str
    status: str
    requester: str
    action: str | None = None
    created_at_ms: int | None = None
    updated_at_ms: int | None = None
    expires_at_ms: int | None = None
    required: int | None = None
    approvals: int | None = None
    approvals_text: str | None = None
    decisions: list[dict[str, Any]] | None = None
    comments: list[dict[str, Any]] | None = None


class ApprovalRequestPage(Answer):
    requests: list[ApprovalRequest]
    next_page_token: str | None = None


class ListQuery(Query):
    model: Name | None = Field(None, description="Only requests about this model.")
    version: VersionText | None = Field(None, description="Only requests about this version.")
    status: RequestStatus | None = Field(None, description="Only requests in this status.")
    requester: Name | None = Field(None, description="Only requests by this user.")
    reviewable: QueryBool | None = Field(None, description="Only open requests the caller may decide.")
    limit: QueryInt(1, 10_000) | None = Field(None, description="Most items to return.")
    page_token: Id | None = Field(None, description="From a previous page's next_page_token.")


class CreateBody(Body):
    model: Name = Field(description="Registered model name.")
    version: VersionText = Field(description="Model version.")
    alias: Name | None = Field(None, description="The protected alias (give this or stage).")
    stage: Name | None = Field(None, description="The protected stage (give this or alias).")
    comment: LongText | None = Field(None, description=_COMMENT)
    action: ChangeAction | None = Field(None, description="What to change (default promote).")


class DecisionBody(Body):
    comment: LongText | None = Field(None, description=_COMMENT)


class CommentBody(Body):
    text: LongText = Field(description=_COMMENT)


_TAG = "approval-requests"
_ONE = "/approval-requests/<request_id>"

OPERATIONS = (
    Operation("approval_requests_list", "GET", "/approval-requests", "List approval requests, newest first", _TAG,
              "user", query=ListQuery, response=ApprovalRequestPage),
    Operation("approval_requests_create", "POST", "/approval-requests",
              "Ask for approval to change a protected alias or stage", _TAG, "update", body=CreateBody,
              response=ApprovalRequest),
    Operation("approval_requests_get", "GET", _ONE, "One approval request with its decisions and timeline", _TAG,
              "read", response=ApprovalRequest),
    Operation("approval_requests_approve", "POST", _ONE + "/approve", "Approve a request (eligible reviewers only)",
              _TAG, "reviewer", body=DecisionBody, response=ApprovalRequest),
    Operation("approval_requests_reject", "POST", _ONE + "/reject", "Reject a request (eligible reviewers only)",
              _TAG, "reviewer", body=DecisionBody, response=ApprovalRequest),
    Operation("approval_requests_cancel", "POST", _ONE + "/cancel",
              "Withdraw an open request (its requester or a rule admin)", _TAG, "reviewer", body=DecisionBody,
              response=ApprovalRequest),
    Operation("approval_requests_comment", "POST", _ONE + "/comment", "Comment on a request without deciding", _TAG,
              "reviewer", body=CommentBody, response=ApprovalRequest),
)
