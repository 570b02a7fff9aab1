"""Approval requests: create, decide, cancel, comment, expire; each state change audited.

A request asks to put one version under one protected alias or stage (``promote``), to re-point
an alias to the version it pointed to before (``rollback``), or to delete a protected alias
(``delete_alias``). Eligible reviewers approve or reject it; it becomes ``approved`` once the
quorum of counting approvals is reached, ``rejected`` on a rejection, ``cancelled`` by its
requester or an admin, ``expired`` when the rule's ``expires_after`` passes, and ``applied`` when
the change it asked for is made. ``pending`` and ``approved`` are *open*.

Concurrency: every decision locks the request's row first (``SELECT ... FOR UPDATE``; SQLite
transactions take the write lock when they begin), and status changes are conditional updates
(``... WHERE status = 'pending'``), so two reviewers approving at once produce exactly one
transition, in any number of processes. A reviewer's decision is one row (primary key request and
reviewer): approving twice counts once.

Example:
    >>> with as_user("erin"):
    ...     request = store.approvals.create("fraud-model", "1", alias="production")
    >>> with as_user("alice"):
    ...     store.approvals.approve(request.id, comment="LGTM").approvals_text
    '1/2'
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Callable, Iterable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from mlflow_registry_ext import identity
from mlflow_registry_ext.db.scope import current_workspace, in_workspace
from mlflow_registry_ext.entities import OPEN_STATUSES, REQUEST_STATUSES, ApprovalRequest, fields_from
from mlflow_registry_ext.errors import AlreadyExists, InvalidInput, PermissionDenied, missing_as_not_found
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.approvals.inputs import clean_comment, parse_target, parse_version
from mlflow_registry_ext.approvals.records import (
    add_note,
    load_decisions,
    load_request,
    lock_request,
    open_request_id,
    request_from_row,
    upsert_decision,
)
from mlflow_registry_ext.approvals.states import (
    APPLIED,
    APPROVED,
    PENDING,
    Step,
    require_open,
    status_for_count,
    target_fields,
    transition,
)
from mlflow_registry_ext.approvals.tables import open_key, requests_table
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.events.payloads import ApprovalRequestPayload
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.db.incarnation import belongs_to, live_model_created_ms, of_incarnation
from mlflow_registry_ext.approvals.rollback_targets import check_rollback_target
from mlflow_registry_ext.approvals.version_state import (
    VersionState,
    alias_version,
    read_digest,
    read_version,
)
from mlflow_registry_ext.policy import (
    ACTIONS,
    ApprovalFact,
    ApprovalRequirement,
    Decision,
    Policy,
    PromotionFacts,
    Rule,
    authorize_reviewer,
    bound_state_hash,
    evaluate,
    format_duration,
)
from mlflow_registry_ext.times import utc_now_ms

__all__ = [
    "ApprovalStore",
    "promotion_facts",
    "requirement_for",
    "previous_alias_version",
]


def requirement_for(rule: Rule, action: str) -> ApprovalRequirement:
    """The approvals ``action`` needs under ``rule`` (rollbacks have their own)."""
    return rule.rollback.approvals if action == "rollback" else rule.approvals


def promotion_facts(request: ApprovalRequest, state: VersionState, **evidence: Any) -> PromotionFacts:
    """The facts :func:`~mlflow_registry_ext.policy.evaluate` judges ``request`` on: its target,
    requester and approvals, the version's tags and description now, and ``evidence``, the other
    :class:`~mlflow_registry_ext.policy.PromotionFacts` fields (``fairness``,
    ``current_artifact_digest``, ``security_scan``, ``now``, ``metrics``, ``model_card``)."""
    approvals = tuple(
        fields_from(ApprovalFact, d, approver=d.reviewer, decided_at=d.decided_at_ms)
        for d in request.decisions
        if d.decision == "approve"
    )
    return fields_from(PromotionFacts, request, tags=state.tags, description=state.description, approvals=approvals,
                       approved_artifact_digest=request.artifact_digest, **evidence)


def previous_alias_version(
    engine, model: str, alias: str, current: str | None, incarnation_ms: int | None = None
) -> str | None:
    """The version ``alias`` pointed to before it pointed to ``current``, from the audit log of
    the caller's workspace (and, with ``incarnation_ms``, of that incarnation of the model only).

    Like ``cd -``: rolling back twice returns to where it started.

    Example:
        >>> previous_alias_version(db.read_engine, "fraud-model", "production", "1") is None  # never moved
        True
    """
    history = audit_log.alias_history(engine, model, alias, incarnation_ms=incarnation_ms)
    for item in reversed(history):
        if item.version is not None and item.version != current:
            return item.version
    return None


_now_ms = utc_now_ms


class ApprovalStore:
    """Approval requests of one registry, under one policy.

    Args:
        policy: The policy, read once per process.
        db: The governance database.
        inner_store: The wrapped MLflow store, to read model versions.
        on_change: Called with ``(model, version)`` after a request's state changed (the
            registry store refreshes the status tags there).
        clock: Milliseconds since the epoch; tests pass their own.
    """

    def __init__(
        self,
        policy: Policy,
        db: GovernanceDatabase,
        inner_store: Any,
        on_change: Callable[[str, str], None] | None = None,
        clock: Callable[[], int] = _now_ms,
    ):
        self.policy = policy
        self.db = db
        self.inner = inner_store
        self.on_change = on_change
        self.clock = clock

    # -- reading ----------------------------------------------------------------------------

    def get(self, request_id: str) -> ApprovalRequest:
        """The request with its decisions and timeline.

        Raises:
            NotFound: No request has this id.
        """
        self._expire_if_due(request_id)
        with self.db.reading() as engine, engine.connect() as conn:
            return load_request(conn, request_id)

    def list(
        self,
        model: str | None = None,
        version: str | int | None = None,
        status: str | None = None,
        limit: int = 1000,
    ) -> list[ApprovalRequest]:
        """Requests of the caller's workspace, newest first, with their decisions (``get`` adds
        the timeline).

        Raises:
            InvalidInput: An unknown status or a non-positive limit.
        """
        if status is not None and status not in REQUEST_STATUSES:
            raise InvalidInput(f"Unknown status {status!r}; one of: {', '.join(REQUEST_STATUSES)}")
        if limit <= 0:
            raise InvalidInput(f"limit must be positive, got {limit}")
        self.expire_due()
        t = requests_table
        stmt = select(t).where(in_workspace(t)).order_by(t.c.created_at_ms.desc(), t.c.id).limit(limit)
        if model is not None:
            stmt = stmt.where(t.c.model == model)
        if version is not None:
            stmt = stmt.where(t.c.version == str(version))
        if status is not None:
            stmt = stmt.where(t.c.status == status)
        with self.db.reading() as engine, engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
            decisions = load_decisions(conn, [r["id"] for r in rows])
        return [request_from_row(r, decisions.get(r["id"], ()), ()) for r in rows]

    def open_requests(
        self,
        model: str,
        version: str | None = None,
        *,
        target_kind: str | None = None,
        target: str | None = None,
        actions: Iterable[str] | None = None,
    ) -> list[ApprovalRequest]:
        """Open requests of a model (a version, a target) in the caller's workspace, newest first,
        with their decisions."""
        t = requests_table
        conds = [in_workspace(t), t.c.model == model, t.c.status.in_(OPEN_STATUSES)]
        if version is not None:
            conds.append(t.c.version == str(version))
        if target_kind is not None:
            conds += [t.c.target_kind == target_kind, t.c.target == target]
        if actions is not None:
            conds.append(t.c.action.in_(list(actions)))
        stmt = select(t).where(and_(*conds)).order_by(t.c.created_at_ms.desc(), t.c.id)
        with self.db.reading() as engine, engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
            if not rows:
                return []
            decisions = load_decisions(conn, [r["id"] for r in rows])
        return [request_from_row(r, decisions.get(r["id"], ()), ()) for r in rows]

    def latest_for_version(
        self, model: str, version: str, created_ms: int | None = None, model_created_ms: int | None = None
    ) -> ApprovalRequest | None:
        """The newest request of the version that was not cancelled (what its status tags show).

        With ``created_ms`` (the version's creation) and ``model_created_ms`` (the model's),
        requests made for an earlier version of the same name and number, or for an earlier
        model of the same name (deleted and created again), are ignored.
        """
        t = requests_table
        conds = [in_workspace(t), t.c.model == model, t.c.version == str(version), t.c.status != "cancelled"]
        conds.append(of_incarnation(t, model_created_ms))
        if created_ms is not None:
            conds.append(or_(t.c.version_created_ms == created_ms, t.c.version_created_ms.is_(None)))
        stmt = select(t).where(and_(*conds)).order_by(t.c.created_at_ms.desc(), t.c.id).limit(1)
        with self.db.reading() as engine, engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return request_from_row(row) if row else None

    def latest_per_target(
        self, model: str, version: str, created_ms: int | None = None, model_created_ms: int | None = None
    ) -> dict[tuple[str, str], ApprovalRequest]:
        """The newest promotion or rollback request of the version for each target that was not
        cancelled, keyed by ``(target_kind, target)`` (what its per-target tags show).

        ``created_ms`` and ``model_created_ms`` ignore requests of an earlier version or model of
        the same name, as in :meth:`latest_for_version`.
        """
        t = requests_table
        conds = [
            in_workspace(t),
            t.c.model == model,
            t.c.version == str(version),
            t.c.status != "cancelled",
            t.c.action.in_(("promote", "rollback")),
            of_incarnation(t, model_created_ms),
        ]
        if created_ms is not None:
            conds.append(or_(t.c.version_created_ms == created_ms, t.c.version_created_ms.is_(None)))
        stmt = select(t).where(and_(*conds)).order_by(t.c.created_at_ms.desc(), t.c.id)
        newest: dict[tuple[str, str], ApprovalRequest] = {}
        with self.db.reading() as engine, engine.connect() as conn:
            for row in conn.execute(stmt).mappings():
                newest.setdefault((row["target_kind"], row["target"]), request_from_row(row))
        return newest

    # -- requesting -------------------------------------------------------------------------

    def create(
        self,
        model: str,
        version: str | int,
        *,
        alias: str | None = None,
        stage: str | None = None,
        action: str = "promote",
        comment: str | None = None,
    ) -> ApprovalRequest:
        """Ask for approval of a change; the actor is the requester.

        Args:
            model: Registered model name.
            version: The version to promote; for ``rollback`` the version the alias pointed to
                before, for ``delete_alias`` the version it points to now.
            alias: The protected alias (or give ``stage``).
            stage: The protected stage.
            action: ``promote``, ``rollback`` or ``delete_alias``.
            comment: Why.

        Raises:
            InvalidInput: No target or two, a name MLflow would reject, a target the policy does
                not protect, or a version that does not fit the action.
            NotFound: The model version does not exist.
            AlreadyExists: An open request for the same change exists (its id is named).
        """
        if action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
        kind, target = parse_target(alias, stage)
        version = parse_version(version)
        if action != "promote" and kind != "alias":
            raise InvalidInput(f"A {action} request applies to an alias, not to a stage")
        comment = clean_comment(comment)
        rule = self._protecting_rule(model, kind, target, action)
        state = self._version(model, version)
        live_ms = live_model_created_ms(self.inner, model)
        from_version = self._check_action(model, version, target, action, state, live_ms, rule)
        digest = None
        if rule.require.artifact_digest and action != "delete_alias":
            reading = read_digest(self.inner, model, version)
            if reading.digest is None:
                raise InvalidInput(
                    f"{rule.describe()} binds approvals to the artifact digest, and it is unknown: "
                    f"{reading.problem}"
                )
            digest = reading.digest
        requirement = requirement_for(rule, action)
        actor = identity.current_actor()
        now = self.clock()
        expires = None
        if requirement.expires_after:
            expires = now + int(requirement.expires_after.total_seconds() * 1000)
        request_id = uuid.uuid4().hex
        workspace = current_workspace()
        row = {
            "id": request_id,
            "workspace": workspace,
            "model_created_ms": live_ms,
            "model": model,
            "version": version,
            "target_kind": kind,
            "target": target,
            "action": action,
            "status": PENDING,
            "open_key": open_key(model, version, kind, target, action, workspace),
            "requester": actor,
            "version_creator": state.creator,
            "version_created_ms": state.created_ms,
            "created_at_ms": now,
            "updated_at_ms": now,
            "expires_at_ms": expires,
            "rule": rule.describe(),
            "rule_index": rule.index,
            "policy_digest": self.policy.digest or None,
            "artifact_digest": digest,
            "from_version": from_version,
            "required": requirement.required,
            "approvals": 0,
        }
        recorded = {
            **self._rule_details(rule),
            "required": requirement.required,
            "expires_at_ms": expires,
            "artifact_digest": digest,
            "from_version": from_version,
        }
        draft = AuditDraft(
            action="approval_request.created",
            model=model,
            version=version,
            alias=target if kind == "alias" else None,
            after={"status": PENDING, **target_fields(kind, target), "action": action},
            details={"request_id": request_id, "comment": comment, **recorded},
            payload=ApprovalRequestPayload(
                request_id=request_id,
                name=model,
                version=None if version is None else str(version),
                alias=target if kind == "alias" else None,
                stage=target if kind == "stage" else None,
                status=PENDING,
                comment=comment,
                details={**recorded, "action": action},
            ),
        )
        try:
            with self.db.transaction() as conn:
                self._expire(conn, now, model=model)
                conn.execute(requests_table.insert().values(**row))
                if comment:
                    add_note(conn, request_id, actor, "request", comment, now)
                audit_log.append(conn, [draft])
        except SqlIntegrityError:
            existing = self._open_id(model, version, kind, target, action)
            raise AlreadyExists(
                f"An approval request for {_describe(model, version, kind, target, action)} is "
                f"already open: {existing}"
            ) from None
        self._changed(model, version)
        return self.get(request_id)

    # -- deciding ---------------------------------------------------------------------------

    def approve(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Approve as the current actor; approving again renews the same reviewer's approval.

        Raises:
            NotFound: No such request.
            InvalidInput: The request is closed (applied, rejected, cancelled, expired), or the
                version's artifacts changed since it was made.
            PermissionDenied: The actor is not an eligible reviewer, or is the requester or the
                version's creator and the rule does not allow self-approval.
        """
        return self._decide(request_id, "approve", comment)

    def reject(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Reject as the current actor: the request becomes ``rejected``. Same errors as approve."""
        return self._decide(request_id, "reject", comment)

    def _decide(self, request_id: str, decision: str, comment: str | None) -> ApprovalRequest:
        comment = clean_comment(comment)
        request = self.get(request_id)
        require_open(request, "approved" if decision == "approve" else "rejected")
        rule = self._protecting_rule(request.model, request.target_kind, request.target, request.action)
        who = identity.current()
        self.policy.require_review_identity(who, decision)
        actor = who.actor
        authorize_reviewer(
            rule,
            actor,
            requester=request.requester,
            version_creator=request.version_creator,
            action=request.action,
        )
        state = self._version(request.model, request.version, request)
        digest = None
        if decision == "approve" and rule.require.artifact_digest and request.action != "delete_alias":
            reading = read_digest(self.inner, request.model, request.version)
            if reading.digest is None:
                raise InvalidInput(f"Cannot bind the approval to the artifacts: {reading.problem}")
            if request.artifact_digest and reading.digest != request.artifact_digest:
                raise InvalidInput(
                    f"The artifacts of version {request.version} changed since request {request.id} "
                    "was made; it cannot be approved: make a new request"
                )
            digest = reading.digest
        now = self.clock()
        bound = bound_state_hash(rule, state.tags, state.description)
        with self.db.transaction() as conn:
            row = lock_request(conn, request_id)
            current = request_from_row(row)
            require_open(current, "approved" if decision == "approve" else "rejected", now=now)
            upsert_decision(conn, request_id, actor, decision, now, comment, digest, bound)
            if comment:
                add_note(conn, request_id, actor, decision, comment, now)
            decisions = load_decisions(conn, [request_id]).get(request_id, ())
            decided = dataclasses.replace(current, decisions=decisions)
            drafts = self._decision_drafts(conn, rule, decided, state, decision, actor, comment, now)
            audit_log.append(conn, drafts)
        self._changed(request.model, request.version)
        return self.get(request_id)

    def _decision_drafts(self, conn, rule, request, state, decision, actor, comment, now) -> list[AuditDraft]:
        if decision == "reject":
            step = self._step(rule, request, "reject", after={"decision": "reject", "reviewer": actor},
                              comment=comment)
            self._close(conn, request, step.status, f"rejected by {actor}", now)
            return [step.draft]
        counted = self._count(rule, request, state, now)
        status = self._settle(conn, request, counted, now)
        approvals = f"{counted.counted}/{counted.required}"
        drafts = [
            self._step(
                rule, request, "review", to=status, after={"decision": "approve", "reviewer": actor},
                comment=comment, approvals=approvals, counted_approvers=list(counted.counted_approvers),
                ignored=[dataclasses.asdict(i) for i in counted.ignored],
            ).draft
        ]
        if status == APPROVED and request.status == PENDING:
            drafts.append(self._step(rule, request, "approve", approvals=approvals,
                                     approvers=list(counted.counted_approvers)).draft)
        return drafts

    def cancel(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Withdraw an open request: its requester may, and so may whoever may override the rule.

        Raises:
            NotFound: No such request.
            InvalidInput: It is already closed.
            PermissionDenied: The actor is neither the requester nor an admin of the rule.
        """
        comment = clean_comment(comment)
        request = self.get(request_id)
        require_open(request, "cancelled")
        actor = identity.current_actor()
        rule = self.policy.rule_for(request.model)
        admin = rule is not None and rule.admin_override.allows(actor)
        if actor != request.requester and not admin:
            raise PermissionDenied(
                f"Only the requester ({request.requester}) or an admin of the rule may cancel "
                f"request {request_id}"
            )
        now = self.clock()
        with self.db.transaction() as conn:
            current = request_from_row(lock_request(conn, request_id))
            require_open(current, "cancelled", now=now)
            step = self._step(rule, current, "cancel", comment=comment)
            self._close(conn, current, step.status, f"cancelled by {actor}", now)
            if comment:
                add_note(conn, request_id, actor, "cancel", comment, now)
            audit_log.append(conn, [step.draft])
        self._changed(request.model, request.version)
        return self.get(request_id)

    def comment(self, request_id: str, text: str) -> ApprovalRequest:
        """Add a comment to the request's timeline, without deciding. Anyone may comment.

        Raises:
            NotFound: No such request.
            InvalidInput: An empty comment.
        """
        text = clean_comment(text, required=True)
        request = self.get(request_id)
        actor = identity.current_actor()
        now = self.clock()
        rule = self.policy.rule_for(request.model)
        with self.db.transaction() as conn:
            add_note(conn, request_id, actor, "comment", text, now)
            audit_log.append(conn, [self._step(rule, request, "comment", after={"comment": text}).draft])
        return self.get(request_id)

    # -- what the gate and the registry store call ------------------------------------------

    def claim(self, request: ApprovalRequest, decision: Decision) -> bool:
        """Mark an open request ``applied`` just before its change is made; False if it was not
        open any more (someone else applied, cancelled or rejected it meanwhile)."""
        now = self.clock()
        t = requests_table
        with self.db.transaction() as conn:
            result = conn.execute(
                update(t)
                .where(t.c.id == request.id, t.c.status.in_(OPEN_STATUSES))
                .values(
                    status=APPLIED,
                    open_key=None,
                    applied_at_ms=now,
                    applied_by=identity.current_actor(),
                    approvals=decision.counted,
                    updated_at_ms=now,
                )
            )
        return result.rowcount == 1

    def release(self, request: ApprovalRequest) -> None:
        """Undo :meth:`claim` when the change failed, so the request can be applied again."""
        t = requests_table
        key = open_key(
            request.model, request.version, request.target_kind, request.target, request.action, request.workspace
        )
        restored = {
            "status": request.status,
            "applied_at_ms": None,
            "applied_by": None,
            "updated_at_ms": self.clock(),
        }
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    update(t)
                    .where(t.c.id == request.id, t.c.status == "applied")
                    .values(open_key=key, **restored)
                )
        except SqlIntegrityError:
            # A newer request for the same change was opened in the meantime; that one stands.
            with self.db.transaction() as conn:
                conn.execute(
                    update(t)
                    .where(t.c.id == request.id, t.c.status == "applied")
                    .values(status="cancelled", closed_reason="the change failed; a newer request replaced it",
                            applied_at_ms=None, applied_by=None)
                )

    def close_open(self, model: str, version: str | None, reason: str) -> list[ApprovalRequest]:
        """Cancel the open requests of a version (or of every version) that is gone or renamed."""
        if not self.open_requests(model, version):
            return []
        now = self.clock()
        rule = self.policy.rule_for(model)
        closed = []
        with self.db.transaction() as conn:
            t = requests_table
            conds = [in_workspace(t), t.c.model == model, t.c.status.in_(OPEN_STATUSES)]
            if version is not None:
                conds.append(t.c.version == str(version))
            rows = conn.execute(select(t).where(and_(*conds)).with_for_update()).mappings().all()
            drafts = []
            for row in rows:
                request = request_from_row(row)
                step = self._step(rule, request, "cancel", reason=reason, automatic=True)
                self._close(conn, request, step.status, reason, now)
                drafts.append(step.draft)
                closed.append(request)
            audit_log.append(conn, drafts)
        return closed

    def recount(self, model: str, version: str) -> list[ApprovalRequest]:
        """Count the open requests of a version again after its tags or description changed;
        returns the requests that were open.

        Approvals given for another state of the version are stale and stop counting, so an
        ``approved`` request can fall back to ``pending`` (``approval_request.reopened``), and
        climb back when the state returns to what was approved.
        """
        requests = self.open_requests(model, version)
        if not requests:
            return []
        rule = self.policy.rule_for(model)
        if rule is None:
            return []
        state = self._version(model, version)
        now = self.clock()
        with self.db.transaction() as conn:
            drafts = []
            for request in requests:
                if not rule.protects(request.target_kind, request.target):
                    continue
                row = lock_request(conn, request.id)
                current = dataclasses.replace(
                    request_from_row(row), decisions=load_decisions(conn, [request.id]).get(request.id, ())
                )
                if not current.is_open:
                    continue
                counted = self._count(rule, current, state, now)
                status = self._settle(conn, current, counted, now)
                if status != current.status:
                    reason = (
                        "the version is again in the state that was approved"
                        if status == APPROVED
                        else "approvals went stale: a required tag or the description changed"
                    )
                    event = "approve" if status == APPROVED else "reopen"
                    drafts.append(self._step(rule, current, event, approvals=f"{counted.counted}/{counted.required}",
                                             reason=reason).draft)
            audit_log.append(conn, drafts)
        return requests

    def expire_due(self) -> int:
        """Expire every open request past its deadline; returns how many. Runs lazily before
        reads and writes, so a request is seen expired everywhere as soon as it is due."""
        now = self.clock()
        t = requests_table
        probe = (
            select(t.c.id)
            .where(in_workspace(t), t.c.status.in_(OPEN_STATUSES), t.c.expires_at_ms <= now)
            .limit(1)
        )
        with self.db.reading() as engine, engine.connect() as conn:
            if conn.execute(probe).first() is None:
                return 0
        with self.db.transaction() as conn:
            expired = self._expire(conn, now)
        for request in expired:
            self._changed(request.model, request.version)
        return len(expired)

    # -- internals --------------------------------------------------------------------------

    def _expire_if_due(self, request_id: str) -> None:
        t = requests_table
        now = self.clock()
        probe = select(t.c.id).where(
            t.c.id == request_id, in_workspace(t), t.c.status.in_(OPEN_STATUSES), t.c.expires_at_ms <= now
        )
        with self.db.reading() as engine, engine.connect() as conn:
            if conn.execute(probe).first() is None:
                return
        with self.db.transaction() as conn:
            expired = self._expire(conn, now, request_id=request_id)
        for request in expired:
            self._changed(request.model, request.version)

    def _expire(self, conn: Connection, now: int, *, model: str | None = None, request_id: str | None = None):
        t = requests_table
        # Only the caller's workspace: expiring refreshes status tags, which MLflow resolves in
        # the caller's workspace.
        conds = [in_workspace(t), t.c.status.in_(OPEN_STATUSES), t.c.expires_at_ms <= now]
        if model is not None:
            conds.append(t.c.model == model)
        if request_id is not None:
            conds.append(t.c.id == request_id)
        rows = conn.execute(select(t).where(and_(*conds)).with_for_update()).mappings().all()
        expired, drafts = [], []
        for row in rows:
            request = request_from_row(row)
            rule = self.policy.rule_for(request.model)
            requirement = requirement_for(rule, request.action) if rule else None
            after = format_duration(requirement.expires_after) if requirement else None
            reason = f"not applied within {after}" if after else "past its deadline"
            step = self._step(rule, request, "expire", reason=reason, automatic=True)
            if not self._close(conn, request, step.status, reason, now):
                continue
            drafts.append(step.draft)
            expired.append(request)
        audit_log.append(conn, drafts)
        return expired

    def _close(self, conn: Connection, request: ApprovalRequest, status: str, reason: str, now: int) -> bool:
        t = requests_table
        result = conn.execute(
            update(t)
            .where(t.c.id == request.id, t.c.status.in_(OPEN_STATUSES))
            .values(status=status, open_key=None, closed_reason=reason[:1000], updated_at_ms=now)
        )
        return result.rowcount == 1

    def _settle(self, conn: Connection, request: ApprovalRequest, counted: Decision, now: int) -> str:
        """Store the count and move between ``pending`` and ``approved``; the conditional update
        makes the transition happen once, whoever gets there first."""
        t = requests_table
        status = status_for_count(counted)
        values: dict[str, Any] = {"approvals": counted.counted, "updated_at_ms": now}
        if status != request.status:
            result = conn.execute(
                update(t)
                .where(t.c.id == request.id, t.c.status == request.status)
                .values(status=status, **values)
            )
            if result.rowcount == 1:
                return status
            return request.status
        conn.execute(update(t).where(t.c.id == request.id).values(**values))
        return status

    def _count(self, rule: Rule, request: ApprovalRequest, state: VersionState, now: int) -> Decision:
        digest = request.artifact_digest if rule.require.artifact_digest else None
        return evaluate(rule, promotion_facts(request, state, current_artifact_digest=digest, now=now))

    def _protecting_rule(self, model: str, kind: str, target: str, action: str) -> Rule:
        rule = self.policy.rule_for(model)
        if rule is None or not rule.protects(kind, target):
            where = "no policy is loaded"
            if self.policy.rules:
                where = f"no rule of {self.policy.source} protects it"
            raise InvalidInput(
                f"{kind.capitalize()} {target!r} of {model} is not protected ({where}); "
                "changing it needs no approval"
            )
        if action == "delete_alias" and rule.on_delete_alias != "approval":
            needs = "nothing" if rule.on_delete_alias == "allow" else "an admin override"
            raise InvalidInput(
                f"{rule.describe()} says on_delete_alias: {rule.on_delete_alias}; deleting alias "
                f"{target!r} needs {needs}, not an approval"
            )
        return rule

    def _version(self, model: str, version: str, request: ApprovalRequest | None = None) -> VersionState:
        with missing_as_not_found(f"Model version {model} {version} does not exist"):
            state = read_version(self.inner, model, version)
        if request is not None and request.version_created_ms not in (None, state.created_ms):
            raise InvalidInput(
                f"Version {version} of {model} was deleted and created again after request "
                f"{request.id}; the request does not apply to it"
            )
        if request is not None and not belongs_to(
            request.model_created_ms, request.created_at_ms, live_model_created_ms(self.inner, model)
        ):
            raise InvalidInput(
                f"Model {model} was deleted and created again after request {request.id}; the "
                "request does not apply to the new model"
            )
        return state

    def _check_action(
        self, model: str, version: str, alias: str, action: str, state: VersionState, live_ms: int | None,
        rule: Rule,
    ) -> str | None:
        if action == "promote":
            return None
        current = alias_version(self.inner, model, alias)
        if current is None:
            what = action.replace("_", " ")
            raise InvalidInput(f"Alias {alias!r} of {model} is not set; there is nothing to {what}")
        if action == "delete_alias":
            if current != version:
                raise InvalidInput(f"Alias {alias!r} of {model} points to version {current}, not {version}")
            return current
        with self.db.reading() as engine:
            previous = previous_alias_version(engine, model, alias, current, live_ms)
        if previous is None:
            raise InvalidInput(
                f"Alias {alias!r} of {model} has no earlier version in the audit log of this model "
                "to roll back to"
            )
        if previous != version:
            raise InvalidInput(
                f"Rolling back alias {alias!r} of {model} returns it to version {previous} "
                f"(it points to {current} now), not to version {version}"
            )
        check_rollback_target(
            self.db, self.inner, alias, live_ms, state, digest_required=rule.require.artifact_digest
        )
        return current

    def _open_id(self, model, version, kind, target, action) -> str | None:
        with self.db.reading() as engine, engine.connect() as conn:
            return open_request_id(conn, open_key(model, version, kind, target, action, current_workspace()))

    def _rule_details(self, rule: Rule | None) -> dict[str, Any]:
        return {"rule": rule.describe() if rule else None, "policy_digest": self.policy.digest or None}

    def _step(self, rule: Rule | None, request: ApprovalRequest, event: str, **kwargs: Any) -> Step:
        """:func:`~mlflow_registry_ext.approvals.states.transition`, recording ``rule``."""
        recorded = {"request_action": request.action, **self._rule_details(rule)}
        return transition(request, event, recorded=recorded, **kwargs)

    def _changed(self, model: str, version: str) -> None:
        if self.on_change is not None:
            self.on_change(model, version)



def _describe(model: str, version: str, kind: str, target: str, action: str) -> str:
    if action == "delete_alias":
        return f"deleting alias {target!r} of {model}"
    if action == "rollback":
        return f"rolling back alias {target!r} of {model} to version {version}"
    return f"version {version} of {model} to {kind} {target!r}"

