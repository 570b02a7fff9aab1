"""The evidence bundle of a model version: one signed zip an auditor verifies offline."""
