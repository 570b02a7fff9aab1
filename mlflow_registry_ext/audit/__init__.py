"""The audit log's pure maths: hash chain, RFC 9162 tree, C2SP checkpoints, offline proofs.

``verify_inclusion`` and ``verify_consistency`` check proof bundles with no database.
"""

from mlflow_registry_ext.audit.merkle import ProofError
from mlflow_registry_ext.audit.offline import verify_consistency, verify_inclusion

__all__ = ["ProofError", "verify_consistency", "verify_inclusion"]
