"""The one error root of Topmatch.

Every error a service raises on purpose derives from :class:`TopmatchError`. The HTTP
layer (``topmatch.api.errors``) maps each branch to one status code and a problem+json
body; the CLI prints :meth:`TopmatchError.diagnostics` and exits non-zero.

    TopmatchError
    ├── ConfigurationError        settings or files on disk are unusable (start-up)
    ├── InputError                the request is well-formed but its content is wrong (422)
    ├── NotFoundError             no such record (404)
    ├── ConflictError             it clashes with the current state (409)
    │   └── VersionConflictError  an edit raced another edit (409/412)
    ├── AuthenticationError       no or bad credentials (401)
    └── PermissionDeniedError     valid credentials, wrong role (403)

"The data is bad" (the branches above) is kept apart from "the network is bad", which
later packages add under their own root so that retries can tell the two apart.
"""

from __future__ import annotations


class TopmatchError(Exception):
    """Root of every deliberate Topmatch error."""

    #: A short machine-readable code, stable across versions (used in problem+json ``code``).
    code = "topmatch_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def diagnostics(self) -> str:
        """The text a human sees (CLI output, problem+json ``detail``)."""
        if self.field:
            return f"{self.field}: {self.message}"
        return self.message


class ConfigurationError(TopmatchError):
    code = "configuration_error"


class InputError(TopmatchError):
    code = "invalid_input"


class NotFoundError(TopmatchError):
    code = "not_found"


class ConflictError(TopmatchError):
    code = "conflict"


class VersionConflictError(ConflictError):
    """The record changed since the caller read it.

    ``precondition`` is true when the caller stated its expectation in an ``If-Match``
    header (HTTP 412), false when it was the ``version`` field of the body (HTTP 409).
    """

    code = "version_conflict"

    def __init__(self, *, expected: int, actual: int, precondition: bool) -> None:
        super().__init__(
            f"record was changed by someone else: you edited version {expected}, "
            f"the current version is {actual}; reload and try again"
        )
        self.expected = expected
        self.actual = actual
        self.precondition = precondition


class AuthenticationError(TopmatchError):
    code = "unauthenticated"


class PermissionDeniedError(TopmatchError):
    code = "forbidden"
