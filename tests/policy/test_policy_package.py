"""The policy package's public surface, its purity, and its documentation."""

from __future__ import annotations

import ast
import pathlib

import mlflow_registry_ext.policy as policy_pkg

PACKAGE_DIR = pathlib.Path(policy_pkg.__file__).parent
DOCS = pathlib.Path(__file__).parents[2] / "docs" / "policy.md"
FORBIDDEN = ("sqlalchemy", "flask", "requests", "mlflow_registry_ext.db", "mlflow_registry_ext.server",
             "mlflow_registry_ext.cli", "mlflow_registry_ext.approvals", "mlflow_registry_ext.signing",
             "mlflow_registry_ext.registry")


def test_public_names_are_pinned():
    assert sorted(policy_pkg.__all__) == sorted(
        [
            "POLICY_ENV_VAR", "load_policy", "parse_policy", "policy_from_env", "parse_duration",
            "format_duration", "FAIRNESS_METRICS", "ON_DELETE_ALIAS_CHOICES", "ON_RENAME_CHOICES",
            "Policy", "Rule", "ApprovalRequirement", "Requirements", "FairnessRequirement",
            "RollbackRule", "AdminOverride", "TARGET_KINDS", "ACTIONS", "ApprovalFact",
            "FairnessFact", "PromotionFacts", "IgnoredApproval", "Decision", "RequirementsSummary",
            "evaluate", "bound_state_hash", "fairness_status", "is_eligible_reviewer",
            "authorize_reviewer", "authorize_override", "check_delete_version", "check_rename",
            "requirements_summary", "threshold_breach", "MetricRequirement", "METRIC_DIRECTIONS",
            "default_direction", "MetricFact", "metric_problems", "card_problems",
            "SCAN_SEVERITIES", "SECURITY_SCAN_CHOICES", "SecurityScanFact", "security_scan_problem",
        ]
    )
    for name in policy_pkg.__all__:
        assert hasattr(policy_pkg, name), name


def test_imports_no_database_web_or_http_code():
    for path in PACKAGE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


def test_docs_cover_the_commands_and_every_key():
    text = DOCS.read_text()
    for phrase in ("policy validate", "policy show", "MLFLOW_GOVERNANCE_POLICY"):
        assert phrase in text, phrase
    from mlflow_registry_ext.policy import loader

    keys = set(loader._TOP_KEYS + loader._RULE_KEYS + loader._ROLLBACK_KEYS + loader._REQUIRE_KEYS
               + loader._FAIRNESS_KEYS + loader._OVERRIDE_KEYS)
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"keys not documented in docs/policy.md: {missing}"
    for metric in policy_pkg.FAIRNESS_METRICS:
        assert metric in text, metric


def test_docs_example_policy_validates():
    from mlflow_registry_ext.policy import parse_policy

    text = DOCS.read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    policy = parse_policy(example, source="docs/policy.md")
    rule = policy.rule_for("fraud-model")
    assert rule.admin_override.allowed == {"root"}
    assert (rule.rollback.approvals.required, rule.on_delete_alias, rule.on_rename) == (1, "approval", "deny")
