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
    │   └── SignatureError        a node-to-node message failed verification (federation.errors)
    ├── PermissionDeniedError     valid credentials, wrong role (403)
    ├── RateLimitedError          too many requests from one caller (429, Retry-After)
    └── PeerError                 talking to a peer went wrong (we are the client)
        ├── PeerUnavailableError  the network is bad: refused, timed out, 5xx; retry later
        │   └── PeerTimeoutError  no (complete) answer within the deadline
        └── PeerDataError         the data is bad: malformed, oversized, not from that peer

Every message about a peer reads the same way, naming the peer and its address once:
``stapverder (https://stapverder.example): onbereikbaar: ...`` (:func:`peer_message`).

"The data is bad" is kept apart from "the network is bad" so that sync can decide whether
backing off and retrying can help.
"""

from __future__ import annotations

from pydantic import ValidationError

from topmatch.explain import explain


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


def input_error(error: ValidationError, what: str = "") -> InputError:
    """The first problem pydantic found, as an :class:`InputError` naming the field."""
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    message = explain(first)
    return InputError(f"{what}: {message}" if what else message, field=field)


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


class TooEarlyError(TopmatchError):
    """We cannot decide yet, but may soon: e.g. a fee agreement we have not collected every
    signature of. HTTP 425 Too Early (RFC 8470): the sender keeps the request and retries."""

    code = "too_early"


class RateLimitedError(TopmatchError):
    """A caller used up its rate or quota; ``retry_after`` says when to try again (s)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def peer_message(peer: str, detail: str, *, address: str | None = None) -> str:
    """The one way a problem with a peer reads: the peer, its address, then the detail."""
    return f"{peer} ({address}): {detail}" if address else f"{peer}: {detail}"


class PeerError(TopmatchError):
    """A peer did not give us a usable answer. ``peer`` names it, ``address`` is its base
    URL when the raiser knows it, ``detail`` the problem without either."""

    code = "peer_error"

    def __init__(
        self, peer: str, message: str, *, status: int | None = None, address: str | None = None
    ) -> None:
        super().__init__(peer_message(peer, message, address=address))
        self.peer = peer
        self.detail = message
        self.address = address
        self.status = status  # the HTTP status of the peer's answer, when there was one


class PeerUnavailableError(PeerError):
    code = "peer_unavailable"


class PeerNotReachedError(PeerUnavailableError):
    """No connection was made: the request cannot have reached the peer, so it cannot have
    been applied there (unlike a timeout or a lost answer, after which it may have been)."""


class PeerTimeoutError(PeerUnavailableError):
    """Keeps the code of its parent: API clients see a peer that is unavailable."""


class PeerDataError(PeerError):
    code = "peer_bad_data"
