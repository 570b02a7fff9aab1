"""Fixtures of the signing tests (the approval tests' stores and policy)."""

from tests.approvals.fixtures import sqlite_template  # noqa: F401
