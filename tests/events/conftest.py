"""Fixtures of the event tests (the SQLite template of the approval tests)."""

from tests.approvals.fixtures import sqlite_template  # noqa: F401
