"""Log output of a running node: plain text for a terminal, one JSON object per line for a
log shipper (``TOPMATCH_LOG_FORMAT=json``).

:func:`configure` puts one handler on the root logger and routes uvicorn's loggers through
it. uvicorn's own access log is switched off: it writes the request line with its query
string, and a mistaken client may put a name or a BSN there. The node writes its own
access line instead (``topmatch.access``, from :mod:`topmatch.api.metrics`), with the
route template (``/api/v1/clients/{client_id}``), never the path as sent.

A JSON line holds ``time`` (RFC 3339, UTC), ``level``, ``logger``, ``message``, the
``request_id`` of the request being served (if any), and the ``extra`` fields of the
record, e.g. ``method``, ``route``, ``status`` and ``duration_ms`` on an access line.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from topmatch.settings import Settings

#: The id of the request this task serves; set by the request middleware.
request_id: ContextVar[str | None] = ContextVar("topmatch_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# uvicorn adds a copy of each message with ANSI colours; a JSON line needs it once.
_SKIPPED = [*RESERVED_ATTRS, "color_message", "taskName"]
# Libraries that log every URL they call at INFO (httpx2: what TestClient drives the app
# with, and httpx's successor).
_QUIET = ("httpx", "httpx2", "httpcore")


def rfc3339(timestamp: float) -> str:
    """``2026-11-30T08:42:47.794Z``: RFC 3339 in UTC, milliseconds."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLineFormatter(JsonFormatter):
    """One JSON object per record: time, level, logger, message, then the extra fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=_SKIPPED,
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = rfc3339(record.created)
        super().add_fields(log_data, record, message_dict)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record logged while a request is served."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current is not None and not hasattr(record, "request_id"):
            record.request_id = current
        return True


def handler_for(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) with the formatter for ``log_format``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonLineFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    handler.set_name("topmatch")
    return handler


def configure(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record, uvicorn's included, to one handler in ``settings.log_format``.

    Replaces what an earlier call (or uvicorn's default configuration) installed, so it
    may run more than once. Returns the handler.
    """
    handler = handler_for(settings.log_format, stream)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "topmatch"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # No handler and no propagation: uvicorn checks hasHandlers() and then writes no
    # access lines at all (ours are written by the request middleware).
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
