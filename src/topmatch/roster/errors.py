"""Errors of the federation roster. All of them mean "the roster is bad" (or not yet good
enough): retrying with the same bytes gives the same answer.

    TopmatchError (topmatch.errors)
    └── InputError
        └── RosterError               invalid_roster      root of this tree
            ├── RosterFormatError     malformed_roster    not JSON, not topmatch.roster/1,
            │                                             or not in the form topmatch writes
            ├── RosterThresholdError  roster_threshold    fewer distinct members signed than
            │                                             the threshold requires
            ├── RosterVersionError    roster_version      not the version after the one in force
            │   (also a ConflictError: a node answers 409)
            └── RosterExpiredError    roster_expired      past its ``expires``

Each message names the rule it applies (docs/adr/0015-federation-roster.md): which roster,
which members signed, how many were needed.
"""

from __future__ import annotations

from topmatch.errors import ConflictError, InputError


class RosterError(InputError):
    code = "invalid_roster"


class RosterFormatError(RosterError):
    code = "malformed_roster"


class RosterThresholdError(RosterError):
    code = "roster_threshold"


class RosterVersionError(RosterError, ConflictError):
    code = "roster_version"


class RosterExpiredError(RosterError):
    code = "roster_expired"
