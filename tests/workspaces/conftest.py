"""Fixtures of the enforcement tests (shared with the approval tests)."""

from tests.approvals.fixtures import sqlite_template, store  # noqa: F401
