"""The read-only tags that show a version's governance state in the stock MLflow UI.

They are written through the wrapped MLflow store, so MLflow's own UI and API show them like any
tag, and only on versions of models whose rule protects something: a model no rule protects gets
nothing visible. The registry store refuses users' writes to ``gov``, ``gov.*`` and
``governance.*`` keys on such models.

The keys are short so that the stock UI's version list shows them whole, and there is one per
protected target, because a version can be approved for ``champion`` and not for ``production``:

========================== ==============================================================
``gov.<alias>``            one per protected alias, e.g. ``gov.production``
``gov.stage.<Stage>``      one per protected stage, e.g. ``gov.stage.Production``
``gov``                    the version's page on the reviewer page,
                           e.g. ``/governance/#/version/fraud-model/7``
``governance.artifact_digest``  under a rule that sets ``require.artifact_digest``: the digest
                           the newest request was made for; before any request, the one
                           recorded when the version was created
========================== ==============================================================

A target's value is ``live`` while the alias points to the version (or the version is in the
stage); otherwise it comes from the version's newest promotion or rollback request for the
target that was not cancelled: ``no request``, ``pending 1/2``, ``approved``, ``was live`` (the
request was applied and the target has moved on since), ``rejected``, ``expired``. While a
request is pending or approved under a rule that requires fairness checks the version has not
passed, the value says so: ``approved, fairness failed``, ``pending 0/2, fairness missing``.

The link is relative to the server (``/<static prefix>/governance/...`` when the server runs
with ``--static-prefix``); set ``MLFLOW_GOVERNANCE_PAGE_URL`` (e.g.
``https://mlflow.example.com/governance/``) in every process that writes the registry to make
it absolute.

Example:
    >>> with as_user("erin"):
    ...     request = store.approvals.create("fraud-model", "1", alias="production")
    >>> with as_user("alice"):
    ...     request = store.approvals.approve(request.id)
    >>> store.status_tags.refresh("fraud-model", "1").tags
    {'gov.production': 'pending 1/2, fairness missing', 'gov.champion': 'no request',
     'gov.stage.Production': 'no request', 'gov': '/governance/#/version/fraud-model/1'}
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any, Iterable, Iterator

from mlflow.entities.model_registry import ModelVersionTag
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.entities import ApprovalRequest, GovernanceStatus, TargetStatus
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.db.incarnation import live_model_created_ms
from mlflow_registry_ext.approvals.version_state import read_fairness
from mlflow_registry_ext.policy import FairnessFact, Policy, Rule, fairness_status
from mlflow_registry_ext import settings

__all__ = [
    "TAG_PREFIX",
    "LINK_TAG",
    "TARGET_PREFIX",
    "DIGEST_TAG",
    "PAGE_URL_ENV",
    "LEGACY_TAGS",
    "is_status_tag",
    "target_tag",
    "target_value",
    "holds",
    "page_link",
    "status_of",
    "fairness_of",
    "initial_tags",
    "targets_of",
    "tags_of",
    "StatusTags",
]

#: Reserved on covered models (the digest, scan and artifacts tags live here).
TAG_PREFIX = "governance."
#: The version's page on the reviewer page.
LINK_TAG = "gov"
#: ``gov.<alias>`` and ``gov.stage.<Stage>``.
TARGET_PREFIX = "gov."
DIGEST_TAG = "governance.artifact_digest"
#: An absolute base for the ``gov`` link, e.g. ``https://mlflow.example.com/governance/``.
PAGE_URL_ENV = settings.PAGE_URL.name
#: Tags of earlier releases (one status per version); a refresh removes them.
LEGACY_TAGS = ("governance.status", "governance.approvals", "governance.fairness")

# Request status -> the version's overall status: an applied request was approved; cancelled
# ones are skipped.
_SHOWN = {
    "pending": "pending",
    "approved": "approved",
    "applied": "approved",
    "rejected": "rejected",
    "expired": "expired",
}


def is_status_tag(key: str | None) -> bool:
    """Whether ``key`` is one of the plugin's read-only tags (``gov``, ``gov.*``, ``governance.*``)."""
    return bool(key) and (key == LINK_TAG or key.startswith((TARGET_PREFIX, TAG_PREFIX)))


