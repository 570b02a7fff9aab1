"""The registry state of one workspace, and the differences between two such states. Pure.

A :data:`RegistryState` maps each registered model's name to a :class:`ModelState`: its
description, tags, aliases and live versions (stage, description, source, run id, tags). The
same shape is rebuilt from the audit log (:mod:`.replay`) and read from the database
(:mod:`.registry_reader`), and :func:`compare` lists every way they differ.

The plugin's own ``governance.*`` tags are left out on both sides: they are derived from audited
facts and rewritten without an entry of their own (see
:mod:`mlflow_registry_ext.registry.status_tags`).

Example:
    >>> compare({"m": ModelState(aliases={"prod": "3"})}, {"m": ModelState(aliases={"prod": "4"})}, "default")
    [Difference(workspace='default', kind='alias', model='m', version=None, key='prod', expected='3', actual='4')]
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = [
    "VersionState",
    "ModelState",
    "RegistryState",
    "Difference",
    "DIFFERENCE_KINDS",
    "compare",
    "is_derived_tag",
    "PRESENT",
    "ABSENT",
]

#: ``expected``/``actual`` of a ``model`` or ``version`` difference.
PRESENT, ABSENT = "present", "absent"

#: What a difference can be about.
DIFFERENCE_KINDS = ("model", "version", "stage", "description", "source", "run_id", "tag", "alias")

_DERIVED_TAG_PREFIX = ("governance.", "gov.")
_DERIVED_TAG = "gov"  # the reviewer-page link (status_tags.LINK_TAG)


def is_derived_tag(key: str) -> bool:
    """Whether ``key`` is one of the plugin's own tags, which reconciling leaves out."""
    return key == _DERIVED_TAG or key.startswith(_DERIVED_TAG_PREFIX)


@dataclasses.dataclass
class VersionState:
    """A live model version (a soft-deleted one is not part of the state)."""

    stage: str = "None"
    description: str | None = None
    source: str | None = None
    run_id: str | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VersionState:
        return cls(
            stage=data.get("stage") or "None",
            description=data.get("description"),
            source=data.get("source"),
            run_id=data.get("run_id"),
            tags={str(k): _text(v) for k, v in (data.get("tags") or {}).items()},
        )


@dataclasses.dataclass
class ModelState:
    """A registered model with its aliases (alias -> version) and live versions."""

    description: str | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    aliases: dict[str, str] = dataclasses.field(default_factory=dict)
    versions: dict[str, VersionState] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "tags": dict(self.tags),
            "aliases": dict(self.aliases),
            "versions": {v: s.to_dict() for v, s in self.versions.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelState:
        return cls(
            description=data.get("description"),
            tags={str(k): _text(v) for k, v in (data.get("tags") or {}).items()},
            aliases={str(k): _text(v) for k, v in (data.get("aliases") or {}).items()},
            versions={str(v): VersionState.from_dict(s) for v, s in (data.get("versions") or {}).items()},
        )


RegistryState = dict[str, ModelState]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclasses.dataclass(frozen=True)
class Difference:
    """One way the database differs from what the audit log says it should hold.

    Attributes:
        workspace: The MLflow workspace.
        kind: One of :data:`DIFFERENCE_KINDS`.
        model: The registered model.
        version: The model version, for version-level differences.
        key: The tag key or the alias name (``None`` otherwise).
        expected: The value the log describes (``None``: it has none; ``present``/``absent``
            for a model or version).
        actual: The value in the database, in the same terms.
    """

    workspace: str
    kind: str
    model: str
    version: str | None
    key: str | None
    expected: str | None
    actual: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Difference:
        return cls(**{f.name: data.get(f.name) for f in dataclasses.fields(cls)})

    @property
    def identity(self) -> tuple:
        """What makes two differences the same drift (reported once, not on every run)."""
        return dataclasses.astuple(self)

    def describe(self) -> str:
        """One line, e.g. ``fraud@production: log says version 3, database says 4``."""
        where = self.model + (f" version {self.version}" if self.version else "")
        if self.kind in ("model", "version"):
            return f"{where}: {self.kind} is {self.actual} in the database, {self.expected} in the log"
        what = {"alias": f"@{self.key}", "tag": f"tag {self.key!r}"}.get(self.kind, self.kind)
        return f"{where} {what}: log says {self.expected!r}, database says {self.actual!r}"


def _tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not is_derived_tag(k)}


def compare(expected: RegistryState, actual: RegistryState, workspace: str) -> list[Difference]:
    """Every difference between the state the log describes and the state found, sorted.

    A model (or version) present on one side only is one difference; its contents are not
    listed again.
    """
    found: list[Difference] = []

    def add(kind, model, version, key, want, got):
        found.append(Difference(workspace, kind, model, version, key, want, got))

    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None or got is None:
            add("model", name, None, None, PRESENT if want else ABSENT, PRESENT if got else ABSENT)
            continue
        if want.description != got.description:
            add("description", name, None, None, want.description, got.description)
        _compare_map(add, "tag", name, None, _tags(want.tags), _tags(got.tags))
        _compare_map(add, "alias", name, None, want.aliases, got.aliases)
        for version in sorted(set(want.versions) | set(got.versions), key=_version_order):
            v_want, v_got = want.versions.get(version), got.versions.get(version)
            if v_want is None or v_got is None:
                add("version", name, version, None, PRESENT if v_want else ABSENT, PRESENT if v_got else ABSENT)
                continue
            for field in ("stage", "description", "source", "run_id"):
                if getattr(v_want, field) != getattr(v_got, field):
                    add(field, name, version, None, getattr(v_want, field), getattr(v_got, field))
            _compare_map(add, "tag", name, version, _tags(v_want.tags), _tags(v_got.tags))
    return found


def _compare_map(add, kind, model, version, want: dict, got: dict) -> None:
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            add(kind, model, version, key, want.get(key), got.get(key))


def _version_order(version: str):
    return (0, int(version), "") if version.isdigit() else (1, 0, version)
