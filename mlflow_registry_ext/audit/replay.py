"""The registry state the audit log describes, rebuilt entry by entry. Pure.

Each registry action is applied from what its entry records (see
:mod:`mlflow_registry_ext.registry.drafts`): the target, the compact ``before``/``after``, and
under ``details.changes`` every other row the transaction touched, which is applied as a row
change. An ``audit.baseline`` entry sets a model to the state found when the plugin was first
installed on a database that already held it.

Example:
    >>> state = replay([{"action": "registered_model.created", "model": "m",
    ...                  "after": {"description": None, "tags": {}}}])
    >>> sorted(state)
    ['m']
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from mlflow_registry_ext.audit.state import ModelState, RegistryState, VersionState

__all__ = ["replay", "apply", "REGISTRY_ACTION_PREFIXES", "BASELINE_ACTION"]

#: Entries whose action starts with one of these can change registry state.
REGISTRY_ACTION_PREFIXES = ("registered_model", "model_version", "prompt")
BASELINE_ACTION = "audit.baseline"
_SOFT_DELETED = "Deleted_Internal"

Entry = Mapping[str, Any]


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _model(state: RegistryState, name: str | None) -> ModelState | None:
    if name is None:
        return None
    found = state.get(name)
    if found is None:
        # A change to a model the log never saw created (e.g. entries relayed out of order):
        # keep it, so what it describes is still compared.
        found = state[name] = ModelState()
    return found


def _version(state: RegistryState, name: str | None, version: Any) -> VersionState | None:
    model = _model(state, name)
    if model is None or version is None:
        return None
    key = str(version)
    found = model.versions.get(key)
    if found is None:
        found = model.versions[key] = VersionState()
    return found


def _drop_version(state: RegistryState, name: str | None, version: Any) -> None:
    model = state.get(name) if name is not None else None
    if model is None or version is None:
        return
    key = str(version)
    model.versions.pop(key, None)
    # MLflow deletes the aliases of a version it deletes.
    for alias in [a for a, v in model.aliases.items() if v == key]:
        del model.aliases[alias]


# -- structured actions ---------------------------------------------------------------------


def _model_created(state, e):
    after = e.get("after") or {}
    state[e["model"]] = ModelState(
        description=after.get("description"),
        tags={str(k): _s(v) for k, v in (after.get("tags") or {}).items()},
    )


def _model_updated(state, e):
    after = e.get("after") or {}
    if "description" in after:
        _model(state, e["model"]).description = after["description"]


def _model_renamed(state, e):
    old = (e.get("before") or {}).get("name") or e.get("model")
    new = (e.get("after") or {}).get("name") or (e.get("details") or {}).get("new_name")
    if old is None or new is None or old not in state:
        return
    state[new] = state.pop(old)


def _model_deleted(state, e):
    state.pop(e.get("model"), None)


def _tag_key_value(e) -> tuple[Any, Any]:
    after, details = e.get("after") or {}, e.get("details") or {}
    key = after.get("key", details.get("key"))
    value = after.get("value", details.get("value"))
    return key, value


def _deleted_key(e) -> Any:
    return (e.get("before") or {}).get("key", (e.get("details") or {}).get("key"))


def _model_tag_set(state, e):
    key, value = _tag_key_value(e)
    if key is not None:
        _model(state, e["model"]).tags[str(key)] = _s(value)


def _model_tag_deleted(state, e):
    key = _deleted_key(e)
    model = state.get(e.get("model"))
    if model is not None and key is not None:
        model.tags.pop(str(key), None)


def _version_created(state, e):
    if e.get("version") is None:
        return  # a second transaction of the call: its rows are under details.changes
    after = e.get("after") or {}
    model = _model(state, e["model"])
    model.versions[str(e["version"])] = VersionState(
        stage="None",
        description=after.get("description"),
        source=after.get("source"),
        run_id=after.get("run_id"),
        tags={str(k): _s(v) for k, v in (after.get("tags") or {}).items()},
    )


def _set_after(state, e, field: str) -> None:
    """Set ``field`` of the entry's version to its value after the change, if it recorded one."""
    after = e.get("after") or {}
    found = _version(state, e["model"], e.get("version")) if field in after else None
    if found is not None:
        setattr(found, field, after[field])


def _version_updated(state, e):
    _set_after(state, e, "description")


def _stage_transitioned(state, e):
    _set_after(state, e, "stage")
    for archived in (e.get("details") or {}).get("archived") or ():
        other = _version(state, e["model"], archived.get("version"))
        if other is not None:
            other.stage = "Archived"


def _version_deleted(state, e):
    before = e.get("before") or {}
    if not before:
        _drop_version(state, e.get("model"), e.get("version"))
        return
    # The entry names the aliases the deletion really removed: some MLflow releases (3.10 among them) keep
    # an alias whose version was given as a string ("3" != 3), and the log must say what happened.
    model = state.get(e.get("model")) if e.get("model") is not None else None
    if model is None or e.get("version") is None:
        return
    model.versions.pop(str(e.get("version")), None)
    for alias in before.get("aliases") or {}:
        model.aliases.pop(alias, None)


def _version_tag_set(state, e):
    key, value = _tag_key_value(e)
    found = _version(state, e.get("model"), e.get("version")) if key is not None else None
    if found is not None:
        found.tags[str(key)] = _s(value)


