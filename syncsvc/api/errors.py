"""Every error leaves the API as JSON: ``{"error": code, "message": text, "problems": [...]}``.

Resources raise ``ApiError`` (or falcon's own HTTP errors, which are rewritten into the same
shape); a database that cannot be reached is a 503; anything unexpected is logged and is a 500
with no internals in the body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import falcon
import psycopg
import psycopg_pool
import redis

from syncsvc.api.worker import SlowClient

log = logging.getLogger("syncsvc.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: where (``events[3].row.email``) and what."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        problems: Sequence[Problem] = (),
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)
        self.headers = headers or {}
        self.code = code or _CODES.get(status, "error")

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.problems:
            out["problems"] = [p.as_dict() for p in self.problems]
        return out


def bad_request(problems: Sequence[Problem]) -> ApiError:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ApiError(400, f"{first.field}: {first.message}{more}", problems)


def not_found() -> ApiError:
    """The same answer for a connection that does not exist and one of another tenant."""
    return ApiError(404, "no such connection")


def _write(resp: falcon.Response, error: ApiError) -> None:
    resp.status = error.status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(error.body())
    for name, value in error.headers.items():
        resp.set_header(name, value)


def _api_error(req: falcon.Request, resp: falcon.Response, ex: ApiError, params: Any) -> None:
    _write(resp, ex)


def _http_error(
    req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: Any
) -> None:
    status = ex.status_code
    message = ex.description or ex.title or "error"
    raw = ex.headers or {}
    pairs = raw.items() if isinstance(raw, Mapping) else raw
    headers = {k: v for k, v in pairs if k.lower() != "content-type"}
    if status == 404:
        message = "no such resource"
    if "Allow" in headers:  # the API answers no OPTIONS (see syncsvc.api.app)
        allowed = [m.strip() for m in headers["Allow"].split(",") if m.strip() != "OPTIONS"]
        headers["Allow"] = ", ".join(allowed)
        message = f"use {' or '.join(allowed)}"
    _write(resp, ApiError(status, message, headers=headers))


def _unavailable(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    log.warning("backend unavailable for %s %s: %s", req.method, req.path, ex)
    _write(resp, ApiError(503, "a backend is unavailable; try again", headers={"Retry-After": "1"}))


def _slow_client(req: falcon.Request, resp: falcon.Response, ex: SlowClient, params: Any) -> None:
    """The body did not arrive in time (logged where it was dropped); the connection closes."""
    _write(resp, ApiError(408, f"the request {ex.phase} took longer than {ex.seconds:g} s"))


def _unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    if isinstance(ex, falcon.HTTPError):  # falcon's own errors reach the most generic handler
        _http_error(req, resp, ex, params)
        return
    log.exception("unhandled error for %s %s", req.method, req.path)
    _write(resp, ApiError(500, "internal error"))


def install(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    """Handlers are matched most specific first (falcon 4 walks the exception's MRO)."""
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(ApiError, _api_error)
    app.add_error_handler(SlowClient, _slow_client)
    for kind in (
        psycopg.OperationalError,
        psycopg_pool.PoolTimeout,
        redis.ConnectionError,
        redis.TimeoutError,
    ):
        app.add_error_handler(kind, _unavailable)
