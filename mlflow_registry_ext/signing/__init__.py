"""Signing: approval signatures and their attestations, the signature store, the public keys
that verify them and the check of a version's files against its signature."""
