"""A reviewed promotion, end to end, on SQLite and local files in a temporary directory.

A data scientist registers two versions of ``fraud-model``; ``production`` is protected by the
policy below. Version 1 is requested, approved by two reviewers and promoted; version 2 follows
the same way (after an unapproved attempt is refused); then ``production`` is rolled back to
version 1 under a one-reviewer rollback approval. Finally the audit trail is printed and verified.

Each actor is bound the way the governance server binds an authenticated user:
``bind_request(RequestIdentity(actor=...))``.

Run: ``python examples/promotion.py``
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

POLICY = """\
version: 1
groups:
  risk-reviewers: [alice, bob, carol]
models:
  - match: "fraud-*"
    protected_aliases: [production]
    approvals:
      required: 2
      reviewers: ["group:risk-reviewers"]
      expires_after: 7d
    require:
      tags: [owner, training_dataset]
      description: true
      artifact_digest: true
    rollback:
      required: 1
"""


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="promotion-example-") as tmp:
        root = Path(tmp)
        (root / "policy.yaml").write_text(POLICY)
        # Read once, when the governed store is first built.
        os.environ["MLFLOW_GOVERNANCE_POLICY"] = str(root / "policy.yaml")
        run(root)
    return 0


def run(root: Path) -> None:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from mlflow_registry_ext import GovernanceClient, RequestIdentity, bind_request

    db = f"sqlite:///{root / 'mlflow.db'}"
    registry = f"governed+{db}"
    mlflow.set_tracking_uri(db)
    mlflow.set_registry_uri(registry)
    experiment = mlflow.create_experiment("fraud", artifact_location=(root / "artifacts").as_uri())
    client = MlflowClient(tracking_uri=db, registry_uri=registry)
    governance = GovernanceClient(registry_uri=registry)

    def as_user(name: str):
        return bind_request(RequestIdentity(actor=name))

    say("frank registers two versions of fraud-model")
    with as_user("frank"):
        client.create_registered_model("fraud-model")
        for number in (1, 2):
            with mlflow.start_run(experiment_id=experiment) as active:
                model_dir = root / f"model-{number}"
                model_dir.mkdir()
                (model_dir / "weights.txt").write_text(f"weights of model {number}\n")
                mlflow.log_artifacts(str(model_dir), artifact_path="model")
            client.create_model_version(
                "fraud-model",
                f"runs:/{active.info.run_id}/model",
                run_id=active.info.run_id,
                tags={"owner": "risk-team", "training_dataset": f"transactions-2026-0{number}"},
                description=f"gradient boosting, round {number}",
            )
    print_tags(client, "1")

    for version in ("1", "2"):
        if version == "2":
            say("frank tries to point production at version 2 without approval")
            with as_user("frank"):
                try:
                    client.set_registered_model_alias("fraud-model", "production", "2")
                except MlflowException as exc:
                    print(f"  refused ({exc.error_code}): {exc.message}")
        say(f"erin requests production for version {version}; alice and bob approve")
        with as_user("erin"):
            request = governance.request_approval(
                "fraud-model", version, alias="production", comment=f"round {version} beats the baseline"
            )
        print(f"  request {request.id}: {request.status} {request.approvals_text}")
        for reviewer in ("alice", "bob"):
            with as_user(reviewer):
                request = governance.approve(request.id, comment="metrics and data lineage checked")
            print(f"  {reviewer} approved: {request.status} {request.approvals_text}")
        print_tags(client, version)
        with as_user("erin"):
            result = governance.promote("fraud-model", version, alias="production")
        print(f"  promoted: production -> version {result.version} (was {result.previous_version}), "
              f"audit entry {result.audit_seq}")

    say("version 2 misbehaves: erin asks to roll production back; carol approves")
    with as_user("erin"):
        request = governance.request_approval(
            "fraud-model", "1", alias="production", action="rollback", comment="false positives doubled"
        )
    with as_user("carol"):
        governance.approve(request.id, comment="agreed, roll back")
    with as_user("erin"):
        result = governance.rollback("fraud-model", "production", reason="false positives doubled")
    print(f"  rolled back: production -> version {result.version} (was {result.previous_version})")
    print(f"  production now serves version {client.get_model_version_by_alias('fraud-model', 'production').version}")

    say("the audit trail")
    for entry in governance.list_audit(model="fraud-model"):
        target = " ".join(x for x in (f"v{entry.version}" if entry.version else "",
                                      f"@{entry.alias}" if entry.alias else "") if x)
        print(f"  {entry.seq:>3}  {entry.actor:<6} {entry.action:<34} {target:<16} {note(entry)}")
    verdict = governance.verify_audit()
    print(f"\naudit chain intact: {verdict.ok} ({verdict.checked} entries)")
    if not verdict.ok:
        raise SystemExit(1)


def note(entry) -> str:
    governance = entry.details.get("governance") or {}
    if governance:
        return f"{governance.get('action')}: request {governance.get('approval_request', '')[:8]}, " \
               f"approvals {governance.get('approvals')}"
    if entry.action == "promotion.blocked":
        return "; ".join(entry.details["missing"])
    if "approvals" in entry.details:
        return f"approvals {entry.details['approvals']}"
    return ""


def print_tags(client, version: str) -> None:
    tags = client.get_model_version("fraud-model", version).tags
    shown = ", ".join(f"{k}={v[:24]}" for k, v in sorted(tags.items()) if k.startswith("governance."))
    print(f"  version {version} tags: {shown}")


def say(text: str) -> None:
    print(f"\n== {text}")


if __name__ == "__main__":
    sys.exit(main())
