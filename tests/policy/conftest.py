"""Fixtures of the policy tests: loaded policies, no database."""

from __future__ import annotations

import pytest

from mlflow_registry_ext.policy import parse_policy
from tests.policy.samples import CONTRACT_POLICY, FULL_POLICY


@pytest.fixture
def contract_policy():
    return parse_policy(CONTRACT_POLICY, source="policy.yaml")


@pytest.fixture
def fraud_rule(contract_policy):
    return contract_policy.rule_for("fraud-model")


@pytest.fixture
def full_policy():
    return parse_policy(FULL_POLICY, source="full.yaml")
