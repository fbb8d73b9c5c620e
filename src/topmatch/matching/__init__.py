"""Matching: ranked search over every bureau's openings, openings for one of our clients,
candidate queries.
"""
