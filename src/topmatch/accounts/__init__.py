"""Consultant, finance and admin accounts with bearer tokens."""
