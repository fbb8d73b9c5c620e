"""Introductions between bureaus and the encrypted handover of personal data (in progress:
the sealed-box encryption is built; the introduction workflow is planned)."""