_VALUES = ("live", "no request", "was live", "approved", "rejected", "expired")


def _managed(key: str, value: str) -> bool:
    # What a refresh may write or remove: the gov tags, the digest and the legacy status tags
    # (governance.scan and governance.artifacts have writers of their own). A gov tag is only
    # taken for the plugin's when its value is one the plugin writes, so a user's own tag on a
    # model a new policy starts to cover survives.
    if key == DIGEST_TAG or key in LEGACY_TAGS:
        return True
    if key == LINK_TAG:
        return "#/version/" in value
    if key.startswith(TARGET_PREFIX):
        return value.startswith(("pending ", *_VALUES))
    return False


def covers(rule: Rule | None) -> bool:
    """Whether a model under ``rule`` carries status tags: only when the rule protects something."""
    return rule is not None and rule.protects_anything


def target_tag(target_kind: str, target: str) -> str:
    """``gov.production`` for an alias, ``gov.stage.Production`` for a stage (aliases cannot
    hold a dot, so the two never collide).

    Example:
        >>> target_tag("alias", "champion"), target_tag("stage", "Production")
        ('gov.champion', 'gov.stage.Production')
    """
    if target_kind == "stage":
        return f"{TARGET_PREFIX}stage.{target}"
    return f"{TARGET_PREFIX}{target}"


def targets_of(rule: Rule) -> list[tuple[str, str]]:
    """The rule's protected targets, aliases first, in the policy's order."""
    return [("alias", a) for a in rule.protected_aliases] + [("stage", s) for s in rule.protected_stages]


def page_link(model: str, version: str | int) -> str:
    """The version's page on the reviewer page (the ``gov`` tag's value).

    Example:
        >>> page_link("fraud model", 7)
        '/governance/#/version/fraud%20model/7'
    """
    base = settings.PAGE_URL.get() or ""
    if not base:
        from mlflow_registry_ext import routes

        prefix = (settings.MLFLOW.get("static_prefix") or "").rstrip("/")
        base = prefix + routes.PAGE_PATH
    if not base.endswith("/"):
        base += "/"
    quote = lambda text: urllib.parse.quote(str(text), safe="")  # noqa: E731
    return f"{base}#/version/{quote(model)}/{quote(version)}"


def target_value(request: ApprovalRequest | None, fairness: str | None = None, *, live: bool = False) -> str:
    """The value of a ``gov.<target>`` tag; ``fairness`` (``failed`` or ``missing``) is named
    while the request is pending or approved.

    Example:
        >>> import dataclasses
        >>> from mlflow_registry_ext.entities import ApprovalRequest
        >>> pending = ApprovalRequest(id="9abe", model="fraud-model", version="7", target_kind="alias",
        ...     target="production", action="promote", status="pending", requester="erin",
        ...     created_at_ms=0, updated_at_ms=0, required=2, approvals=1)
        >>> approved = dataclasses.replace(pending, status="approved", approvals=2)
        >>> target_value(None), target_value(pending), target_value(approved, "failed")
        ('no request', 'pending 1/2', 'approved, fairness failed')
    """
    if live:
        return "live"
    if request is None:
        return "no request"
    if request.status == "applied":
        return "was live"
    value = f"pending {request.approvals_text}" if request.status == "pending" else request.status
    if request.status in ("pending", "approved") and fairness in ("failed", "missing"):
        value += f", fairness {fairness}"
    return value


def holds(mv: Any, target_kind: str, target: str) -> bool:
    """Whether the alias points to the MLflow ``ModelVersion`` ``mv`` (``mv`` is in the stage)."""
    if target_kind == "stage":
        return (mv.current_stage or "").lower() == target.lower()
    return target in (mv.aliases or ())


def status_of(request: ApprovalRequest | None) -> str:
    """The overall status a version's newest request gives it (``GovernanceStatus.status``)."""
    return _SHOWN.get(request.status, "none") if request is not None else "none"


