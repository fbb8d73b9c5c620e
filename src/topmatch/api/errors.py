"""Mapping errors to HTTP: one status per error class, one body shape for all.

Bodies follow RFC 9457 (``application/problem+json``): ``type``, ``title``, ``status``,
``detail``, plus ``code`` (stable, machine-readable) and ``errors`` (one entry per bad
field, for validation errors). The same shape is documented in schemas/.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from topmatch.errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TooEarlyError,
    TopmatchError,
    VersionConflictError,
)
from topmatch.explain import explain, json_position
from topmatch.ledger.errors import LedgerError

PROBLEM = "application/problem+json"

_STATUS: list[tuple[type[TopmatchError], int]] = [
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (RateLimitedError, 429),
    (TooEarlyError, 425),
    (NotFoundError, 404),
    (ConflictError, 409),
    (InputError, 422),
    (LedgerError, 422),  # a ledger entry, proof or note that does not verify: bad data
    (ConfigurationError, 500),
]


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """The error body of every Topmatch endpoint (RFC 9457 problem details)."""

    type: str = "about:blank"
    title: str
    status: int = Field(ge=100, le=599)
    detail: str
    code: str
    errors: list[FieldError] = []


def status_of(error: TopmatchError) -> int:
    if isinstance(error, VersionConflictError) and error.precondition:
        return 412
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 400


def problem(
    status: int,
    code: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
        errors=errors or [],
    )
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: tuple[int | str, ...]) -> str:
    # Drop FastAPI's leading "body"/"query" so that the field reads as the client sent it.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_error(item: dict[str, Any], document: object) -> FieldError:
    if item["type"] != "json_invalid":
        return FieldError(field=_loc(tuple(item["loc"])), message=explain(item))
    # FastAPI puts the character offset where the field would be: say where, in words.
    reason = str(item.get("ctx", {}).get("error", "cannot parse"))
    position = item["loc"][-1]
    if isinstance(document, str | bytes) and isinstance(position, int):
        line, column = json_position(document, position)
        reason = f"{reason} at line {line} column {column}"
    return FieldError(field="body", message=f"the body is not valid JSON: {reason}")


def install(app: FastAPI) -> None:
    @app.exception_handler(TopmatchError)
    async def _domain(_request: Request, error: TopmatchError) -> JSONResponse:
        status = status_of(error)
        errors = [FieldError(field=error.field, message=error.message)] if error.field else []
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None  # noqa: PLR2004
        if isinstance(error, RateLimitedError):
            headers = {"Retry-After": str(error.retry_after)}
        return problem(status, error.code, error.diagnostics(), errors, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e, error.body) for e in error.errors()]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem(422, "invalid_input", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem(error.status_code, "http_error", str(error.detail), headers=error.headers)
