"""Artifact paths are canonical, relative and can never leave the root."""

from __future__ import annotations

import pytest

from mlflow_registry_ext.artifacts.paths import clean_path, join_paths, parent_and_name
from mlflow_registry_ext.errors import InvalidInput


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, ""),
        ("", ""),
        (".", ""),
        ("a", "a"),
        ("a/b/c", "a/b/c"),
        ("./a//b/", "a/b"),
        ("a/./b", "a/b"),
        ("model name/with spaces.txt", "model name/with spaces.txt"),
        ("ünïcode/名前", "ünïcode/名前"),
        ("..a/b..", "..a/b.."),
    ],
)
def test_clean_paths_are_canonical(given, expected):
    assert clean_path(given) == expected


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("..", "'..' is not allowed"),
        ("../etc/passwd", "'..' is not allowed"),
        ("a/../../b", "'..' is not allowed"),
        ("/etc/passwd", "must be relative"),
        ("a\\..\\b", "not '\\'"),
        ("a\x00b", "control characters"),
        ("a\nb", "control characters"),
    ],
)
def test_unsafe_paths_are_refused_with_the_reason(bad, reason):
    with pytest.raises(InvalidInput, match="Invalid artifact path") as info:
        clean_path(bad)
    assert reason in info.value.message
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_non_strings_are_refused():
    with pytest.raises(InvalidInput, match="expected a string"):
        clean_path(3)


def test_join_and_split():
    assert join_paths("", "a", None, "b/c") == "a/b/c"
    assert parent_and_name("a/b/c") == ("a/b", "c")
    assert parent_and_name("c") == ("", "c")


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "a\\b", "a\x00b"])
def test_refusals_begin_with_mlflows_wording(path):
    with pytest.raises(InvalidInput) as artifact:
        clean_path(path)
    assert artifact.value.message.startswith(f"Invalid artifact path: {path!r}. ")
    with pytest.raises(InvalidInput) as other:
        clean_path(path, what="file name")
    assert other.value.message.startswith("Invalid path: ")
