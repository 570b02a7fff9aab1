"""``rollback: {required: 0, allowed: [...]}``: who may roll back alone, and the mistakes named."""

from __future__ import annotations

import textwrap

import pytest

from mlflow_registry_ext.errors import PolicyInvalid
from mlflow_registry_ext.policy.effective import effective_policy
from mlflow_registry_ext.policy import parse_policy, requirements_summary

GROUPS = "groups:\n  on-call: [olivia, oscar]\n  risk: [alice, bob]\n"


def rule(body: str) -> str:
    """A one-rule policy with the groups above; ``body`` starts on line 8."""
    return ("version: 1\n" + GROUPS + "models:\n  - match: 'fraud-*'\n    protected_aliases: [production]\n"
            + textwrap.indent(textwrap.dedent(body), "    "))


def problem(text: str) -> str:
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(text, source="policy.yaml")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    return info.value.message


def test_required_zero_with_users_and_groups():
    policy = parse_policy(rule(
        "approvals: {required: 2, reviewers: ['group:risk']}\n"
        "rollback: {required: 0, allowed: [carol, 'group:on-call']}\n"
    ))
    rollback = policy.rule_for("fraud-model").rollback
    assert rollback.alone
    assert (rollback.users, rollback.groups) == (("carol",), ("on-call",))
    assert rollback.allowed == {"carol", "olivia", "oscar"}
    assert rollback.allows_alone("olivia") and not rollback.allows_alone("alice") and not rollback.allows_alone(None)
    # Everybody else still needs one approval from the rule's reviewers, as by default.
    assert rollback.approvals.required == 1 and rollback.approvals.eligible == {"alice", "bob"}
    assert rollback.to_dict()["required"] == 0
    assert rollback.to_dict()["allowed"] == ["group:on-call", "carol"]
    assert rollback.to_dict()["allowed_users"] == ["carol", "olivia", "oscar"]


def test_without_allowed_nobody_rolls_back_alone():
    rollback = parse_policy(rule("rollback: {required: 2, reviewers: ['group:risk']}\n")).rules[0].rollback
    assert not rollback.alone and not rollback.allows_alone("olivia")
    assert rollback.approvals.required == 2 and rollback.to_dict()["required"] == 2


def test_required_zero_needs_someone_allowed():
    assert problem(rule("rollback: {required: 0}\n")) == (
        "policy.yaml line 8: models[0].rollback.required is 0 but models[0].rollback.allowed names "
        "nobody: list the users or groups who may roll back alone (e.g. allowed: [\"group:on-call\"]), "
        "or require at least 1 approval"
    )
    assert "rollback.allowed names nobody" in problem(rule("rollback: {required: 0, allowed: []}\n"))


def test_an_empty_group_names_nobody():
    text = rule("rollback: {required: 0, allowed: ['group:nobody']}\n").replace(
        "risk: [alice, bob]\n", "risk: [alice, bob]\n  nobody: []\n")
    assert "rollback.allowed names nobody" in problem(text)


def test_allowed_without_required_zero_is_refused():
    assert problem(rule("rollback: {allowed: [olivia]}\n")) == (
        "policy.yaml line 8: models[0].rollback.allowed names who may roll back alone, which only "
        "applies with models[0].rollback.required: 0 (now 1)"
    )
    assert "(now 2)" in problem(rule("rollback: {required: 2, allowed: [olivia]}\n"))


def test_an_unknown_group_is_the_one_problem_reported():
    message = problem(rule("rollback: {required: 0, allowed: ['group:oncall']}\n"))
    assert message == (
        "policy.yaml line 8: models[0].rollback.allowed[0] names unknown group 'oncall' "
        "(groups: on-call, risk)"
    )


@pytest.mark.parametrize("value, shown", [("-1", "-1"), ("true", "true"), ("0.5", "0.5"), ("none", "'none'")])
def test_required_is_zero_or_a_positive_integer(value, shown):
    assert problem(rule(f"rollback: {{required: {value}, allowed: [olivia]}}\n")).startswith(
        f"policy.yaml line 8: models[0].rollback.required must be 0 (with allowed) or a positive integer, got {shown}"
    )


def test_promotion_approvals_never_take_zero():
    assert "models[0].approvals.required must be a positive integer, got 0" in problem(
        rule("approvals: {required: 0, reviewers: [alice]}\n"))


def test_the_effective_policy_says_who_rolls_back_alone():
    policy = parse_policy(rule("rollback: {required: 0, allowed: [carol, 'group:on-call']}\n"))
    summary = requirements_summary(policy.rules[0], "production", action="rollback")
    assert summary.items[0] == (
        "no approval for on-call, carol (users: carol, olivia, oscar): they roll back alone, with a "
        "reason; everybody else needs:"
    )
    assert summary.items[1] == "1 distinct approval from any reviewer"
    promote = requirements_summary(policy.rules[0], "production", action="promote")
    assert not any("alone" in item for item in promote.items)
    assert effective_policy(policy, "fraud-model").to_dict()  # serialisable with the new fields