def _version_tag_deleted(state, e):
    key = _deleted_key(e)
    model = state.get(e.get("model"))
    found = model.versions.get(str(e.get("version"))) if model is not None else None
    if found is not None and key is not None:
        found.tags.pop(str(key), None)


def _alias_set(state, e):
    version = (e.get("after") or {}).get("version", e.get("version"))
    if e.get("alias") is not None and version is not None:
        _model(state, e["model"]).aliases[e["alias"]] = str(version)


def _alias_deleted(state, e):
    model = state.get(e.get("model"))
    if model is not None:
        model.aliases.pop(e.get("alias"), None)


def _baseline(state, e):
    found = ModelState.from_dict(e.get("after") or {})
    part = (e.get("details") or {}).get("part", 1)
    if part == 1 or e["model"] not in state:
        state[e["model"]] = found
    else:
        state[e["model"]].versions.update(found.versions)


_HANDLERS: dict[str, Callable[[RegistryState, Entry], None]] = {
    "registered_model.created": _model_created,
    "registered_model.updated": _model_updated,
    "registered_model.renamed": _model_renamed,
    "registered_model.deleted": _model_deleted,
    "registered_model_tag.set": _model_tag_set,
    "registered_model_tag.deleted": _model_tag_deleted,
    "model_version.created": _version_created,
    "model_version.updated": _version_updated,
    "model_version.stage_transitioned": _stage_transitioned,
    "model_version.deleted": _version_deleted,
    "model_version_tag.set": _version_tag_set,
    "model_version_tag.deleted": _version_tag_deleted,
    "model_version_alias.created": _alias_set,
    "model_version_alias.deleted": _alias_deleted,
    # Prompts are registered models underneath; their entries carry the target and key/value
    # in the same places (their rows are under details.changes as well).
    "prompt.deleted": _model_deleted,
    "prompt_tag.set": _model_tag_set,
    "prompt_tag.deleted": _model_tag_deleted,
    "prompt_version.deleted": _version_deleted,
    "prompt_version_tag.set": _version_tag_set,
    "prompt_version_tag.deleted": _version_tag_deleted,
    "prompt_alias.created": _alias_set,
    "prompt_alias.deleted": _alias_deleted,
    BASELINE_ACTION: _baseline,
}


# -- row changes (details.changes) ----------------------------------------------------------


def _row(change) -> tuple[dict, dict]:
    """The row's identity before the change, and its values after."""
    before, after = change.get("before") or {}, change.get("after") or {}
    if change.get("kind") == "delete":
        return before, {}
    if change.get("kind") == "insert":
        return after, after
    identity = dict(change.get("row") or {})
    identity.update({k: v for k, v in before.items() if k in identity})
    current = dict(change.get("row") or {})
    current.update(after)
    return identity, current


def _apply_row(state: RegistryState, change: Mapping[str, Any]) -> None:
    table, kind = change.get("table"), change.get("kind")
    if kind == "update" and not change.get("row"):
        return  # recorded before updated rows named their row: nothing to locate it by
    old, new = _row(change)
    name = old.get("name")
    if name is None:
        return
    if table == "registered_models":
        if kind == "insert":
            state.setdefault(name, ModelState(description=new.get("description")))
        elif kind == "delete":
            state.pop(name, None)
        elif name in state:
            if "description" in change.get("after", {}):
                state[name].description = new.get("description")
            if new.get("name") not in (None, name):
                state[new["name"]] = state.pop(name)
    elif table == "model_versions":
        version = old.get("version")
        if kind == "delete" or new.get("current_stage") == _SOFT_DELETED:
            _drop_version(state, name, version)
            return
        found = _version(state, name, version)
        if found is None:
            return
        for field, column in (("stage", "current_stage"), ("description", "description"),
                              ("source", "source"), ("run_id", "run_id")):
            if column in new and (kind == "insert" or column in change.get("after", {})):
                value = new[column]
                setattr(found, field, (value or "None") if field == "stage" else value)
    elif table == "registered_model_tags":
        if kind == "delete":
            model = state.get(name)
            if model is not None:
                model.tags.pop(str(old.get("key")), None)
        else:
            _model(state, name).tags[str(new.get("key", old.get("key")))] = _s(new.get("value"))
    elif table == "model_version_tags":
        version = old.get("version")
        if kind == "delete":
            model = state.get(name)
            found = model.versions.get(str(version)) if model is not None else None
            if found is not None:
                found.tags.pop(str(old.get("key")), None)
        else:
            found = _version(state, name, version)
            if found is not None:
                found.tags[str(new.get("key", old.get("key")))] = _s(new.get("value"))
    elif table == "registered_model_aliases":
        if kind == "delete":
            model = state.get(name)
            if model is not None:
                model.aliases.pop(old.get("alias"), None)
        elif new.get("version") is not None:
            _model(state, name).aliases[str(new.get("alias", old.get("alias")))] = str(new["version"])


def apply(state: RegistryState, entry: Entry) -> None:
    """Apply one entry (its fields as a mapping, e.g. a decoded body) to ``state``."""
    handler = _HANDLERS.get(entry.get("action"))
    if handler is not None:
        handler(state, entry)
    for change in (entry.get("details") or {}).get("changes") or ():
        _apply_row(state, change)


def replay(entries: Iterable[Entry]) -> RegistryState:
    """The registry state ``entries`` (oldest first, one workspace) describe."""
    state: RegistryState = {}
    for entry in entries:
        apply(state, entry)
    return state
