"""Fixtures of the security tests (shared with the approval tests)."""

from tests.approvals.fixtures import sqlite_template  # noqa: F401
