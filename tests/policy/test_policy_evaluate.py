"""Pure evaluation of changes against a rule: approvals, requirements, deletes, renames, overrides."""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap

import pytest

from mlflow_registry_ext.errors import InvalidInput, PermissionDenied
from mlflow_registry_ext.policy import (
    ApprovalFact,
    FairnessFact,
    PromotionFacts,
    authorize_reviewer,
    bound_state_hash,
    evaluate,
    fairness_status,
    is_eligible_reviewer,
    parse_policy,
    requirements_summary,
)

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64
TAGS = {"owner": "risk-team", "training_dataset": "s3://data/2024-05"}
DPD_OK = FairnessFact("demographic_parity_difference", "sex", 0.04, passed=True)


def approval(who, ago=dt.timedelta(hours=1), digest=DIGEST, state=None):
    return ApprovalFact(who, NOW - ago, artifact_digest=digest, bound_state_hash=state)


def facts(**changes):
    """Facts for a promotion of fraud-model v7 to production that satisfies the contract rule."""
    base = PromotionFacts(
        model="fraud-model",
        version="7",
        target_kind="alias",
        target="production",
        requester="erin",
        version_creator="frank",
        approvals=(approval("alice"), approval("bob")),
        tags=TAGS,
        description="Gradient boosting, retrained on May data",
        fairness=(DPD_OK,),
        current_artifact_digest=DIGEST,
        approved_artifact_digest=DIGEST,
        now=NOW,
    )
    return dataclasses.replace(base, **changes)


def rule_from(body: str, groups: str = ""):
    text = "version: 1\n" + groups + "models:\n  - match: 'm*'\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return parse_policy(text).rules[0]


