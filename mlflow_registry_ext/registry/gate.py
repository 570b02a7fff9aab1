"""The gate the governed registry store calls before every change the policy governs.

Setting a protected alias, transitioning to a protected stage, deleting a protected alias,
deleting a version a protected alias points to, deleting or renaming a model that carries
protected aliases: each is judged here *before* the MLflow store is asked to make it. An allowed
promotion claims the approval request it uses (so one approval is applied once); a refusal
raises :class:`~mlflow_registry_ext.errors.PolicyViolation` naming what is missing, after a
``promotion.blocked`` audit entry was committed in a transaction of its own (the refused change
itself is never written). Everything else passes straight through: for a model no rule protects,
the only cost is a dictionary lookup.

:func:`gate_request` lets :mod:`~mlflow_registry_ext.registry.promotion` tell the gate which
request to apply, that a change is a rollback, or that an admin overrides the policy.

Example:
    >>> from mlflow import MlflowClient
    >>> client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)  # governed+sqlite:///...
    >>> client.set_registered_model_alias("fraud-model", "production", "1")
    Traceback (most recent call last):
    mlflow_registry_ext.errors.PolicyViolation: Setting alias 'production' of fraud-model to version 1 is refused by the
    policy (models[0] (match 'fraud-*')): needs 2 approvals from risk-reviewers, dave; has 0; ...
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from typing import Any, Callable, Iterator

from mlflow.entities.model_registry import ModelVersionTag
from mlflow.entities.model_registry.model_version_stages import get_canonical_stage

from mlflow_registry_ext import identity
from mlflow_registry_ext.entities import ApprovalRequest, AuditEntry, fields_from
from mlflow_registry_ext.errors import InvalidInput, PermissionDenied, PolicyViolation
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.signing.approval_signer import ApprovalSigner
from mlflow_registry_ext.approvals.service import ApprovalStore, promotion_facts
from mlflow_registry_ext.registry.evidence_facts import card_facts, metric_facts
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.events.payloads import PromotionBlockedPayload, PromotionRolledBackPayload
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.signing.signatures import SignatureStore
from mlflow_registry_ext.registry.signing_step import SigningStep
from mlflow_registry_ext.db.incarnation import belongs_to, live_model_created_ms
from mlflow_registry_ext.approvals.rollback_targets import check_rollback_target
from mlflow_registry_ext.registry.status_tags import (
    DIGEST_TAG,
    LINK_TAG,
    StatusTags,
    covers,
    initial_tags,
    is_status_tag,
    page_link,
)
from mlflow_registry_ext.approvals.version_state import (
    VersionState,
    alias_version,
    read_digest,
    read_fairness,
    read_security_scan,
    read_version,
)
from mlflow_registry_ext.policy import (
    Decision,
    Policy,
    PromotionFacts,
    Rule,
    authorize_override,
    check_delete_version,
    check_rename,
    evaluate,
)
from mlflow_registry_ext.policy.names import check_alias_name, check_mlflow_alias

__all__ = ["Grant", "Assessment", "GateRequest", "Gate", "gate_request", "note_entries", "rolled_back_draft"]

_RULE_CACHE_LIMIT = 10_000


@dataclasses.dataclass
class Grant:
    """Permission for one governed change, and what to do once it succeeded or failed.

    Attributes:
        change: ``set_alias``, ``transition``, ``delete_alias``, ``delete_version``,
            ``delete_model`` or ``rename``.
        rule: The rule that applied.
        policy_digest: The policy file's digest.
        action: ``promote``, ``rollback`` or ``delete_alias`` for promotions.
        request: The approval request claimed for the change, if any.
        decision: The verdict that allowed it.
        override: ``{"reason", "missing", "entry_seq"}`` when an admin override forced it.
        previous_version: What the alias pointed to before.
        followup: For deletions and renames: the model (and version) whose open requests and
            tags need attention afterwards.
        signature: The model signature and attestation made for the applied request, when a
            signing key is configured.
        alone: For a rollback without an approval under ``rollback.allowed``: what allowed it
            (``{"allowed_by", "approved_by_request"}``).
        reason: The reason a rollback was given.
    """

    change: str
    rule: Rule
    policy_digest: str | None = None
    action: str | None = None
    request: ApprovalRequest | None = None
    decision: Decision | None = None
    override: dict[str, Any] | None = None
    previous_version: str | None = None
    followup: dict[str, Any] | None = None
    signature: Any = None
    alone: dict[str, Any] | None = None
    reason: str | None = None

    def audit_details(self) -> dict[str, Any]:
        """What the change's own audit entry records about the policy (under ``governance``)."""
        details: dict[str, Any] = {"rule": self.rule.describe(), "policy_digest": self.policy_digest}
        if self.action:
            details["action"] = self.action
        if self.request is not None:
            details["approval_request"] = self.request.id
        if self.decision is not None and self.decision.required:
            details["approvals"] = self.decision.approvals_text
            details["approvers"] = list(self.decision.counted_approvers)
        if self.override is not None:
            details["override"] = self.override
        if self.alone is not None:
            details["alone"] = self.alone
        if self.reason is not None:
            details["reason"] = self.reason
        if self.signature is not None:
            details["signature"] = {"id": self.signature.id, "key_id": self.signature.key_id,
                                    "digest": self.signature.digest}
        return {"governance": details}

    def follow_drafts(self, model: str | None, alias: str | None, version: str | None) -> list[AuditDraft]:
        """The entries that follow the change's own: ``promotion.rolled_back`` for a rollback."""
        if self.action != "rollback" or self.change != "set_alias":
            return []
        how = "override" if self.override is not None else "alone" if self.alone is not None else "approved"
        extra: dict[str, Any] = dict(self.alone or {})
        if self.request is not None:
            extra["approval_request"] = self.request.id
        if self.override is not None:
            extra["override_reason"] = self.override["reason"]
        return [rolled_back_draft(model, alias, version, self.previous_version, self.reason, how,
                                  self.rule.describe(), self.policy_digest, extra)]