def fairness_of(rule: Rule | None, records: Iterable[FairnessFact]) -> str:
    """``passed``, ``failed`` or ``missing``: the newest fairness records against the rule's
    thresholds, or the records' own verdicts when the rule sets none.

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
    """The target tags of a version the moment it is created under ``rule`` (the link follows
    once the version has its number)."""
    return {target_tag(kind, target): "no request" for kind, target in targets_of(rule)}


class StatusTags:
    """Computes a version's governance state and keeps its read-only tags current.

    Args:
        policy: The policy.
        db: The governance database (fairness records).
        inner_store: The wrapped MLflow store: tags are written through it, unaudited, because
            they are derived from audited facts.
        approvals: The approval store (the newest requests of a version).
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
        per_target = self.approvals.latest_per_target(model, version, mv.creation_timestamp, live_ms)
        required = rule.approvals.required
        fairness = fairness_of(rule, read_fairness(self.db, model, version, live_ms))
        blocking = fairness if rule.require.fairness and fairness != "passed" else None
        targets = []
        for kind, target in targets_of(rule):
            found = per_target.get((kind, target))
            live = holds(mv, kind, target)
            targets.append(TargetStatus(
                target_kind=kind,
                target=target,
                status=found.status if found else "none",
                approvals=found.approvals_text if found else f"0/{required}",
                request_id=found.id if found else None,
                live=live,
                tag=target_tag(kind, target),
                value=target_value(found, blocking, live=live),
            ))
        return GovernanceStatus(
            model=model,
            version=version,
            covered=True,
            rule=rule.describe(),
            status=status_of(request),
            approvals=request.approvals_text if request else f"0/{required}",
            fairness=fairness,
            artifact_digest=(request.artifact_digest if request else None) or current.get(DIGEST_TAG),
            request_id=request.id if request else None,
            targets=tuple(targets),
            page_link=page_link(model, version),
            tags=current,
        )

    def refresh(self, model: str, version: str | int, *, leaving: bool = False) -> GovernanceStatus | None:
        """Bring the version's tags in line with its state; writes only the tags that differ.

        On a model no rule covers, users own every tag name, so nothing is touched unless
        ``leaving`` says the model was covered until now (a rename out of its rule): then the
        plugin's tags are removed.

        Returns ``None`` when the version no longer exists.
        """
        try:
            mv = self.inner.get_model_version(model, str(version))
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        status = self.compute(model, version, mv)
        if not status.covered and not leaving:
            return status
        wanted = tags_of(status) if status.covered else {}
        for key, value in wanted.items():
            if status.tags.get(key) != value:
                self.inner.set_model_version_tag(model, str(version), ModelVersionTag(key, value))
        for key, value in status.tags.items():
            if key not in wanted and _managed(key, value):
                self.inner.delete_model_version_tag(model, str(version), key)
        written = {k: v for k, v in status.tags.items() if k not in wanted and not _managed(k, v)}
        written.update(wanted)
        return dataclasses.replace(status, tags=written)

    def refresh_model(self, model: str) -> int:
        """Refresh every version of ``model`` (after a rename moved it under another rule, or
        out of every rule)."""
        count = 0
        for mv in self.versions_of(model):
            self.refresh(model, mv.version, leaving=True)
            count += 1
        return count

    def versions_of(self, model: str) -> Iterator[Any]:
        """Every version of ``model`` (MLflow ``ModelVersion`` entities), page by page."""
        token = None
        while True:
            page = self.inner.search_model_versions(
                f"name={_quoted(model)}", max_results=1000, page_token=token
            )
            yield from page
            token = page.token
            if not token:
                return


def tags_of(status: GovernanceStatus) -> dict[str, str]:
    """The tags a covered version should carry for ``status``."""
    tags = {t.tag: t.value for t in status.targets}
    if status.page_link:
        tags[LINK_TAG] = status.page_link
    if status.artifact_digest:
        tags[DIGEST_TAG] = status.artifact_digest
    return tags


def _quoted(name: str) -> str:
    # MLflow's filter grammar has no escapes; a name holding a single quote goes in double ones.
    return f'"{name}"' if "'" in name else f"'{name}'"