class TestPromotion:
    def test_everything_satisfied(self, fraud_rule):
        decision = evaluate(fraud_rule, facts())
        assert decision.allowed, decision.message()
        assert decision.message() == "allowed"
        assert (decision.required, decision.counted) == (2, 2)
        assert decision.counted_approvers == ("alice", "bob")
        assert decision.approvals_text == "2/2"
        assert (decision.rule_match, decision.rule_index) == ("fraud-*", 0)
        assert decision.fairness == "passed"

    def test_message_names_everything_missing(self, fraud_rule):
        decision = evaluate(
            fraud_rule,
            facts(approvals=(approval("alice"),), tags={"owner": "x"}, fairness=()),
        )
        assert not decision.allowed
        assert decision.message() == (
            "needs 2 approvals from risk-reviewers, dave; has 1; missing tag training_dataset; "
            "fairness check demographic_parity_difference on sex missing"
        )
        assert decision.fairness == "missing"
        assert decision.approvals_text == "1/2"

    def test_unprotected_target_and_no_rule(self, contract_policy, fraud_rule):
        assert evaluate(fraud_rule, facts(target="staging", approvals=())).allowed
        assert evaluate(None, facts(approvals=())).allowed
        catch_all = contract_policy.rule_for("churn")
        decision = evaluate(catch_all, facts(model="churn", approvals=()))
        assert decision.allowed and decision.rule_match == "*"

    def test_protected_stage_is_case_insensitive(self, fraud_rule):
        decision = evaluate(fraud_rule, facts(target_kind="stage", target="production", approvals=()))
        assert not decision.allowed and decision.required == 2
        assert evaluate(fraud_rule, facts(target_kind="stage", target="Staging", approvals=())).allowed

    def test_distinct_approvers_only(self, fraud_rule):
        twice = (approval("alice"), approval("alice", ago=dt.timedelta(minutes=5)))
        decision = evaluate(fraud_rule, facts(approvals=twice))
        assert (decision.counted, decision.counted_approvers) == (1, ("alice",))
        assert not decision.allowed

    def test_group_members_and_named_users_count(self, fraud_rule):
        decision = evaluate(fraud_rule, facts(approvals=(approval("carol"), approval("dave"))))
        assert decision.allowed and decision.counted_approvers == ("carol", "dave")

    def test_ineligible_reviewer_does_not_count(self, fraud_rule):
        decision = evaluate(fraud_rule, facts(approvals=(approval("alice"), approval("mallory"))))
        assert not decision.allowed
        assert [(i.approver, i.reason) for i in decision.ignored] == [("mallory", "not an eligible reviewer")]

    def test_requester_and_creator_do_not_count(self, fraud_rule):
        decision = evaluate(
            fraud_rule,
            facts(requester="alice", version_creator="bob", approvals=(approval("alice"), approval("bob"))),
        )
        assert decision.counted == 0
        assert {i.approver: i.reason for i in decision.ignored} == {
            "alice": "the requester's own approval does not count",
            "bob": "the version creator's own approval does not count",
        }

    def test_self_approval_when_allowed(self):
        rule = rule_from(
            "protected_aliases: [production]\napprovals:\n  required: 2\n  reviewers: [alice, bob]\n"
            "  allow_self_approval: true\n"
        )
        decision = evaluate(
            rule, facts(model="m1", requester="alice", version_creator="bob",
                        approvals=(approval("alice"), approval("bob")))
        )
        assert decision.allowed, decision.message()

    def test_no_reviewers_listed_means_anyone_but_self(self):
        rule = rule_from("protected_aliases: [production]\n")
        assert evaluate(rule, facts(model="m1", approvals=(approval("zoe"),))).allowed
        decision = evaluate(rule, facts(model="m1", approvals=(approval("erin"),)))
        assert not decision.allowed
        assert decision.message() == "needs 1 approval from any reviewer; has 0"

    def test_expiry_with_injected_now(self, fraud_rule):
        old = (approval("alice", ago=dt.timedelta(days=7, seconds=1)), approval("bob", ago=dt.timedelta(days=7)))
        decision = evaluate(fraud_rule, facts(approvals=old))
        assert decision.counted_approvers == ("bob",)
        assert decision.ignored[0].approver == "alice"
        assert decision.ignored[0].reason == "expired (approvals expire after 7d)"
        # The same approvals a day earlier both count.
        assert evaluate(fraud_rule, facts(approvals=old, now=NOW - dt.timedelta(days=1))).allowed

    def test_times_as_epoch_milliseconds(self, fraud_rule):
        now_ms = int(NOW.timestamp() * 1000)
        week_ms = 7 * 86400 * 1000
        approvals = (
            ApprovalFact("alice", now_ms - week_ms - 1, artifact_digest=DIGEST),
            ApprovalFact("bob", now_ms - 1000, artifact_digest=DIGEST),
        )
        assert evaluate(fraud_rule, facts(approvals=approvals, now=now_ms)).counted_approvers == ("bob",)

    def test_a_newer_approval_by_the_same_reviewer_renews_it(self, fraud_rule):
        approvals = (approval("alice", ago=dt.timedelta(days=8)), approval("alice"), approval("bob"))
        assert evaluate(fraud_rule, facts(approvals=approvals)).allowed

    def test_never_expiring_without_expires_after(self):
        rule = rule_from("protected_aliases: [production]\napprovals: {reviewers: [alice]}\n")
        ancient = (approval("alice", ago=dt.timedelta(days=3650)),)
        assert evaluate(rule, facts(model="m1", approvals=ancient)).allowed

    def test_missing_and_blank_tags_and_description(self, fraud_rule):
        decision = evaluate(fraud_rule, facts(tags={"owner": "  "}, description=" "))
        assert decision.missing == ("missing tag owner", "missing tag training_dataset", "missing description")

    def test_stale_after_required_tag_or_description_changes(self, fraud_rule):
        state = bound_state_hash(fraud_rule, TAGS, "v7")
        approvals = (approval("alice", state=state), approval("bob", state=state))
        assert evaluate(fraud_rule, facts(approvals=approvals, description="v7")).allowed
        changed = {**TAGS, "owner": "someone-else"}
        decision = evaluate(fraud_rule, facts(approvals=approvals, description="v7", tags=changed))
        assert decision.counted == 0
        assert decision.ignored[0].reason == "stale: a required tag or the description changed after the approval"
        assert evaluate(fraud_rule, facts(approvals=approvals, description="v8")).counted == 0
        # A tag the rule does not require may change freely.
        assert evaluate(fraud_rule, facts(approvals=approvals, description="v7", tags={**TAGS, "note": "x"})).allowed

    def test_artifact_digest_mismatch(self, fraud_rule):
        decision = evaluate(fraud_rule, facts(current_artifact_digest=OTHER_DIGEST))
        assert not decision.allowed
        assert decision.counted == 0  # both approvals were for the old artifacts
        assert "artifact digest mismatch: approved sha256:aaaaaaaaaaaa…, now sha256:bbbbbbbbbbbb…" in decision.missing
        assert decision.ignored[0].reason == "given for other artifacts (sha256:aaaaaaaaaaaa…)"

    def test_artifact_digest_unknown_or_unbound(self, fraud_rule):
        decision = evaluate(fraud_rule, facts(current_artifact_digest=None))
        assert "artifact digest of the version is unknown" in decision.missing
        unbound = (approval("alice", digest=None), approval("bob"))
        decision = evaluate(fraud_rule, facts(approvals=unbound))
        assert decision.ignored[0].reason == "not bound to an artifact digest"
        assert decision.counted == 1

    def test_digest_ignored_when_not_required(self):
        rule = rule_from("protected_aliases: [production]\napprovals: {reviewers: [alice]}\n")
        decision = evaluate(rule, facts(model="m1", approvals=(approval("alice", digest=None),),
                                        current_artifact_digest=OTHER_DIGEST))
        assert decision.allowed


