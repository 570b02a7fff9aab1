"""Fixtures of the approval tests (shared with the enforcement tests)."""

from tests.approvals.fixtures import sqlite_template, store  # noqa: F401
