"""Typed reading of composed YAML nodes, with each problem tied to its line. Pure.

PyYAML's composer keeps the position of every node; reading the node tree (instead of the plain
objects ``yaml.safe_load`` returns) lets each message name the line of the value at fault.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

import yaml

from mlflow_registry_ext.errors import PolicyInvalid
from mlflow_registry_ext.policy.model import parse_duration

__all__ = ["MISSING", "NodeReader", "null_node"]

#: Returned by a reader whose value was wrong (the problem is already recorded).
MISSING: Any = object()


def null_node() -> yaml.ScalarNode:
    """A stand-in for a key that is absent: read as null, i.e. the default."""
    return yaml.ScalarNode("tag:yaml.org,2002:null", "")


class NodeReader:
    """Walks composed YAML nodes, collecting problems instead of stopping at the first."""

    def __init__(self, text: str, source: str):
        self.source = source
        self.loader = yaml.SafeLoader(text)
        self.problems: list[tuple[int, str]] = []
        self.key_nodes: dict[int, yaml.Node] = {}

    def compose(self) -> yaml.Node | None:
        try:
            root = self.loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            what = " ".join(filter(None, [exc.context, exc.problem]))
            self.problems.append((line, f"{self.source} line {line}: invalid YAML: {what}"))
            return None
        except yaml.YAMLError as exc:
            self.problems.append((1, f"{self.source} line 1: invalid YAML: {exc}"))
            return None
        if isinstance(root, yaml.ScalarNode) and self.value(root) is None:
            return None
        return root

    def dispose(self) -> None:
        self.loader.dispose()

    def raise_problems(self) -> None:
        if self.problems:
            ordered = sorted(set(self.problems))
            error = PolicyInvalid("; ".join(message for _, message in ordered))
            # Each problem on its own, so `policy validate` can print one per line.
            error.problems = [message for _, message in ordered]
            raise error

    # -- reporting -----------------------------------------------------------------------------

    def problem(self, node: yaml.Node, text: str) -> None:
        line = node.start_mark.line + 1
        self.problems.append((line, f"{self.source} line {line}: {text}"))

    def value(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def shown(self, node: yaml.Node) -> str:
        """How a wrong value is quoted back to the user."""
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        value = self.value(node)
        if value is None:
            return "nothing (null)"
        if isinstance(value, bool):
            return f"{str(value).lower()} (a boolean; quote it if you mean text)"
        if isinstance(value, str):
            return repr(value)
        return str(value)

    # -- typed readers -------------------------------------------------------------------------

    def mapping(
        self, node: yaml.Node, path: str, keys: tuple[str, ...] | None
    ) -> dict[str, yaml.Node] | None:
        """The entries of a mapping node, reporting unknown (unless ``keys`` is None), duplicate
        and non-text keys."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{path or 'the policy'} must be a mapping, got {self.shown(node)}")
            return None
        written = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        self.loader.flatten_mapping(node)
        # flatten_mapping puts keys merged in with '<<' first; the keys written here override them.
        merged = len(node.value) - written
        entries: dict[str, yaml.Node] = {}
        from_merge: set[str] = set()
        for position, (key_node, value_node) in enumerate(node.value):
            key = self.value(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            where = f"in {path}" if path else "at the top level"
            if not isinstance(key, str):
                self.problem(key_node, f"keys {where} must be text, got {self.shown(key_node)}")
                continue
            if key in entries and key not in from_merge:
                self.problem(key_node, f"duplicate key {key!r} {where}")
                continue
            from_merge.discard(key)
            if position < merged:
                from_merge.add(key)
            if keys is not None and key not in keys:
                hint = difflib.get_close_matches(key, keys, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                self.problem(
                    key_node,
                    f"unknown key {key!r} {where} (expected one of {', '.join(keys)}){suggestion}",
                )
                continue
            entries[key] = value_node
            self.key_nodes[id(value_node)] = key_node
        return entries

    def is_null(self, node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and self.value(node) is None

    def scalar(self, node: yaml.Node, path: str, ok: Callable[[Any], bool], expected: str) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value = self.value(node)
            if ok(value):
                return value
        self.problem(node, f"{path} must be {expected}, got {self.shown(node)}")
        return MISSING

    def text(self, node: yaml.Node, path: str) -> Any:
        value = self.scalar(node, path, lambda v: isinstance(v, str) and v.strip() != "", "non-empty text")
        if value is not MISSING and value.strip() != value:
            self.problem(node, f"{path} {value!r} has leading or trailing spaces")
            return MISSING
        return value

    def boolean(self, node: yaml.Node, path: str) -> Any:
        return self.scalar(node, path, lambda v: isinstance(v, bool), "true or false")

    def number(self, node: yaml.Node, path: str) -> Any:
        value = self.scalar(
            node,
            path,
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v == v,
            "a number",
        )
        return float(value) if value is not MISSING else value

    def positive_int(self, node: yaml.Node, path: str) -> Any:
        return self.scalar(
            node,
            path,
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
            "a positive integer",
        )

    def choice(self, node: yaml.Node, path: str, choices: tuple[str, ...]) -> Any:
        return self.scalar(node, path, lambda v: v in choices, f"one of {', '.join(choices)}")

    def duration(self, node: yaml.Node, path: str) -> Any:
        value = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        try:
            return parse_duration(value)
        except ValueError:
            self.problem(
                node, f"{path} must be a duration like 30m, 12h, 7d or 2w, got {self.shown(node)}"
            )
            return MISSING

    def items(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node]]:
        """``(path[i], item_node)`` for a list node; a null node is an empty list."""
        if self.is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{path} must be a list, got {self.shown(node)}")
            return []
        return [(f"{path}[{i}]", item) for i, item in enumerate(node.value)]

    def text_list(self, node: yaml.Node, path: str, check: Callable | None = None) -> tuple[str, ...]:
        """Distinct non-empty texts; ``check(item_node, item_path, value)`` may report more."""
        seen: list[str] = []
        for item_path, item in self.items(node, path):
            value = self.text(item, item_path)
            if value is MISSING:
                continue
            if value in seen:
                self.problem(item, f"{item_path} {value!r} is listed twice in {path}")
                continue
            if check is None or check(item, item_path, value):
                seen.append(value)
        return tuple(seen)