class TestFairness:
    def test_max_breached(self, fraud_rule):
        bad = FairnessFact("demographic_parity_difference", "sex", 0.15, passed=True)
        decision = evaluate(fraud_rule, facts(fairness=(bad,)))
        assert decision.missing == ("fairness check demographic_parity_difference on sex failed: 0.15 > max 0.1",)
        assert decision.fairness == "failed"

    def test_boundary_passes(self, fraud_rule):
        edge = FairnessFact("demographic_parity_difference", "sex", 0.1)
        assert evaluate(fraud_rule, facts(fairness=(edge,))).allowed

    def test_other_feature_does_not_satisfy(self, fraud_rule):
        other = FairnessFact("demographic_parity_difference", "age", 0.0)
        assert evaluate(fraud_rule, facts(fairness=(other,))).fairness == "missing"

    def test_min_and_dataset(self, full_policy):
        rule = full_policy.rule_for("credit-x")
        base = dict(model="credit-x", approvals=(approval("alice"),), requester="alice")
        low = FairnessFact("demographic_parity_ratio", "age", 0.7, dataset_name="holdout-2024")
        decision = evaluate(rule, facts(**base, fairness=(low,)))
        assert decision.missing == (
            "fairness check demographic_parity_ratio on age (dataset holdout-2024) failed: 0.7 < min 0.8",
        )
        wrong_data = FairnessFact("demographic_parity_ratio", "age", 0.9, dataset_name="train")
        decision = evaluate(rule, facts(**base, fairness=(wrong_data,)))
        assert decision.missing == ("fairness check demographic_parity_ratio on age (dataset holdout-2024) missing",)
        by_digest = FairnessFact("demographic_parity_ratio", "age", 0.9, dataset_digest="holdout-2024")
        assert evaluate(rule, facts(**base, fairness=(by_digest,))).allowed

    def test_newest_record_applies(self, fraud_rule):
        older_bad = FairnessFact("demographic_parity_difference", "sex", 0.3, recorded_at=NOW - dt.timedelta(days=1))
        newer_ok = FairnessFact("demographic_parity_difference", "sex", 0.05, recorded_at=NOW)
        assert evaluate(fraud_rule, facts(fairness=(newer_ok, older_bad))).allowed
        assert not evaluate(fraud_rule, facts(fairness=(older_bad, dataclasses.replace(newer_ok, recorded_at=None)))).allowed

    @pytest.mark.parametrize("value", [None, float("nan"), float("-inf")])
    def test_no_value_fails(self, fraud_rule, value):
        decision = evaluate(fraud_rule, facts(fairness=(FairnessFact("demographic_parity_difference", "sex", value),)))
        assert decision.fairness == "failed"

    def test_status_helper(self, fraud_rule, contract_policy):
        assert fairness_status(fraud_rule, [DPD_OK]) == "passed"
        assert fairness_status(fraud_rule, []) == "missing"
        assert fairness_status(contract_policy.rule_for("x"), []) is None
        assert fairness_status(None, []) is None


class TestRollback:
    def test_one_approval_from_the_same_reviewers(self, fraud_rule):
        decision = evaluate(fraud_rule, facts(action="rollback", approvals=(approval("alice"),)))
        assert decision.allowed and decision.required == 1

    def test_requirements_are_not_rechecked_by_default(self, fraud_rule):
        decision = evaluate(
            fraud_rule, facts(action="rollback", approvals=(approval("dave"),), tags={}, fairness=())
        )
        assert decision.allowed and decision.fairness is None

    def test_digest_is_still_checked(self, fraud_rule):
        decision = evaluate(fraud_rule, facts(action="rollback", current_artifact_digest=OTHER_DIGEST))
        assert not decision.allowed and decision.message().startswith("rollback needs 1 approval from")

    def test_stricter_rollback_rule_rechecks(self, full_policy):
        rule = full_policy.rule_for("credit-x")
        decision = evaluate(rule, facts(model="credit-x", action="rollback", approvals=(approval("alice"),)))
        assert decision.missing[0] == "rollback needs 2 approvals from risk-reviewers; has 1"
        assert "fairness check demographic_parity_ratio on age (dataset holdout-2024) missing" in decision.missing
        # The rollback's own expiry (12h) applies, not the promotion's.
        stale = (approval("alice", ago=dt.timedelta(hours=13)), approval("bob"))
        assert evaluate(rule, facts(model="credit-x", action="rollback", approvals=stale)).counted == 1

    def test_rollback_applies_to_aliases_only(self):
        with pytest.raises(InvalidInput, match="aliases only"):
            facts(action="rollback", target_kind="stage", target="Production")


