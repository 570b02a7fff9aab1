"""Fixtures of the enforcement tests (shared with the approval tests) and the browser."""

from tests.approvals.fixtures import sqlite_template, store  # noqa: F401
from tests.support.browser import chromium  # noqa: F401
