"""`mlflow-registry-ext policy validate|show`, run through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from tests.policy.samples import CONTRACT_POLICY


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(CONTRACT_POLICY)
    return path


def run(capsys, *argv):
    code = run_guarded(cli, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestValidate:
    def test_valid_file(self, capsys, policy_file):
        code, out, err = run(capsys, "policy", "validate", str(policy_file))
        assert code == 0, err
        assert out.splitlines() == [
            f"{policy_file}: valid (2 rule(s), 1 group(s))",
            "  models[0] (match 'fraud-*'): protects aliases production, champion and stages Production",
            "  models[1] (match '*'): protects nothing",
        ]

    def test_valid_file_as_json(self, capsys, policy_file):
        code, out, _ = run(capsys, "--json", "policy", "validate", str(policy_file))
        assert code == 0
        data = json.loads(out)
        assert data["valid"] is True and data["rules"] == 2 and data["groups"] == ["risk-reviewers"]
        assert len(data["digest"]) == 64

    def test_invalid_file_exits_2_with_the_line(self, capsys, tmp_path):
        path = tmp_path / "bad.yaml"
        path.write_text(CONTRACT_POLICY.replace("required: 2 ", "required: -1"))
        code, out, err = run(capsys, "policy", "validate", str(path))
        assert code == 2
        assert out == ""
        assert err.strip() == (
            f"mlflow-registry-ext: INVALID_PARAMETER_VALUE: {path} line 9: "
            "models[0].approvals.required must be a positive integer, got -1"
        )

    def test_missing_file_exits_2(self, capsys, tmp_path):
        code, _, err = run(capsys, "policy", "validate", str(tmp_path / "nope.yaml"))
        assert code == 2
        assert "Policy file not found" in err and "nope.yaml" in err


class TestShow:
    def test_human(self, capsys, policy_file):
        code, out, err = run(capsys, "policy", "show", "fraud-model", "--policy", str(policy_file))
        assert code == 0, err
        assert out.startswith(f"fraud-model: models[0] (match 'fraud-*') in {policy_file} line 5\n")
        assert "To set alias 'production' or 'champion':\n  - 2 distinct approvals from risk-reviewers, dave" in out
        assert "  - fairness check demographic_parity_difference on sex <= 0.1\n" in out
        assert "To roll alias 'production' or 'champion' back to its previous version:\n  - 1 distinct approval" in out
        assert "To transition a version to stage 'Production':" in out
        assert "Renaming the model while it carries protected aliases or stages: denied" in out

    def test_policy_from_the_environment(self, capsys, policy_file, monkeypatch):
        monkeypatch.setenv("MLFLOW_GOVERNANCE_POLICY", str(policy_file))
        code, out, _ = run(capsys, "policy", "show", "fraud-model", "--alias", "staging")
        assert code == 0
        assert "Alias 'staging' is not protected: changing it needs nothing" in out

    def test_json(self, capsys, policy_file):
        code, out, _ = run(
            capsys, "--json", "policy", "show", "fraud-model", "--policy", str(policy_file), "--stage", "production"
        )
        assert code == 0
        data = json.loads(out)
        assert data["model"] == "fraud-model"
        assert data["policy"] == str(policy_file)
        assert data["rule"]["match"] == "fraud-*"
        assert data["rule"]["approvals"]["eligible_reviewers"] == ["alice", "bob", "carol", "dave"]
        (requirement,) = data["requirements"]
        assert requirement["protected"] is True and requirement["target_kind"] == "stage"
        assert "tag training_dataset" in requirement["requirements"]

    def test_no_policy(self, capsys):
        code, out, _ = run(capsys, "policy", "show", "fraud-model")
        assert code == 0
        assert out.strip() == "fraud-model: no policy file (MLFLOW_GOVERNANCE_POLICY is unset): nothing is protected"
        code, out, _ = run(capsys, "--json", "policy", "show", "fraud-model")
        assert json.loads(out) == {
            "model": "fraud-model",
            "policy": None,
            "policy_digest": None,
            "requirements": [],
            "rule": None,
        }

    def test_catch_all_rule(self, capsys, policy_file):
        code, out, _ = run(capsys, "policy", "show", "churn", "--policy", str(policy_file))
        assert code == 0
        assert out.splitlines()[:2] == [f"churn: models[1] (match '*') in {policy_file} line 21", "protects nothing"]

    def test_invalid_policy_exits_2(self, capsys, tmp_path):
        path = tmp_path / "bad.yaml"
        path.write_text("version: 1\nmodels:\n  - match: x\n    on_rename: sometimes\n")
        code, _, err = run(capsys, "policy", "show", "x", "--policy", str(path))
        assert code == 2 and "line 4: models[0].on_rename must be one of deny, allow" in err

    def test_alias_and_stage_together_is_a_usage_error(self, capsys, policy_file):
        code, _, err = run(
            capsys, "policy", "show", "m", "--policy", str(policy_file), "--alias", "a", "--stage", "Production"
        )
        assert code == 2 and "not both" in err

    def test_help(self, capsys):
        code, out, _ = run(capsys, "policy", "--help")
        assert code == 0 and "validate" in out and "show" in out
