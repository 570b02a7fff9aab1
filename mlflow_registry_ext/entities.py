"""Plain, frozen records the library hands out. No database or web code here.

Times are integer milliseconds since the epoch (UTC), as in MLflow's own entities.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = [
    "known_fields",
    "fields_from",
    "values_of",
    "AuditEntry",
    "AliasHistoryItem",
    "REQUEST_STATUSES",
    "OPEN_STATUSES",
    "ReviewDecision",
    "ApprovalComment",
    "ApprovalRequest",
    "GovernanceStatus",
    "TargetStatus",
    "PromotionResult",
    "PromotionCheck",
]


def known_fields(cls, data: dict[str, Any]) -> dict[str, Any]:
    """The items of ``data`` that name fields of the dataclass ``cls``: what ``from_dict`` builds
    from, so keys a newer server adds are dropped instead of failing.

    Example:
        >>> known_fields(AliasHistoryItem, {"version": "3", "added_later": True})
        {'version': '3'}
    """
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def fields_from(cls, source: Any, **values: Any):
    """A ``cls`` (a dataclass) built from the attributes of ``source`` (a row, a record) that share
    its field names, with ``values`` given or overriding; a field ``source`` lacks keeps its
    default.

    Example:
        >>> from types import SimpleNamespace
        >>> row = SimpleNamespace(model="m", alias="production", version="3", since_ms=5,
        ...     actor="alice", seq=9, stored_only_here=1)
        >>> item = fields_from(AliasHistoryItem, row, action="model_version_alias.created")
        >>> item.version, item.seq, item.action
        ('3', 9, 'model_version_alias.created')
    """
    for field in dataclasses.fields(cls):
        if field.name not in values and hasattr(source, field.name):
            values[field.name] = getattr(source, field.name)
    return cls(**values)


def values_of(source: Any, *names: str) -> dict[str, Any]:
    """The attributes ``names`` of ``source``, by name, in that order.

    Example:
        >>> from types import SimpleNamespace
        >>> values_of(SimpleNamespace(model="m", version="3", secret="x"), "model", "version")
        {'model': 'm', 'version': '3'}
    """
    return {name: getattr(source, name) for name in names}


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One link of the audit chain: a registry or governance change.

    Attributes:
        seq: Position in the chain, from 1, without gaps.
        entry_id: A stable unique id (also the webhook event id of the change).
        timestamp_ms: When the change was committed.
        actor: Who made it (the authenticated user, or the in-process identity).
        action: What happened, named like MLflow's webhook events, e.g.
            ``model_version_alias.created`` or ``approval_request.approved``.
        model: Registered model name, if any.
        version: Model version, if any.
        alias: Alias, if any.
        before: The changed values before the change (``{}`` for a creation).
        after: The changed values after the change (``{}`` for a deletion).
        details: Anything else worth keeping (e.g. the policy rule that applied).
        request_id: The HTTP request id when served by the server.
        client_addr: The client address when served by the server.
        actor_source: How the actor was established: ``authenticated`` (server login),
            ``proxy`` (trusted proxy header), ``environment`` (``MLFLOW_TRACKING_USERNAME``) or
            ``os`` (the OS user); ``None`` on entries written before it was recorded.
        workspace: The MLflow workspace the change happened in (``default`` without workspaces).
        prev_hash: ``hash`` of entry ``seq - 1`` (64 zeros for the first).
        hash: SHA-256 over the canonical encoding of this entry and ``prev_hash``.

    Example:
        >>> entry = AuditEntry(seq=4, entry_id="e4", timestamp_ms=0, actor="alice",
        ...     action="model_version_alias.created", model="fraud-model", alias="production",
        ...     before={"version": "3"}, after={"version": "4"})
        >>> entry.action, entry.before, entry.after
        ('model_version_alias.created', {'version': '3'}, {'version': '4'})
    """

    seq: int
    entry_id: str
    timestamp_ms: int
    actor: str
    action: str
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    after: dict[str, Any] = dataclasses.field(default_factory=dict)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    request_id: str | None = None
    client_addr: str | None = None
    actor_source: str | None = None
    workspace: str = "default"
    prev_hash: str = ""
    hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        return cls(**known_fields(cls, data))


@dataclasses.dataclass(frozen=True)
class AliasHistoryItem:
    """Where an alias pointed from ``since_ms`` on, and who moved it there.

    ``version`` is ``None`` for a period in which the alias did not exist (after a deletion).
    """

    model: str
    alias: str
    version: str | None
    since_ms: int
    actor: str
    seq: int
    action: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: Every status an approval request can have. ``pending`` and ``approved`` are *open*: they can
#: still be decided, cancelled, expire, or (when the policy is satisfied) be applied.
REQUEST_STATUSES: tuple[str, ...] = ("pending", "approved", "applied", "rejected", "cancelled", "expired")

