"""Approval requests: their tables and records, the approval store, rollback targets and the
version state both the store and the gate read."""
