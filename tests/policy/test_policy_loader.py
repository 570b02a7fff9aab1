"""Reading and validating policy files: every mistake is named with its file and line."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from mlflow_registry_ext.errors import InvalidInput, PolicyInvalid
from mlflow_registry_ext.policy import (
    FAIRNESS_METRICS,
    POLICY_ENV_VAR,
    Policy,
    load_policy,
    parse_policy,
    policy_from_env,
)
from tests.policy.samples import CONTRACT_POLICY, FULL_POLICY


def problem(text: str) -> str:
    """The message of the PolicyInvalid that ``text`` raises."""
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(textwrap.dedent(text), source="policy.yaml")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    return info.value.message


def rule_text(body: str, groups: str = "") -> str:
    """A one-rule policy (``match: 'm*'`` on line 3); ``body`` starts on line 4."""
    return "version: 1\n" + groups + "models:\n  - match: 'm*'\n" + textwrap.indent(textwrap.dedent(body), "    ")


class TestValidFiles:
    def test_contract_example_validates_unchanged(self, contract_policy):
        assert contract_policy.version == 1
        assert contract_policy.source == "policy.yaml"
        assert [r.match for r in contract_policy.rules] == ["fraud-*", "*"]
        rule = contract_policy.rules[0]
        assert rule.line == 5
        assert rule.protected_aliases == ("production", "champion")
        assert rule.protected_stages == ("Production",)
        assert rule.approvals.required == 2
        assert rule.approvals.users == ("dave",)
        assert rule.approvals.groups == ("risk-reviewers",)
        assert rule.approvals.eligible == {"alice", "bob", "carol", "dave"}
        assert rule.approvals.allow_self_approval is False
        assert rule.approvals.expires_after == dt.timedelta(days=7)
        assert rule.require.tags == ("owner", "training_dataset")
        assert rule.require.description is True
        assert rule.require.artifact_digest is True
        (fairness,) = rule.require.fairness
        assert (fairness.metric, fairness.sensitive_feature, fairness.max, fairness.min) == (
            "demographic_parity_difference",
            "sex",
            0.1,
            None,
        )
        assert contract_policy.rules[1].protects_anything is False

    def test_defaults_of_the_open_sections(self, contract_policy):
        rule = contract_policy.rules[0]
        assert rule.on_delete_alias == "approval"
        assert rule.on_rename == "deny"
        assert rule.admin_override.allowed == frozenset()
        # A rollback needs one approval from the same reviewers, under the same expiry.
        assert rule.rollback.approvals.required == 1
        assert rule.rollback.approvals.eligible == rule.approvals.eligible
        assert rule.rollback.approvals.expires_after == rule.approvals.expires_after
        assert rule.rollback.recheck_requirements is False

    def test_every_optional_section(self, full_policy):
        credit, scratch = full_policy.rules
        assert credit.protected_stages == ("Production", "Staging")  # canonical spelling
        assert credit.approvals.allow_self_approval is True
        assert credit.require.fairness[0].min == 0.8
        assert credit.require.fairness[0].dataset == "holdout-2024"
        assert credit.rollback.approvals.required == 2
        assert credit.rollback.approvals.eligible == {"alice", "bob", "carol"}
        assert credit.rollback.approvals.expires_after == dt.timedelta(hours=12)
        # Inherited from approvals when the rollback section does not say.
        assert credit.rollback.approvals.allow_self_approval is True
        assert credit.rollback.recheck_requirements is True
        assert (credit.on_delete_alias, credit.on_rename) == ("deny", "allow")
        assert credit.admin_override.allowed == {"erin"}
        # A rule without its own admin_override uses the file-wide one.
        assert scratch.admin_override.allowed == {"root"}
        assert full_policy.admin_override.groups == ("platform-admins",)
        assert scratch.on_delete_alias == "allow"
        # No approvals section: one approval from anyone.
        assert scratch.approvals.required == 1 and scratch.approvals.anyone

    @pytest.mark.parametrize("text", ["", "\n", "# nothing yet\n", "~\n", "---\n"])
    def test_empty_file_protects_nothing(self, text):
        policy = parse_policy(text, source="empty.yaml")
        assert policy.rules == ()
        assert policy.protects_anything is False
        assert policy.rule_for("anything") is None

    def test_digest_names_the_exact_text(self):
        a = parse_policy(CONTRACT_POLICY)
        b = parse_policy(CONTRACT_POLICY + "# a comment\n")
        assert len(a.digest) == 64 and a.digest != b.digest

    def test_null_means_default(self):
        policy = parse_policy(rule_text("protected_aliases:\napprovals:\n  expires_after:\nrequire:\n"))
        rule = policy.rules[0]
        assert rule.protected_aliases == ()
        assert rule.approvals.expires_after is None

    def test_yaml_anchors_and_merge_keys(self):
        policy = parse_policy(
            textwrap.dedent(
                """\
                version: 1
                models:
                  - &strict
                    match: "fraud-*"
                    protected_aliases: [production]
                    approvals: {required: 2}
                  - <<: *strict
                    match: "credit-*"
                """
            )
        )
        assert policy.rule_for("credit-x").approvals.required == 2


class TestMistakes:
    def test_negative_quorum_names_line_and_value(self):
        message = problem(rule_text("approvals:\n  required: -1\n"))
        assert message == "policy.yaml line 5: models[0].approvals.required must be a positive integer, got -1"

    @pytest.mark.parametrize("value, shown", [("0", "0"), ("two", "'two'"), ("1.5", "1.5"), ("true", "true")])
    def test_quorum_must_be_a_positive_integer(self, value, shown):
        message = problem(rule_text(f"approvals:\n  required: {value}\n"))
        assert message.startswith(
            f"policy.yaml line 5: models[0].approvals.required must be a positive integer, got {shown}"
        )

    def test_unknown_key_suggests_the_right_one(self):
        message = problem(rule_text("approvals:\n  reviewrs: [dave]\n"))
        assert message.startswith("policy.yaml line 5: unknown key 'reviewrs' in models[0].approvals")
        assert "did you mean 'reviewers'?" in message

    def test_unknown_top_level_key(self):
        message = problem("version: 1\nmodel:\n  - match: x\n")
        assert message.startswith("policy.yaml line 2: unknown key 'model' at the top level")
        assert "did you mean 'models'?" in message

    def test_unknown_rule_key(self):
        assert problem(rule_text("protect_aliases: [x]\n")).startswith(
            "policy.yaml line 4: unknown key 'protect_aliases' in models[0]"
        )

    def test_duplicate_key(self):
        assert problem(rule_text("on_rename: deny\non_rename: allow\n")) == (
            "policy.yaml line 5: duplicate key 'on_rename' in models[0]"
        )

    def test_required_above_the_eligible_reviewers(self):
        message = problem(
            rule_text("approvals:\n  required: 3\n  reviewers: [dave, erin]\n")
        )
        assert message == (
            "policy.yaml line 5: models[0].approvals.required is 3 but only 2 reviewer(s) are "
            "eligible (dave, erin)"
        )

    def test_required_above_the_eligible_reviewers_through_groups(self):
        text = "version: 1\ngroups:\n  risk: [alice, alice2]\nmodels:\n  - match: 'm*'\n    approvals:\n      required: 4\n      reviewers: ['group:risk', alice]\n"
        assert "line 7: models[0].approvals.required is 4 but only 2 reviewer(s)" in problem(text)

    def test_rollback_quorum_is_checked_against_inherited_reviewers(self):
        message = problem(rule_text("approvals:\n  reviewers: [dave]\nrollback:\n  required: 2\n"))
        assert "line 7: models[0].rollback.required is 2 but only 1 reviewer(s) are eligible (dave)" in message

    def test_unknown_group(self):
        message = problem(rule_text("approvals:\n  reviewers: ['group:risk']\n"))
        assert message.startswith(
            "policy.yaml line 5: models[0].approvals.reviewers[0] names unknown group 'risk'"
        )

    def test_groups_cannot_nest(self):
        text = "version: 1\ngroups:\n  a: [alice]\n  b: ['group:a']\n"
        assert "line 4: groups.b[0] 'group:a': a group cannot contain groups" in problem(text)

    def test_group_name_characters(self):
        assert "line 3: group name 'risk team'" in problem("version: 1\ngroups:\n  risk team: [alice]\n")

    @pytest.mark.parametrize(
        "pattern, reason",
        [("'fraud-[ab'", "'[' is never closed"), ("''", "must be non-empty text"), ("3", "must be non-empty text")],
    )
    def test_bad_glob(self, pattern, reason):
        message = problem(f"version: 1\nmodels:\n  - match: {pattern}\n")
        assert message.startswith("policy.yaml line 3: models[0].match")
        assert reason in message

    def test_missing_match(self):
        assert problem("version: 1\nmodels:\n  - protected_aliases: [x]\n") == (
            "policy.yaml line 3: models[0].match is required: a glob on the registered model name"
        )

    def test_unreachable_rule(self):
        text = "version: 1\nmodels:\n  - match: '*'\n  - match: 'fraud-*'\n    protected_aliases: [p]\n"
        assert problem(text).startswith("policy.yaml line 4: models[1] can never apply: models[0] (match '*')")

    @pytest.mark.parametrize("value", ["7", "7 days", "0d", "-1h", "1y", "true"])
    def test_bad_duration(self, value):
        message = problem(rule_text(f"approvals:\n  expires_after: {value}\n"))
        assert message.startswith(
            "policy.yaml line 5: models[0].approvals.expires_after must be a duration like 30m, 12h, 7d or 2w"
        )

    @pytest.mark.parametrize(
        "alias, reason",
        [
            ("v1", "Version alias name 'v1' is reserved"),
            ("V12", "Version alias name 'V12' is reserved"),
            ("latest", "'latest' alias name (case insensitive) is reserved"),
            ("LATEST", "'latest' alias name (case insensitive) is reserved"),
            ("'prod/eu'", "Names may only contain alphanumerics"),
            ("'a b'", "Names may only contain alphanumerics"),
        ],
    )
    def test_alias_names_mlflow_rejects(self, alias, reason):
        message = problem(rule_text(f"protected_aliases:\n  - ok\n  - {alias}\n"))
        assert message.startswith("policy.yaml line 6: models[0].protected_aliases[1]")
        assert "is not an alias MLflow accepts" in message and reason in message

    def test_alias_too_long(self):
        message = problem(rule_text(f"protected_aliases: [{'a' * 256}]\n"))
        assert "line 4:" in message and "exceeds the maximum length" in message

    def test_alias_listed_twice(self):
        assert "line 4: models[0].protected_aliases[1] 'p' is listed twice" in problem(
            rule_text("protected_aliases: [p, p]\n")
        )

    def test_unknown_stage(self):
        assert problem(rule_text("protected_stages: [Prod]\n")).startswith(
            "policy.yaml line 4: models[0].protected_stages[0] 'Prod' is not an MLflow stage"
        )

    def test_unknown_fairness_metric(self):
        message = problem(
            rule_text("require:\n  fairness:\n    - metric: demographic_parity_diff\n      sensitive_feature: sex\n      max: 0.1\n")
        )
        assert message.startswith(
            "policy.yaml line 6: models[0].require.fairness[0].metric 'demographic_parity_diff' "
            "is not a supported fairness metric"
        )
        assert "did you mean 'demographic_parity_difference'?" in message

    def test_fairness_needs_a_threshold_and_feature(self):
        message = problem(rule_text("require:\n  fairness:\n    - metric: accuracy\n"))
        assert "line 6: models[0].require.fairness[0].sensitive_feature is required" in message
        assert "line 6: models[0].require.fairness[0] needs a threshold: max, min or both" in message

    def test_fairness_bounds(self):
        body = "require:\n  fairness:\n    - {metric: accuracy, sensitive_feature: sex, min: 0.9, max: 0.8}\n"
        assert "line 6: models[0].require.fairness[0].min 0.9 is above max 0.8" in problem(rule_text(body))
        body = "require:\n  fairness:\n    - {metric: accuracy, sensitive_feature: sex, max: high}\n"
        assert "models[0].require.fairness[0].max must be a number, got 'high'" in problem(rule_text(body))

    def test_wrong_types(self):
        message = problem(
            rule_text(
                "protected_aliases: production\n"
                "approvals:\n  allow_self_approval: 'no'\n"
                "require:\n  tags: [owner, 3]\n  description: yes please\n"
                "on_delete_alias: ask\n"
            )
        )
        assert "line 4: models[0].protected_aliases must be a list, got 'production'" in message
        assert "line 6: models[0].approvals.allow_self_approval must be true or false, got 'no'" in message
        assert "line 8: models[0].require.tags[1] must be non-empty text, got 3" in message
        assert "line 9: models[0].require.description must be true or false, got 'yes please'" in message
        assert "line 10: models[0].on_delete_alias must be one of approval, allow, deny, got 'ask'" in message

    def test_a_yaml_boolean_where_a_name_is_meant(self):
        message = problem(rule_text("approvals:\n  reviewers: [dave, yes]\n"))
        assert "models[0].approvals.reviewers[1] must be non-empty text, got true (a boolean; quote it" in message

    def test_names_with_stray_spaces(self):
        assert "'dave ' has leading or trailing spaces" in problem(rule_text("approvals:\n  reviewers: ['dave ']\n"))

    def test_version_is_required_and_must_be_1(self):
        assert problem("models: []\n") == "policy.yaml line 1: version is required: start the file with 'version: 1'"
        assert problem("version: 2\n") == "policy.yaml line 1: version must be 1, got 2"
        assert problem("version: '1'\n") == "policy.yaml line 1: version must be 1, got '1'"

    def test_not_a_mapping(self):
        assert problem("- a\n- b\n") == "policy.yaml line 1: the policy must be a mapping, got a list"
        assert "models[0] must be a mapping, got 'fraud-*'" in problem("version: 1\nmodels:\n  - fraud-*\n")

    def test_override_needs_allowed(self):
        assert problem("version: 1\nadmin_override: {}\n") == (
            "policy.yaml line 2: admin_override.allowed is required: the users and groups who may override"
        )

    def test_invalid_yaml(self):
        message = problem("version: 1\nmodels:\n  - match: [unclosed\n")
        assert message.startswith("policy.yaml line 4: invalid YAML:")

    def test_every_problem_is_reported_in_line_order(self):
        message = problem(rule_text("approvals:\n  required: 0\non_rename: maybe\nprotected_stages: [Prod]\n"))
        parts = message.split("; policy.yaml ")
        assert [p.split(":")[0].split("line ")[1] for p in parts] == ["5", "6", "7"]

    def test_supported_metrics_constant(self):
        assert "demographic_parity_difference" in FAIRNESS_METRICS
        assert len(FAIRNESS_METRICS) == 11


class TestFiles:
    def test_load_names_the_file(self, tmp_path):
        path = tmp_path / "policy.yaml"
        path.write_text("version: 1\nmodels:\n  - match: x\n    approvals: {required: -1}\n")
        with pytest.raises(PolicyInvalid, match=rf"^{path} line 4: "):
            load_policy(path)

    def test_missing_file(self, tmp_path):
        path = tmp_path / "nope.yaml"
        with pytest.raises(InvalidInput, match="Policy file not found: .*nope.yaml") as info:
            load_policy(path)
        assert not isinstance(info.value, PolicyInvalid)

    def test_directory(self, tmp_path):
        with pytest.raises(InvalidInput, match="is a directory"):
            load_policy(tmp_path)

    def test_from_env(self, tmp_path):
        path = tmp_path / "p.yaml"
        path.write_text(FULL_POLICY)
        assert policy_from_env({POLICY_ENV_VAR: str(path)}).rule_for("credit-a") is not None
        assert policy_from_env({}) == Policy()
        assert policy_from_env({POLICY_ENV_VAR: "  "}).protects_anything is False
