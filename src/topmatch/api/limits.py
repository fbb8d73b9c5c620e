"""Limits on what a request may carry, enforced before any handler sees it.

- :class:`BodySizeLimit`, an ASGI middleware in front of every route (API, federation,
  web forms): a declared ``Content-Length`` over the limit is refused at once; a body sent
  without one (chunked) is counted as it streams, and the moment it passes the limit the
  middleware answers 413 itself. A JSON body is also scanned as it streams (:class:`JsonScan`):
  not UTF-8, or nested deeper than :data:`MAX_JSON_DEPTH`, is a 422 that says which, never
  a bare 400 or a 500 from a ``RecursionError`` in the parser. Either way no handler runs
  with the body, so nothing is written.
- :func:`check_request_text`, a dependency of every route: no control character (NUL and
  the like; tab, newline and CR are allowed) in a query parameter, path parameter or form
  field. JSON bodies are checked by their models (:class:`topmatch.bounds.CleanInput`).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import Final

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from topmatch.bounds import CONTROL_CHARACTERS, control_characters

#: Deepest nesting of arrays and objects a JSON body may have; our deepest model needs 6.
MAX_JSON_DEPTH: Final = 64

_NOT_WEB = ("/api/", "/federation/")
PROBLEM: Final = b"application/problem+json"
_DISCONNECT: Final[Message] = {"type": "http.disconnect"}


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self.too_large(scope, send)
            return
        await _Counted(self, scope, receive, send).run()

    async def too_large(self, scope: Scope, send: Send) -> None:
        if str(scope.get("path", "")).startswith(_NOT_WEB):
            await _answer(send, 413, _problem(self.max_bytes), PROBLEM)
        else:
            await _answer(send, 413, _page(self.max_bytes), b"text/html; charset=utf-8")


async def _answer(send: Send, status: int, body: bytes, kind: bytes) -> None:
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Counted:
    """One request whose body is counted (and, if JSON, scanned) as the app reads it.

    When the body turns out too large or unreadable, we answer ourselves and hand the app
    ``http.disconnect``: Starlette raises ``ClientDisconnect`` where the body is read, so
    no handler runs, and whatever the app answers to that goes nowhere.
    """

    def __init__(self, limit: BodySizeLimit, scope: Scope, receive: Receive, send: Send) -> None:
        self.limit, self.scope, self._receive, self._send = limit, scope, receive, send
        self.seen = 0
        self.scan = JsonScan() if is_json(scope) else None
        self.started = False  # the app began its answer
        self.refused = False  # we answered: the app's answer goes nowhere

    async def run(self) -> None:
        try:
            await self.limit.app(self.scope, self.receive, self.send)
        except ClientDisconnect:
            if not self.refused:
                raise
            # where a dependency reads the body (a peer's signed request), the disconnect we
            # gave the app comes back as this exception; the answer has already been sent

    async def receive(self) -> Message:
        if self.refused:
            return _DISCONNECT
        message = await self._receive()
        if message["type"] != "http.request" or self.started:
            return message
        chunk: bytes = message.get("body", b"")
        self.seen += len(chunk)
        if self.seen > self.limit.max_bytes:
            self.refused = True
            await self.limit.too_large(self.scope, self._send)
            return _DISCONNECT
        if self.scan and (reason := self.scan.feed(chunk, final=not message.get("more_body"))):
            self.refused = True
            await _answer(self._send, 422, _unreadable(reason), PROBLEM)
            return _DISCONNECT
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


def _unreadable(reason: str) -> bytes:
    return json.dumps(
        {
            "type": "about:blank",
            "title": HTTPStatus.UNPROCESSABLE_ENTITY.phrase,  # as api/errors.problem() says it
            "status": 422,
            "detail": f"body: {reason}",
            "code": "invalid_input",
            "errors": [{"field": "body", "message": reason}],
        }
    ).encode()


def _problem(max_bytes: int) -> bytes:
    return json.dumps(
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": f"request body is larger than the limit of {max_bytes} bytes",
            "code": "body_too_large",
            "errors": [],
        }
    ).encode()


def _page(max_bytes: int) -> bytes:
    # Before routing, so no template or language: a plain Dutch page with the reason.
    return (
        '<!doctype html><html lang="nl"><meta charset="utf-8"><title>Te groot</title>'
        "<h1>Wat u verstuurde is te groot</h1>"
        f"<p>Een formulier of bestand mag hoogstens {max_bytes} bytes zijn. "
        "Maak het kleiner en probeer het opnieuw.</p></html>"
    ).encode()


# --- text and JSON -----------------------------------------------------------------------


def _bad_text(where: str, items: Iterable[tuple[str, object]]) -> list[dict[str, object]]:
    errors: list[dict[str, object]] = []
    for name, value in items:
        if isinstance(value, str) and (found := control_characters(value)):
            errors.append(
                {
                    "type": CONTROL_CHARACTERS,
                    "loc": (where, name),
                    "msg": f"control characters are not accepted (found {', '.join(found[:5])})",
                    "input": "",  # not echoed: it may be anything
                }
            )
    return errors


async def check_request_text(request: Request) -> None:
    """No control characters in the query, the path or a posted form (every route)."""
    errors = _bad_text("query", request.query_params.multi_items())
    errors += _bad_text("path", request.path_params.items())
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        errors += _bad_text("body", (await request.form()).multi_items())
    if errors:
        raise RequestValidationError(errors)


class JsonScan:
    """Reads a JSON body as it streams, without parsing it (the parser itself would recurse
    and fail on a deep one): is it UTF-8, and how deeply do arrays and objects nest?"""

    def __init__(self, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.max_depth = max_depth
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0  # bytes fed so far
        self._depth = 0
        self._in_string = self._escaped = False

    def feed(self, chunk: bytes, *, final: bool) -> str | None:
        """The next bytes of the body; why it cannot be JSON we read, or None (so far)."""
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError as e:
            at = self._offset - pending + e.start
            return f"the body is not UTF-8: invalid byte at offset {at} (send JSON as UTF-8)"
        self._offset += len(chunk)
        if self._nest(chunk):
            return f"JSON nested deeper than {self.max_depth} levels"
        return None

    def _nest(self, chunk: bytes) -> bool:
        """Follow the nesting through ``chunk``; True once it is deeper than allowed."""
        for byte in chunk:
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif byte == _BACKSLASH:
                    self._escaped = True
                elif byte == _QUOTE:
                    self._in_string = False
            elif byte == _QUOTE:
                self._in_string = True
            elif byte in _OPEN:
                self._depth += 1
                if self._depth > self.max_depth:
                    return True
            elif byte in _CLOSE:
                self._depth -= 1
        return False


_QUOTE, _BACKSLASH, _OPEN, _CLOSE = 0x22, 0x5C, frozenset(b"[{"), frozenset(b"]}")


def is_json(scope: Scope) -> bool:
    kind: bytes = dict(scope["headers"]).get(b"content-type", b"")
    media = kind.decode("latin-1").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")
