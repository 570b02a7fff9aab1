"""Rebuilding registry state from entries, and comparing states (``audit.replay``, ``audit.state``)."""

from __future__ import annotations

from mlflow_registry_ext.audit.replay import replay
from mlflow_registry_ext.audit.state import Difference, ModelState, VersionState, compare


def e(action, model=None, version=None, alias=None, before=None, after=None, details=None):
    return {"action": action, "model": model, "version": version, "alias": alias,
            "before": before or {}, "after": after or {}, "details": details or {}}


def test_a_model_s_history_replays_to_its_current_state():
    state = replay([
        e("registered_model.created", "m", after={"description": "d", "tags": {"team": "risk"}}),
        e("model_version.created", "m", "1", after={"source": "s3://b/1", "run_id": "r1", "description": None,
                                                    "tags": {"t": "1", "governance.status": "none"}}),
        e("model_version.created", "m", "2", after={"source": "s3://b/2", "run_id": None, "description": "v2",
                                                    "tags": {}}),
        e("model_version_alias.created", "m", "1", "prod", after={"version": "1"}),
        e("model_version_alias.created", "m", "2", "prod", before={"version": "1"}, after={"version": "2"}),
        e("model_version.stage_transitioned", "m", "1", after={"stage": "Production"}),
        e("model_version.stage_transitioned", "m", "2", after={"stage": "Production"},
          details={"archived": [{"version": "1", "from": "Production"}]}),
        e("model_version_tag.set", "m", "2", after={"key": "t", "value": "x"}),
        e("model_version_tag.deleted", "m", "1", before={"key": "t", "value": "1"}),
        e("registered_model_tag.set", "m", after={"key": "owner", "value": "alice"}),
        e("registered_model_tag.deleted", "m", before={"key": "team", "value": "risk"}),
        e("registered_model.updated", "m", before={"description": "d"}, after={"description": "d2"}),
        e("model_version.updated", "m", "2", after={"description": "v2b"}),
        e("registered_model.renamed", "m", before={"name": "m"}, after={"name": "n"}),
    ])
    assert list(state) == ["n"]
    model = state["n"]
    assert (model.description, model.tags, model.aliases) == ("d2", {"owner": "alice"}, {"prod": "2"})
    assert model.versions["1"] == VersionState("Archived", None, "s3://b/1", "r1", {"governance.status": "none"})
    assert model.versions["2"] == VersionState("Production", "v2b", "s3://b/2", None, {"t": "x"})


def test_deleting_a_version_drops_its_aliases_and_deleting_a_model_drops_it():
    state = replay([
        e("registered_model.created", "m", after={"tags": {}}),
        e("model_version.created", "m", "1", after={"tags": {}}),
        e("model_version_alias.created", "m", "1", "a", after={"version": "1"}),
        e("model_version.deleted", "m", "1", before={"aliases": {"a": "1"}}),
        e("registered_model.created", "gone", after={"tags": {}}),
        e("registered_model.deleted", "gone"),
    ])
    assert state == {"m": ModelState()}


def test_rows_under_details_changes_are_applied_too():
    # A prompt's tag written by a generic entry, then updated (the row named by its key), and
    # the registered model a copy created in a second transaction.
    state = replay([
        e("registered_model.created", "p", after={"tags": {}}),
        e("prompt_tag.set", "p", details={"key": "k", "value": "1", "changes": [
            {"table": "registered_model_tags", "kind": "insert", "before": {}, "after": {"name": "p", "key": "k", "value": "1"}}]}),
        e("prompt.updated", "p", details={"changes": [
            {"table": "registered_model_tags", "kind": "update", "before": {"value": "1"}, "after": {"value": "2"},
             "row": {"name": "p", "key": "k"}}]}),
        e("model_version.created", "copy", details={"changes": [
            {"table": "registered_models", "kind": "insert", "before": {}, "after": {"name": "copy", "description": None}}]}),
    ])
    assert state["p"].tags == {"k": "2"}
    assert "copy" in state


def test_baseline_parts_set_then_extend_a_model():
    first = ModelState(description="d", aliases={"prod": "1"}, versions={"1": VersionState()}).to_dict()
    state = replay([
        e("audit.baseline", "m", after=first, details={"part": 1, "parts": 2}),
        e("audit.baseline", "m", after={"versions": {"2": VersionState(stage="Staging").to_dict()}},
          details={"part": 2, "parts": 2}),
    ])
    assert state["m"].aliases == {"prod": "1"} and sorted(state["m"].versions) == ["1", "2"]
    assert state["m"].versions["2"].stage == "Staging"


def test_compare_names_each_difference_once_and_ignores_the_plugin_s_own_tags():
    want = {
        "m": ModelState(tags={"governance.status": "approved"}, aliases={"production": "3"},
                        versions={"3": VersionState(), "4": VersionState(tags={"t": "1"})}),
        "only-in-log": ModelState(versions={"1": VersionState()}),
    }
    got = {
        "m": ModelState(tags={"governance.status": "none"}, aliases={"production": "4"},
                        versions={"3": VersionState(stage="Production"), "4": VersionState(tags={"t": "1"}),
                                  "5": VersionState()}),
        "only-in-db": ModelState(),
    }
    found = compare(want, got, "default")
    assert [(d.kind, d.model, d.version, d.key, d.expected, d.actual) for d in found] == [
        ("alias", "m", None, "production", "3", "4"),
        ("stage", "m", "3", None, "None", "Production"),
        ("version", "m", "5", None, "absent", "present"),
        ("model", "only-in-db", None, None, "absent", "present"),
        ("model", "only-in-log", None, None, "present", "absent"),
    ]
    assert found[0].describe() == "m @production: log says '3', database says '4'"
    assert Difference.from_dict(found[0].to_dict()) == found[0]
    assert compare(want, want, "default") == []
