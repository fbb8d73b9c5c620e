"""Introductions between bureaus and the sealed (end-to-end encrypted) handover of the
contact details each side releases once an introduction is accepted."""
