"""Approval request views. Deciding is the approval store's call: it refuses (403) whoever the
policy does not make an eligible reviewer, and self-approval where the rule forbids it."""

from __future__ import annotations

import base64
import json

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.policy import is_eligible_reviewer
from mlflow_registry_ext.server.views._serves import serves

_SCAN = 1000


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("Malformed page_token") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= 10**9:
        raise InvalidInput("Malformed page_token")
    return offset


def _reviewable(ctx, user, request) -> bool:
    if not request.is_open or user is None or user == request.requester:
        return False
    if any(d.reviewer == user for d in request.decisions):
        return False
    return is_eligible_reviewer(ctx.policy.rule_for(request.model), user, action=request.action)


@serves("approval_requests_list")
def approval_requests_list(ctx, access, model, version, status, requester, reviewable, limit, page_token):
    store = ctx.governed_store()
    limit = limit or 100
    offset = _offset(page_token)
    if model is not None:
        access.require_read(model)
    if reviewable and status is None:
        status = "pending"
    # Filters the store has no column for are applied here, over one bounded scan.
    found = store.approvals.list(model=model, version=version, status=status, limit=offset + limit + _SCAN)
    matching = [
        r for r in found
        if (requester is None or r.requester == requester)
        and (not reviewable or _reviewable(ctx, access.user, r))
        and access.can_read(r.model)
    ]
    page = matching[offset : offset + limit]
    more = len(matching) > offset + limit
    return {"requests": page, "next_page_token": _token(offset + limit) if more else None}


@serves("approval_requests_create")
def approval_requests_create(ctx, access, model, version, alias, stage, comment, action):
    store = ctx.governed_store()
    return store.approvals.create(model, version, alias=alias, stage=stage, action=action or "promote",
                                  comment=comment)


def _load(ctx, access, request_id):
    store = ctx.governed_store()
    request = store.approvals.get(request_id)
    access.require_read(request.model)
    return store


@serves("approval_requests_get")
def approval_requests_get(ctx, access, request_id):
    request = ctx.governed_store().approvals.get(request_id)
    access.require_read(request.model)
    return request


@serves("approval_requests_approve")
def approval_requests_approve(ctx, access, request_id, comment):
    return _load(ctx, access, request_id).approvals.approve(request_id, comment=comment)


@serves("approval_requests_reject")
def approval_requests_reject(ctx, access, request_id, comment):
    return _load(ctx, access, request_id).approvals.reject(request_id, comment=comment)


@serves("approval_requests_cancel")
def approval_requests_cancel(ctx, access, request_id, comment):
    return _load(ctx, access, request_id).approvals.cancel(request_id, comment=comment)


@serves("approval_requests_comment")
def approval_requests_comment(ctx, access, request_id, text):
    return _load(ctx, access, request_id).approvals.comment(request_id, text)
