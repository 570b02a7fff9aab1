"""Admin overrides, deleting versions behind protected aliases, renaming governed models."""

from __future__ import annotations

import pytest

from mlflow_registry_ext.errors import InvalidInput, PermissionDenied
from mlflow_registry_ext.policy import authorize_override, check_delete_version, check_rename


class TestOverride:
    def test_authorize_override(self, full_policy, fraud_rule):
        scratch = full_policy.rule_for("scratch-x")
        assert authorize_override(scratch, "root", "  incident 42  ") == "incident 42"
        with pytest.raises(InvalidInput, match="needs a reason"):
            authorize_override(scratch, "root", "   ")
        with pytest.raises(PermissionDenied, match="erin may not override"):
            authorize_override(scratch, "erin", "because")
        assert authorize_override(full_policy.rule_for("credit-x"), "erin", "because") == "because"
        with pytest.raises(PermissionDenied):
            authorize_override(fraud_rule, "root", "nobody is listed")


class TestDeleteVersionAndRename:
    def test_delete_version_behind_a_protected_alias(self, fraud_rule):
        decision = check_delete_version(fraud_rule, 7, ["production", "canary"])
        assert decision.message() == (
            "version 7 is the target of protected alias 'production'; move or remove the alias first"
        )
        assert check_delete_version(fraud_rule, 7, ["canary"]).allowed
        assert check_delete_version(None, 7, ["production"]).allowed

    def test_rename_denied_by_default(self, contract_policy):
        decision = check_rename(contract_policy, "fraud-model", "fraud-model-2", ["production"])
        assert not decision.allowed
        assert "denied by models[0] (match 'fraud-*')" in decision.message()
        assert check_rename(contract_policy, "fraud-model", "fraud-model-2", ["canary"]).allowed

    def test_rename_into_a_protecting_rule_is_refused(self, contract_policy):
        decision = check_rename(contract_policy, "tmp-model", "fraud-new", ["production"])
        assert decision.message() == (
            "renaming to 'fraud-new' would put alias 'production' under models[0] (match 'fraud-*') "
            "without an approval"
        )

    def test_rename_allowed_within_the_same_rule(self, full_policy):
        assert check_rename(full_policy, "credit-a", "credit-b", ["production"], ["Staging"]).allowed
        decision = check_rename(full_policy, "credit-a", "other", ["production"])
        assert "would take protected alias 'production' out of models[0]" in decision.message()
        decision = check_rename(full_policy, "credit-a", "scratch-a", ["production"])
        assert len(decision.missing) == 2

    def test_rename_considers_stages(self, contract_policy):
        assert not check_rename(contract_policy, "fraud-a", "fraud-b", [], ["production"]).allowed
