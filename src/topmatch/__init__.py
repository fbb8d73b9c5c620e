"""Topmatch: federated matching and a co-signed fee ledger for re-integration bureaus."""

__version__ = "0.1.0"