def rolled_back_draft(
    model: str | None, alias: str | None, version, previous: str | None, reason: str | None, mode: str,
    rule: str | None, policy_digest: str | None, extra: dict[str, Any] | None = None,
) -> AuditDraft:
    """The ``promotion.rolled_back`` entry: who rolled back (the entry's actor, and
    ``actor_source``), from which version to which, why, and how it was allowed (``mode``):
    ``alone`` (a user under ``rollback.allowed``, no approval), ``approved`` (an approved
    rollback request), ``override`` (an admin), or ``unprotected`` (no rule protects the alias)."""
    to_version = None if version is None else str(version)
    from_version = None if previous is None else str(previous)
    actor_source = identity.current().source
    rest: dict[str, Any] = {"rule": rule, "policy_digest": policy_digest, **(extra or {})}
    payload = PromotionRolledBackPayload(
        name=model, alias=alias, version=to_version, previous_version=from_version, reason=reason, mode=mode,
        alone=mode == "alone", actor_source=actor_source, details=rest,
    )
    details: dict[str, Any] = {
        "reason": reason,
        "from_version": from_version,
        "to_version": to_version,
        "mode": mode,
        "alone": mode == "alone",
        "actor_source": actor_source,
        **rest,
    }
    return AuditDraft(action="promotion.rolled_back", model=model, version=to_version, alias=alias,
                      before={"version": from_version}, after={"version": to_version}, details=details,
                      payload=payload)


@dataclasses.dataclass
class Assessment:
    """How the open requests for one change fare against the policy.

    Attributes:
        what: The change, e.g. ``Setting alias 'production' of fraud-model to version 7``.
        action: ``promote``, ``rollback`` or ``delete_alias``.
        allowed: Requests that satisfy the policy now, newest first, with their verdicts.
        request: The request :attr:`decision` is about (the first allowed one, else the one
            closest to its quorum), or ``None`` when no request is open.
        decision: The verdict to report.
        notes: Extra reasons (an unreadable artifact digest, no open request).
    """

    what: str
    action: str
    allowed: list[tuple[ApprovalRequest, Decision]]
    request: ApprovalRequest | None
    decision: Decision
    notes: list[str]

    def message(self) -> str:
        """The verdict with the notes, in one line."""
        return "; ".join([self.decision.message()] + self.notes) if not self.decision.allowed else "allowed"