class TestDeleteAlias:
    def test_default_needs_the_rule_approvals(self, fraud_rule):
        decision = evaluate(fraud_rule, facts(action="delete_alias", approvals=(approval("alice"),), tags={}))
        assert decision.message() == "deleting protected alias 'production' needs 2 approvals from risk-reviewers, dave; has 1"
        assert evaluate(fraud_rule, facts(action="delete_alias", tags={}, fairness=())).allowed

    def test_deny_and_allow(self, full_policy):
        denied = evaluate(full_policy.rule_for("credit-x"), facts(model="credit-x", action="delete_alias"))
        assert not denied.allowed and "denied by policy" in denied.message()
        allowed = evaluate(full_policy.rule_for("scratch-x"), facts(model="scratch-x", action="delete_alias", approvals=()))
        assert allowed.allowed

    def test_unprotected_alias(self, fraud_rule):
        assert evaluate(fraud_rule, facts(action="delete_alias", target="staging", approvals=())).allowed


class TestReviewersAndOverrides:
    def test_is_eligible_reviewer(self, fraud_rule, full_policy):
        assert is_eligible_reviewer(fraud_rule, "carol") and is_eligible_reviewer(fraud_rule, "dave")
        assert not is_eligible_reviewer(fraud_rule, "mallory")
        assert not is_eligible_reviewer(fraud_rule, None)
        assert not is_eligible_reviewer(None, "alice")
        credit = full_policy.rule_for("credit-x")
        assert not is_eligible_reviewer(credit, "bob")
        assert is_eligible_reviewer(credit, "bob", action="rollback")

    def test_authorize_reviewer(self, fraud_rule):
        authorize_reviewer(fraud_rule, "alice", requester="erin", version_creator="frank")
        with pytest.raises(PermissionDenied, match="mallory is not an eligible reviewer under models\\[0\\]"):
            authorize_reviewer(fraud_rule, "mallory")
        with pytest.raises(PermissionDenied, match="alice requested this change"):
            authorize_reviewer(fraud_rule, "alice", requester="alice")
        with pytest.raises(PermissionDenied, match="bob created this model version"):
            authorize_reviewer(fraud_rule, "bob", version_creator="bob")
        with pytest.raises(PermissionDenied, match="nothing to review"):
            authorize_reviewer(None, "alice")


class TestSummaryAndFacts:
    def test_requirements_summary(self, fraud_rule):
        summary = requirements_summary(fraud_rule, "production")
        assert summary.protected
        assert summary.items == (
            "2 distinct approvals from risk-reviewers, dave (eligible: alice, bob, carol, dave)",
            "the requester's and the version creator's own approvals do not count",
            "approvals expire after 7d",
            "tag owner",
            "tag training_dataset",
            "a description",
            "fairness check demographic_parity_difference on sex <= 0.1",
            "artifacts unchanged since the approval (artifact digest)",
        )
        assert summary.to_dict()["rule"] == "models[0] (match 'fraud-*')"
        rollback = requirements_summary(fraud_rule, "production", action="rollback")
        assert rollback.items[0].startswith("1 distinct approval from")
        assert "tag owner" not in rollback.items
        assert not requirements_summary(fraud_rule, "staging").protected
        assert requirements_summary(None, "production").items == ()
        assert requirements_summary(fraud_rule, "PRODUCTION", kind="stage").protected

    def test_facts_are_checked_and_normalized(self):
        made = PromotionFacts(model="m", version=3, target_kind="alias", target="p", approvals=[approval("a")])
        assert made.version == "3" and isinstance(made.approvals, tuple)
        assert made.describe() == "setting alias 'p' of m to version 3"
        with pytest.raises(InvalidInput, match="target_kind"):
            PromotionFacts(model="m", version="1", target_kind="tag", target="p")
        with pytest.raises(InvalidInput, match="action"):
            PromotionFacts(model="m", version="1", target_kind="alias", target="p", action="promote!")

    def test_decision_to_dict(self, fraud_rule):
        data = evaluate(fraud_rule, facts(approvals=(approval("mallory"),))).to_dict()
        assert data["allowed"] is False
        assert data["message"].startswith("needs 2 approvals")
        assert data["ignored"] == [{"approver": "mallory", "reason": "not an eligible reviewer"}]
