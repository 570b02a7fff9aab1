"""Look-alike folding of alias and stage names (Unicode NFKC, case, TS #39 confusables)."""

from __future__ import annotations

import pytest

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.policy import parse_policy
from mlflow_registry_ext.policy.names import check_alias_name, fold, has_hidden_characters, lookalike_of

LOOKALIKES = [
    "Production",
    "PRODUCTION",
    "pr\u043eduction",  # Cyrillic small letter o
    "\uff50\uff52\uff4f\uff44\uff55\uff43\uff54\uff49\uff4f\uff4e",  # full-width
    "\u0420RODUCTION",  # Cyrillic capital er
    "producti\u03bfn",  # Greek small omicron
]


def test_the_reported_strings_are_what_they_claim():
    assert "pr\u043eduction" == "prоduction" != "production"
    assert "\uff50\uff52\uff4f\uff44\uff55\uff43\uff54\uff49\uff4f\uff4e" == "ｐｒｏｄｕｃｔｉｏｎ"


@pytest.mark.parametrize("name", LOOKALIKES)
def test_lookalikes_fold_to_the_protected_name(name):
    assert fold(name) == fold("production")
    assert lookalike_of(name, ["champion", "production"]) == "production"


def test_the_protected_name_itself_and_other_names_are_no_lookalikes():
    assert lookalike_of("production", ["production"]) is None
    for name in ("staging", "prod", "production-2", "productions", "challenger"):
        assert lookalike_of(name, ["production", "champion"]) is None, name


def test_confusable_sequences_fold_together():
    # TS #39 maps "m" to "rn": "charnpion" reads as "champion".
    assert lookalike_of("charnpion", ["champion"]) == "champion"
    assert lookalike_of("champ\u0456on", ["champion"]) == "champion"  # Cyrillic i
    assert lookalike_of("c1ient", ["client"]) == "client"  # digit one reads as l


def test_rules_compare_aliases_and_stages_folded():
    policy = parse_policy(
        "version: 1\nmodels:\n  - match: 'fraud-*'\n    protected_aliases: [production]\n"
        "    protected_stages: [Production]\n"
    )
    rule = policy.rule_for("fraud-model")
    for name in LOOKALIKES:
        assert rule.lookalike_alias(name) == "production"
    assert rule.lookalike_alias("production") is None
    assert rule.lookalike_alias("staging") is None
    # Stages compare case-insensitively already (as MLflow does): case alone is the stage itself.
    assert rule.lookalike_stage("PRODUCTION") is None and rule.protects_stage("PRODUCTION")
    assert rule.lookalike_stage("Pr\u043eduction") == "Production"
    assert rule.lookalike_stage("\uff30roduction") == "Production"  # full-width P
    assert rule.lookalike_stage("Staging") is None


@pytest.mark.parametrize(
    "name",
    ["production\n", "production ", " production", "prod\tuction", "prod\u200buction", "production\u202e",
     "\x00production", "production\r", "production\u00a0"],
)
def test_alias_names_with_hidden_characters_are_refused(name):
    assert has_hidden_characters(name)
    with pytest.raises(InvalidInput) as err:
        check_alias_name(name)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert err.value.message.startswith(f"Invalid alias name: {name!r}.")


@pytest.mark.parametrize("name", ["production", "champion-2", "v_next", "prod_2026", "\u00e9t\u00e9"])
def test_ordinary_alias_names_pass(name):
    check_alias_name(name)