@dataclasses.dataclass
class GateRequest:
    """What a promotion asks of the gate, and what the gate reports back.

    Attributes:
        action: ``promote`` or ``rollback``; ``None`` lets any fitting request apply.
        request_id: Apply only this approval request.
        override_reason: Force a refused change through as an admin, with this reason.
        reason: Why a rollback is made (:func:`~.promotion.rollback` always gives one); with it,
            a user under ``rollback.allowed`` may roll back without an approval.
        grant: Set by the gate: the grant it gave.
        entries: Set by the store: the audit entries the change produced.
    """

    action: str | None = None
    request_id: str | None = None
    override_reason: str | None = None
    reason: str | None = None
    grant: Grant | None = None
    entries: list[AuditEntry] = dataclasses.field(default_factory=list)


_context: contextvars.ContextVar[GateRequest | None] = contextvars.ContextVar(
    "mlflow_registry_ext_gate_request", default=None
)


@contextlib.contextmanager
def gate_request(**fields: Any) -> Iterator[GateRequest]:
    """Make registry changes inside the block carry ``fields`` (see :class:`GateRequest`).

    Example:
        >>> with as_user("root"), gate_request(override_reason="incident 42") as asked:
        ...     store.set_registered_model_alias("fraud-model", "production", "1")
        >>> asked.grant.override["reason"]
        'incident 42'
    """
    asked = GateRequest(**fields)
    token = _context.set(asked)
    try:
        yield asked
    finally:
        _context.reset(token)


