"""A server without a policy says so at start, or refuses to start when one is required."""

from __future__ import annotations

import logging

import pytest
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.server.policy_guard import check_policy_configured


def test_no_policy_logs_a_warning_naming_the_variable(caplog):
    with caplog.at_level(logging.WARNING):
        assert check_policy_configured({}) is False
        assert check_policy_configured({"MLFLOW_GOVERNANCE_POLICY": "  "}) is False
    assert "MLFLOW_GOVERNANCE_POLICY is not set" in caplog.text


def test_required_policy_refuses_to_start_without_one():
    with pytest.raises(MlflowException, match="MLFLOW_GOVERNANCE_REQUIRE_POLICY=true"):
        check_policy_configured({"MLFLOW_GOVERNANCE_REQUIRE_POLICY": "true"})
    assert check_policy_configured({"MLFLOW_GOVERNANCE_REQUIRE_POLICY": "true",
                                    "MLFLOW_GOVERNANCE_POLICY": "/etc/policy.yaml"}) is True