#: The statuses of a request that is still open.
OPEN_STATUSES: tuple[str, ...] = ("pending", "approved")


@dataclasses.dataclass(frozen=True)
class ReviewDecision:
    """A reviewer's standing decision on an approval request (one per reviewer; the newest wins).

    Attributes:
        reviewer: Who decided.
        decision: ``approve`` or ``reject``.
        decided_at_ms: When.
        comment: The comment given with it, if any.
        artifact_digest: The version's artifact digest when the decision was given, if known.
        bound_state_hash: The version's required tags and description when the decision was
            given (see :func:`mlflow_registry_ext.policy.bound_state_hash`).
    """

    reviewer: str
    decision: str
    decided_at_ms: int
    comment: str | None = None
    artifact_digest: str | None = None
    bound_state_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ApprovalComment:
    """One line of a request's timeline: a comment, or the note given with an action.

    Attributes:
        author: Who wrote it.
        kind: ``comment``, ``request``, ``approve``, ``reject`` or ``cancel``.
        text: The text.
        created_at_ms: When.
    """

    author: str
    kind: str
    text: str
    created_at_ms: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ApprovalRequest:
    """A request to put a model version under a protected alias or stage, and its review.

    Attributes:
        id: Unique id (32 hex digits).
        model: Registered model name.
        version: The model version.
        target_kind: ``alias`` or ``stage``.
        target: The alias name, or the stage in MLflow's spelling (``Production``).
        action: ``promote``, ``rollback`` (re-point an alias to its previous version) or
            ``delete_alias``.
        status: One of :data:`REQUEST_STATUSES`.
        requester: Who asked (the authenticated actor, never a value the caller chose).
        version_creator: Who created the model version.
        created_at_ms: When it was asked for.
        updated_at_ms: When its status or approvals last changed.
        expires_at_ms: When it expires if not applied (from the rule's ``expires_after``).
        rule: The policy rule that applied when it was made, e.g. ``models[0] (match 'fraud-*')``.
        policy_digest: SHA-256 of the policy file it was made under.
        artifact_digest: The version's artifact digest when it was made, if known.
        from_version: For ``rollback`` and ``delete_alias``: the version the alias pointed to
            when the request was made.
        required: Distinct approvals the rule requires.
        approvals: Approvals that counted at the last change (stale, expired and ineligible
            ones excluded).
        applied_at_ms: When it was applied, if it was.
        applied_by: Who applied it.
        closed_reason: Why it was closed without being applied (rejected, cancelled, expired).
        version_created_ms: Creation time of the version it was made for; a version deleted and
            created again under the same number is another version.
        model_created_ms: Creation time of the registered model it was made for (its
            incarnation); a model deleted and created again under the same name is another model.
        workspace: The MLflow workspace the request belongs to.
        decisions: The reviewers' standing decisions.
        comments: The timeline, oldest first.

    Example:
        >>> request = ApprovalRequest(id="9abe", model="fraud-model", version="7",
        ...     target_kind="alias", target="production", action="promote", status="approved",
        ...     requester="erin", created_at_ms=0, updated_at_ms=0, required=2, approvals=2)
        >>> request.status, request.approvals_text, request.alias
        ('approved', '2/2', 'production')
    """

    id: str
    model: str
    version: str
    target_kind: str
    target: str
    action: str
    status: str
    requester: str
    created_at_ms: int
    updated_at_ms: int
    version_creator: str | None = None
    expires_at_ms: int | None = None
    rule: str | None = None
    policy_digest: str | None = None
    artifact_digest: str | None = None
    from_version: str | None = None
    required: int = 0
    approvals: int = 0
    applied_at_ms: int | None = None
    applied_by: str | None = None
    closed_reason: str | None = None
    version_created_ms: int | None = None
    model_created_ms: int | None = None
    workspace: str = "default"
    decisions: tuple[ReviewDecision, ...] = ()
    comments: tuple[ApprovalComment, ...] = ()

    @property
    def alias(self) -> str | None:
        """The alias asked for, or ``None`` for a stage."""
        return self.target if self.target_kind == "alias" else None

    @property
    def stage(self) -> str | None:
        """The stage asked for, or ``None`` for an alias."""
        return self.target if self.target_kind == "stage" else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def approvals_text(self) -> str:
        """``approvals/required``, e.g. ``1/2``."""
        return f"{self.approvals}/{self.required}"

    def describe(self) -> str:
        """E.g. ``version 7 of fraud-model to alias 'production'``."""
        if self.action == "delete_alias":
            return f"deleting alias {self.target!r} of {self.model} (now version {self.version})"
        if self.action == "rollback":
            return f"rolling back alias {self.target!r} of {self.model} to version {self.version}"
        return f"version {self.version} of {self.model} to {self.target_kind} {self.target!r}"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(
            alias=self.alias,
            stage=self.stage,
            approvals_text=self.approvals_text,
            decisions=[d.to_dict() for d in self.decisions],
            comments=[c.to_dict() for c in self.comments],
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalRequest:
        values = known_fields(cls, data)
        values["decisions"] = tuple(ReviewDecision(**d) for d in data.get("decisions") or ())
        values["comments"] = tuple(ApprovalComment(**c) for c in data.get("comments") or ())
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class TargetStatus:
    """Where one version stands for one protected alias or stage, as its ``gov.<target>`` tag
    shows it.

    Attributes:
        target_kind: ``alias`` or ``stage``.
        target: The alias, or the stage in MLflow's spelling.
        status: ``none``, ``pending``, ``approved``, ``applied``, ``rejected`` or ``expired``:
            the newest promotion or rollback request of the version for this target that was
            not cancelled.
        approvals: ``counted/required`` of that request (``0/required`` without one).
        request_id: That request, if any.
        live: Whether the alias points to this version (the version is in the stage) now.
        tag: The tag key, e.g. ``gov.production`` or ``gov.stage.Production``.
        value: The tag value, e.g. ``live``, ``pending 1/2`` or ``approved, fairness failed``.
    """

    target_kind: str
    target: str
    status: str
    approvals: str
    request_id: str | None
    live: bool
    tag: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class GovernanceStatus:
    """The governance state of one model version, as its read-only ``gov`` tags show it.

    Attributes:
        model: Registered model name.
        version: Model version.
        covered: Whether a policy rule protects anything of this model (only then are tags set).
        rule: The rule that applies, if any.
        status: ``none``, ``pending``, ``approved``, ``rejected`` or ``expired``.
        approvals: ``counted/required`` of the newest request (``0/required`` without one).
        fairness: ``passed``, ``failed`` or ``missing``.
        artifact_digest: The artifact digest the newest request was made for (before any
            request: the one recorded when the version was created), if known.
        request_id: The newest request that is not cancelled, if any.
        targets: One :class:`TargetStatus` per protected alias and stage of the rule.
        page_link: The version's page on the reviewer page (the ``gov`` tag).
        tags: The plugin's read-only tags as they are set on the version.
    """

    model: str
    version: str
    covered: bool
    rule: str | None = None
    status: str = "none"
    approvals: str | None = None
    fairness: str | None = None
    artifact_digest: str | None = None
    request_id: str | None = None
    targets: tuple[TargetStatus, ...] = ()
    page_link: str | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["targets"] = [t.to_dict() for t in self.targets]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GovernanceStatus:
        values = known_fields(cls, data)
        values["targets"] = tuple(
            t if isinstance(t, TargetStatus) else TargetStatus(**t) for t in data.get("targets") or ()
        )
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class PromotionResult:
    """What ``promote`` or ``rollback`` changed.

    Attributes:
        model: Registered model name.
        version: The version now under the target.
        target_kind: ``alias`` or ``stage``.
        target: The alias or stage.
        action: ``promote`` or ``rollback``.
        previous_version: What the alias pointed to before (``None``: it was not set).
        request_id: The approval request that was applied, if the target is protected.
        override_reason: Set when an admin override forced the change through.
        audit_seq: The audit entry that records the change.
        rule: The policy rule that applied, if any.
        reason: Why (a rollback's mandatory reason).
        alone: A rollback made without an approval by a user under ``rollback.allowed``.
    """

    model: str
    version: str
    target_kind: str
    target: str
    action: str = "promote"
    previous_version: str | None = None
    request_id: str | None = None
    override_reason: str | None = None
    audit_seq: int | None = None
    rule: str | None = None
    reason: str | None = None
    alone: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromotionResult:
        return cls(**known_fields(cls, data))


@dataclasses.dataclass(frozen=True)
class PromotionCheck:
    """A dry run: would the policy let this change happen now, and if not, what is missing?

    Attributes:
        model: Registered model name.
        version: The version.
        target_kind: ``alias`` or ``stage``.
        target: The alias or stage.
        action: ``promote``, ``rollback`` or ``delete_alias``.
        protected: Whether the policy protects the target at all.
        allowed: Whether the change would be made now.
        message: ``allowed``, or what is missing in one line.
        missing: What is missing, item by item.
        approvals: ``counted/required`` of the request the verdict is about.
        request_id: That request, if one is open.
        rule: The rule that applies, if any.
    """

    model: str
    version: str
    target_kind: str
    target: str
    action: str
    protected: bool
    allowed: bool
    message: str
    missing: tuple[str, ...] = ()
    approvals: str | None = None
    request_id: str | None = None
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["missing"] = list(self.missing)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromotionCheck:
        values = known_fields(cls, data)
        values["missing"] = tuple(values.get("missing") or ())
        return cls(**values)