def note_entries(entries: list[AuditEntry]) -> None:
    """Hand the audit entries of a change to the promotion that asked for it, if any."""
    asked = _context.get()
    if asked is not None:
        asked.entries.extend(entries)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class Gate:
    """Judges governed changes for the registry store.

    Args:
        policy: The policy, read once per process.
        db: The governance database.
        inner_store: The wrapped MLflow store (reads only).
        approvals: The approval store.
        status_tags: Keeps the read-only status tags current after a change.
        signer: Signs what an applied request promotes (``None``: nothing is signed).
    """

    def __init__(
        self,
        policy: Policy,
        db: GovernanceDatabase,
        inner_store: Any,
        approvals: ApprovalStore,
        status_tags: StatusTags,
        is_pinned: Callable[[str, str], bool] | None = None,
        signer: ApprovalSigner | None = None,
    ):
        self.is_pinned = is_pinned
        self.policy = policy
        self.signing = SigningStep(signer, SignatureStore(db), inner_store, lambda: approvals.clock(), self._audit)
        self.db = db
        self.inner = inner_store
        self.approvals = approvals
        self.status_tags = status_tags
        self.active = policy.protects_anything
        self._rules: dict[str, Rule | None] = {}

    # -- rules ------------------------------------------------------------------------------

    def rule_for(self, name: str) -> Rule | None:
        """The rule of model ``name`` (memoised: the policy does not change while running)."""
        try:
            return self._rules[name]
        except KeyError:
            rule = self.policy.rule_for(name)
            if len(self._rules) < _RULE_CACHE_LIMIT:
                self._rules[name] = rule
            return rule

    def covering_rule(self, name: str) -> Rule | None:
        """The rule of ``name`` if it protects something (its versions carry status tags)."""
        if not self.active:
            return None
        rule = self.rule_for(name)
        return rule if covers(rule) else None

    # -- tags -------------------------------------------------------------------------------

    def check_tag_write(self, name: str, key: str) -> Rule | None:
        """Refuse a user's write to a ``gov``, ``gov.*`` or ``governance.*`` tag of a covered
        model; returns the rule.

        Raises:
            PermissionDenied: The key is a status tag and the model is covered.
        """
        rule = self.covering_rule(name)
        if rule is not None and is_status_tag(key):
            raise PermissionDenied(
                f"Tag {key!r} is maintained by mlflow-registry-ext and is read-only on {name}, "
                f"which {rule.describe()} of the policy covers"
            )
        return rule

    def tags_for_new_version(self, name: str, tags):
        """The tags a new version of ``name`` is created with: the caller's plus the status tags."""
        rule = self.covering_rule(name)
        if rule is None:
            return tags
        for tag in tags or ():
            self.check_tag_write(name, tag.key)
        return list(tags or ()) + [ModelVersionTag(k, v) for k, v in initial_tags(rule).items()]

    def after_version_created(self, name: str, version: str) -> None:
        """Link a new version of a covered model to its reviewer page, and record its artifact
        digest when the rule binds approvals to it."""
        rule = self.covering_rule(name)
        if rule is None:
            return
        self.inner.set_model_version_tag(name, str(version), ModelVersionTag(LINK_TAG, page_link(name, version)))
        if not rule.require.artifact_digest:
            return
        reading = read_digest(self.inner, name, version)
        if reading.digest:
            self.inner.set_model_version_tag(name, str(version), ModelVersionTag(DIGEST_TAG, reading.digest))

    def needs_recount(self, name: str, key: str | None = None) -> bool:
        """Whether changing tag ``key`` (or the description, for ``None``) can make approvals of
        a version of ``name`` stale."""
        rule = self.covering_rule(name)
        return rule is not None and (key is None or key in rule.require.bound_tags)

    def after_version_change(self, name: str, version: str) -> None:
        """Recount open requests and refresh tags after a version's tags or description changed.

        Without an open request nothing the tags show can have changed: one query, no writes.
        """
        if self.approvals.recount(name, str(version)):
            self.status_tags.refresh(name, str(version))

    # -- promotions -------------------------------------------------------------------------

    def before_set_alias(self, name: str, alias: str, version) -> Grant | None:
        """Judge pointing ``alias`` of ``name`` at ``version``; ``None`` when nothing governs it.

        An alias name with invisible characters is refused for every model; a look-alike of a
        protected alias (``Production`` next to ``production``) is refused outright.
        """
        # MLflow's own check first, so a name it refuses gets its exact message (drop-in).
        check_mlflow_alias(alias, reserved=False)
        check_alias_name(alias)
        if not self.active:
            return None
        rule = self.rule_for(name)
        if rule is None:
            return None
        if not rule.protects_alias(alias):
            imitated = rule.lookalike_alias(alias)
            if imitated is not None:
                return self._refuse_lookalike(rule, name, version, "alias", alias, imitated)
            return None
        current = alias_version(self.inner, name, alias)
        state = read_version(self.inner, name, version)
        if current == state.version:
            return None
        asked = _context.get()
        actions = (asked.action,) if asked is not None and asked.action else ("promote", "rollback")
        return self._judge(rule, "set_alias", "alias", alias, state, actions, current)

    def before_transition(self, name: str, version, stage: str) -> Grant | None:
        """Judge moving ``version`` of ``name`` to ``stage``; leaving a stage is never governed."""
        if not self.active:
            return None
        rule = self.rule_for(name)
        if rule is None:
            return None
        if not rule.protects_stage(stage):
            imitated = rule.lookalike_stage(stage)
            if imitated is not None:
                return self._refuse_lookalike(rule, name, version, "stage", stage, imitated)
            return None
        canonical = get_canonical_stage(stage)
        state = read_version(self.inner, name, version)
        if state.stage == canonical:
            return None
        return self._judge(rule, "transition", "stage", canonical, state, ("promote",), None)

    def before_delete_alias(self, name: str, alias: str) -> Grant | None:
        """Judge deleting ``alias`` of ``name`` by the rule's ``on_delete_alias``."""
        if not self.active:
            return None
        rule = self.rule_for(name)
        if rule is None or not rule.protects_alias(alias) or rule.on_delete_alias == "allow":
            return None
        current = alias_version(self.inner, name, alias)
        if current is None:
            return None
        state = read_version(self.inner, name, current)
        return self._judge(rule, "delete_alias", "alias", alias, state, ("delete_alias",), current)

    # -- deletions and renames --------------------------------------------------------------

    def before_delete_version(self, name: str, version) -> Grant | None:
        """Refuse deleting a version a protected alias points to; close its requests afterwards."""
        rule = self.covering_rule(name)
        if rule is None:
            return None
        state = read_version(self.inner, name, version)
        decision = check_delete_version(rule, state.version, state.aliases)
        followup = {"model": name, "version": state.version, "reason": f"version {state.version} was deleted"}
        if decision.allowed:
            return self._grant("delete_version", rule, followup=followup)
        what = f"Deleting version {state.version} of {name}"
        grant = self._refuse(rule, "delete_version", what, decision, model=name, version=state.version)
        grant.followup = followup
        return grant

    def before_delete_model(self, name: str) -> Grant | None:
        """Refuse deleting a model that carries protected aliases; close its requests afterwards."""
        rule = self.covering_rule(name)
        if rule is None:
            return None
        model = self.inner.get_registered_model(name)
        followup = {"model": name, "version": None, "reason": f"model {name} was deleted"}
        protected = sorted(a for a in (model.aliases or {}) if rule.protects_alias(a))
        if not protected:
            return self._grant("delete_model", rule, followup=followup)
        names = ", ".join(repr(a) for a in protected)
        noun = "alias" if len(protected) == 1 else "aliases"
        decision = Decision(
            allowed=False,
            missing=(f"{name} carries protected {noun} {names}; move or remove the {noun} first",),
            rule_match=rule.match,
            rule_index=rule.index,
        )
        grant = self._refuse(rule, "delete_model", f"Deleting model {name}", decision, model=name)
        grant.followup = followup
        return grant

    def before_rename(self, name: str, new_name: str) -> Grant | None:
        """Judge renaming ``name`` to ``new_name`` (see :func:`~mlflow_registry_ext.policy.check_rename`)."""
        if not self.active:
            return None
        old_rule, new_rule = self.rule_for(name), self.rule_for(new_name)
        if not covers(old_rule) and not covers(new_rule):
            return None
        model = self.inner.get_registered_model(name)
        stages = {mv.current_stage for mv in (model.latest_versions or ())}
        decision = check_rename(self.policy, name, new_name, list(model.aliases or {}), stages)
        rule = old_rule if covers(old_rule) else new_rule
        followup = {"model": name, "new_name": new_name, "reason": f"model {name} was renamed to {new_name}"}
        if decision.allowed:
            return self._grant("rename", rule, followup=followup)
        grant = self._refuse(rule, "rename", f"Renaming model {name} to {new_name!r}", decision, model=name)
        grant.followup = followup
        return grant

    # -- after the change -------------------------------------------------------------------

    def succeeded(self, grant: Grant | None) -> None:
        """Bring requests and tags up to date after a granted change was committed."""
        if grant is None:
            return
        if grant.request is not None:
            self.status_tags.refresh(grant.request.model, grant.request.version)
        followup = grant.followup
        if not followup:
            return
        model = followup["model"]
        if covers(self.rule_for(model)):
            self.approvals.close_open(model, followup.get("version"), followup["reason"])
        new_name = followup.get("new_name")
        if new_name:
            # Under another rule the targets differ; under the same one the links name the model.
            self.status_tags.refresh_model(new_name)

    def ungoverned_rollback(self, name: str, alias: str, version) -> list[AuditDraft]:
        """``promotion.rolled_back`` for a rollback the policy does not govern (no grant)."""
        asked = _context.get()
        if asked is None or asked.action != "rollback" or asked.reason is None:
            return []
        rule = self.rule_for(name) if self.active else None
        previous = alias_version(self.inner, name, alias)
        if previous == str(version):
            return []
        return [rolled_back_draft(name, alias, version, previous, asked.reason, "unprotected",
                                  rule.describe() if rule else None, self.policy.digest or None)]

    def failed(self, grant: Grant | None) -> None:
        """Give back the request a change claimed (and its signature) when the change failed."""
        if grant is not None and grant.request is not None:
            self.signing.withdraw(grant.signature)
            self.approvals.release(grant.request)

    # -- judging ----------------------------------------------------------------------------

    def assess(
        self,
        rule: Rule,
        kind: str,
        target: str,
        state: VersionState,
        actions: tuple[str, ...],
        current: str | None,
    ) -> Assessment:
        """Judge every open request for putting ``state`` under ``target``, claiming nothing."""
        self.approvals.expire_due()
        asked = _context.get()
        candidates = self.approvals.open_requests(
            state.model, state.version, target_kind=kind, target=target, actions=actions
        )
        if asked is not None and asked.request_id:
            candidates = [c for c in candidates if c.id == asked.request_id]
        now = self.approvals.clock()
        live_ms = live_model_created_ms(self.inner, state.model)
        fairness = read_fairness(self.db, state.model, state.version, live_ms) if rule.require.fairness else ()
        needs_digest = rule.require.artifact_digest or bool(rule.require.security_scan)
        reading = read_digest(self.inner, state.model, state.version) if needs_digest else None
        digest = reading.digest if reading else None
        scan = (
            read_security_scan(self.db, self.inner, state.model, state.version, digest)
            if rule.require.security_scan else None
        )
        evidence = {"fairness": fairness, "current_artifact_digest": digest, "security_scan": scan, "now": now}
        if "promote" in actions or rule.rollback.recheck_requirements:
            evidence.update(
                metrics=metric_facts(rule, self.inner, state.model, state.version, kind, target),
                model_card=card_facts(rule, self.inner, state.model, state.version, state.tags),
            )
        allowed: list[tuple[ApprovalRequest, Decision]] = []
        best: tuple[ApprovalRequest, Decision] | None = None
        for request in candidates:
            if self._stale_request(request, state, current, now, live_ms, rule):
                continue
            decision = evaluate(rule, promotion_facts(request, state, **evidence))
            if decision.allowed:
                allowed.append((request, decision))
            elif best is None or decision.counted > best[1].counted:
                best = (request, decision)
        if allowed:
            request, decision = allowed[0]
        elif best is not None:
            request, decision = best
        else:
            request = None
            decision = evaluate(rule, fields_from(PromotionFacts, state, target_kind=kind, target=target,
                                                  requester=identity.current_actor(),
                                                  version_creator=state.creator, action=actions[0], **evidence))
        action = request.action if request is not None else actions[0]
        what = PromotionFacts(
            model=state.model, version=state.version, target_kind=kind, target=target, action=action
        ).describe()
        notes = []
        if reading is not None and reading.problem and not decision.allowed:
            notes.append(reading.problem)
        denied = action == "delete_alias" and rule.on_delete_alias == "deny"
        if request is None and not denied:
            notes.append("no approval request is open for this change")
        return Assessment(_cap(what), action, allowed, request, decision, notes)

    def _judge(
        self,
        rule: Rule,
        change: str,
        kind: str,
        target: str,
        state: VersionState,
        actions: tuple[str, ...],
        current: str | None,
    ) -> Grant:
        assessment = self.assess(rule, kind, target, state, actions, current)
        unpinned = self._unpinned(rule, state)
        if unpinned:
            # Bytes that were never frozen can change under an approval: refuse before claiming.
            decision = dataclasses.replace(
                assessment.decision, allowed=False, missing=assessment.decision.missing + (unpinned,)
            )
            assessment = dataclasses.replace(assessment, allowed=[], decision=decision)
        for request, decision in assessment.allowed:
            if self.approvals.claim(request, decision):
                grant = self._grant(
                    change, rule, action=request.action, request=request, decision=decision, previous=current
                )
                grant.signature = self.signing.sign(grant, state, lambda: self.approvals.release(request))
                return grant
        decision, notes = assessment.decision, list(assessment.notes)
        if assessment.action == "rollback" and kind == "alias" and not unpinned:
            alone = self._alone(rule, state, target, current)
            if isinstance(alone, Grant):
                return alone
            if isinstance(alone, Decision):
                decision, notes = alone, []
            elif alone:
                notes.append(alone)
        grant = self._refuse(
            rule,
            change,
            assessment.what,
            decision,
            model=state.model,
            version=state.version,
            kind=kind,
            target=target,
            request=assessment.request,
            notes=notes,
        )
        grant.action = assessment.action
        grant.previous_version = current
        return grant

    def _alone(self, rule: Rule, state: VersionState, alias: str, current: str | None) -> Grant | Decision | str | None:
        """A rollback without an approval, by a user under ``rollback.allowed``.

        Returns the grant when it is allowed; the verdict when the user may roll back alone but
        the version fails something else the rule asks (the artifact digest, a scan); a note
        naming why the user may not roll back alone; ``None`` when the rule lets nobody.
        """
        allowed = rule.rollback
        asked = _context.get()
        if not allowed.alone:
            return None
        who = identity.current()
        if asked is None or asked.action != "rollback" or not (asked.reason or "").strip():
            return f"a rollback without an approval (by {allowed.allowed_text()}) needs a reason"
        if not allowed.allows_alone(who.actor):
            return (
                f"{who.actor} may not roll back alone: not listed under rollback.allowed "
                f"({allowed.allowed_text()})"
            )
        if not (self.policy.allow_unauthenticated_reviews or who.is_authenticated):
            how = "MLFLOW_TRACKING_USERNAME" if who.source == "environment" else "the OS user"
            return (
                f"rolling back alone needs an authenticated user; {who.actor!r} comes from {how}, "
                "which anyone can set"
            )
        live_ms = live_model_created_ms(self.inner, state.model)
        try:
            approval = check_rollback_target(
                self.db, self.inner, alias, live_ms, state, digest_required=rule.require.artifact_digest
            )
        except InvalidInput as exc:
            return exc.message
        if current is None:
            return f"alias {alias!r} is not set, so there is nothing to roll back"
        needs_digest = rule.require.artifact_digest or bool(rule.require.security_scan)
        digest = read_digest(self.inner, state.model, state.version).digest if needs_digest else None
        scan = (
            read_security_scan(self.db, self.inner, state.model, state.version, digest)
            if rule.require.security_scan else None
        )
        recheck = rule.rollback.recheck_requirements
        live_fairness = read_fairness(self.db, state.model, state.version, live_ms) if recheck else ()
        evidence: dict = {}
        if recheck:
            evidence = {
                "metrics": metric_facts(rule, self.inner, state.model, state.version, "alias", alias),
                "model_card": card_facts(rule, self.inner, state.model, state.version, state.tags),
            }
        facts = PromotionFacts(
            model=state.model, version=state.version, target_kind="alias", target=alias,
            requester=who.actor, version_creator=state.creator, tags=state.tags,
            description=state.description, fairness=live_fairness, current_artifact_digest=digest,
            approved_artifact_digest=approval.artifact_digest, security_scan=scan,
            now=self.approvals.clock(), action="rollback", **evidence,
        )
        # Nobody's approval is asked: judge everything else the rule asks of a rollback.
        unreviewed = dataclasses.replace(allowed.approvals, required=0)
        decision = evaluate(dataclasses.replace(rule, rollback=dataclasses.replace(allowed, approvals=unreviewed)), facts)
        if not decision.allowed:
            return decision
        grant = self._grant("set_alias", rule, action="rollback", decision=decision, previous=current)
        grant.alone = {"allowed_by": "rollback.allowed", "approved_by_request": approval.id}
        return grant

    def _unpinned(self, rule: Rule, state: VersionState) -> str | None:
        """Why the version cannot be promoted unpinned, under a rule that binds approvals to bytes."""
        if self.is_pinned is None or not rule.require.artifact_digest:
            return None
        if self.is_pinned(state.model, state.version):
            return None
        return (
            f"version {state.version} is not pinned (its files could change after review): run "
            f"`mlflow-registry-ext artifacts pin {state.model} {state.version}`"
        )

    def _stale_request(
        self, request: ApprovalRequest, state: VersionState, current: str | None, now: int,
        live_ms: int | None, rule: Rule,
    ) -> bool:
        if request.version_created_ms is not None and request.version_created_ms != state.created_ms:
            return True
        if not belongs_to(request.model_created_ms, request.created_at_ms, live_ms):
            return True  # made for a deleted model of the same name
        if request.action == "rollback" and not self._valid_rollback_target(request, state, live_ms, rule):
            return True
        if request.action in ("rollback", "delete_alias") and request.from_version != current:
            return True
        return request.expires_at_ms is not None and request.expires_at_ms <= now

    def _valid_rollback_target(
        self, request: ApprovalRequest, state: VersionState, live_ms: int | None, rule: Rule
    ) -> bool:
        try:
            check_rollback_target(
                self.db, self.inner, request.target, live_ms, state,
                digest_required=rule.require.artifact_digest,
            )
        except InvalidInput:
            return False
        return True

    def _grant(self, change: str, rule: Rule, *, action=None, request=None, decision=None, previous=None,
               override=None, followup=None) -> Grant:
        grant = Grant(
            change=change,
            rule=rule,
            policy_digest=self.policy.digest or None,
            action=action,
            request=request,
            decision=decision,
            override=override,
            previous_version=previous,
            followup=followup,
        )
        asked = _context.get()
        if asked is not None:
            asked.grant = grant
            if action == "rollback" or asked.action == "rollback":
                grant.reason = (asked.reason or "").strip() or None
        return grant

    def _refuse(
        self,
        rule: Rule,
        change: str,
        what: str,
        decision: Decision,
        *,
        model: str,
        version: str | None = None,
        kind: str | None = None,
        target: str | None = None,
        request: ApprovalRequest | None = None,
        notes: list[str] | None = None,
    ) -> Grant:
        """Refuse (audit ``promotion.blocked``, raise) unless an authorised admin overrides."""
        message = f"{what} is refused by the policy ({rule.describe()}): {decision.message()}"
        if notes:
            message += "".join(f"; {n}" for n in notes)
        details: dict[str, Any] = {
            "reason": message,
            "missing": list(decision.missing),
            "change": change,
            "rule": rule.describe(),
            "policy_digest": self.policy.digest or None,
        }
        if kind == "stage":
            details["stage"] = target
        if request is not None:
            details["request_id"] = request.id
        if decision.required:
            details["approvals"] = decision.approvals_text
        alias = target if kind == "alias" else None
        asked = _context.get()
        if asked is not None and asked.override_reason is not None:
            actor = identity.current_actor()
            try:
                self.policy.require_review_identity(identity.current(), "override")
                reason = authorize_override(rule, actor, asked.override_reason)
            except PermissionDenied as exc:
                details["override_refused"] = exc.message
                self._audit("promotion.blocked", model, version, alias, details)
                raise PolicyViolation(f"{message}; override refused: {exc.message}") from None
            details["override_reason"] = reason
            entry = self._audit("promotion.overridden", model, version, alias, {**details, "reason": reason,
                                                                                  "refusal": message})
            override = {"reason": reason, "missing": list(decision.missing), "entry_seq": entry.seq}
            return self._grant(change, rule, override=override)
        self._audit("promotion.blocked", model, version, alias, details)
        raise PolicyViolation(message)

    def _refuse_lookalike(
        self, rule: Rule, name: str, version, kind: str, target: str, imitated: str
    ) -> Grant:
        """Refuse ``target``, which reads as the protected ``imitated`` (an admin may override)."""
        what = f"Setting {kind} {target!r} of {name} to version {version}"
        decision = Decision(
            allowed=False,
            missing=(
                f"{kind} {target!r} looks like the protected {kind} {imitated!r} (the same name after "
                f"Unicode NFKC, case and confusable folding); use {imitated!r} itself, which needs an approval",
            ),
            rule_match=rule.match,
            rule_index=rule.index,
        )
        return self._refuse(
            rule, f"lookalike_{kind}", what, decision, model=name, version=str(version), kind=kind, target=target
        )

    def _audit(
        self, action: str, model: str, version: str | None, alias: str | None, details: dict
    ) -> AuditEntry:
        """Record ``promotion.blocked`` or ``promotion.overridden``; ``details`` holds the
        refusal's ``reason`` (for an override: the override's), and ``stage`` for a stage."""
        payload = PromotionBlockedPayload(
            name=model, version=version, alias=alias if alias is not None else details.get("alias"),
            stage=details.get("stage"), reason=details.get("reason"),
            details={k: v for k, v in details.items() if k not in ("alias", "stage", "reason")},
        )
        # Its own transaction: the refusal is recorded although the change is not made.
        with self.db.transaction() as conn:
            [entry] = audit_log.append(
                conn, [AuditDraft(action=action, model=model, version=version, alias=alias, details=details,
                                  payload=payload)]
            )
        return entry

