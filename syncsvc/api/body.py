"""Request bodies: size-limited, strict JSON, and storable in PostgreSQL (no NUL, no NaN)."""

from __future__ import annotations

import json
import math
from typing import Any

import falcon

from syncsvc.api.errors import ApiError, Problem, bad_request

MAX_DEPTH = 32
DRAIN_LIMIT = 16 * 1024 * 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def read_json(req: falcon.Request, limit: int) -> Any:
    """The parsed body, or an ``ApiError`` that names what is wrong with it."""
    return parse_json(read_raw(req, limit))


def read_raw(req: falcon.Request, limit: int) -> bytes:
    """The body's bytes as sent: JSON by its media type, at most ``limit`` bytes (413), with a
    length or chunked (411)."""
    media = (req.content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "send the body as application/json")
    length = req.content_length
    too_large = ApiError(413, f"the body is larger than {limit} bytes")
    if length is not None and length > limit:
        _drain(req.bounded_stream)
        raise too_large
    if length is not None:
        stream: Any = req.bounded_stream
    elif req.env.get("wsgi.input_terminated"):  # chunked: gunicorn ends the stream for us
        stream = req.stream
    else:
        raise ApiError(411, "send a Content-Length header (or a chunked body)")
    raw: bytes = stream.read(limit + 1)
    if len(raw) > limit:
        _drain(stream)
        raise too_large
    return raw


def parse_json(raw: bytes) -> Any:
    """Strict JSON (no NaN, no infinities) that PostgreSQL can store, or a 400 naming why."""
    if not raw:
        raise bad_request([Problem("body", "is empty; expected a JSON object")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request([Problem("body", "is not UTF-8")]) from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise bad_request(
            [Problem("body", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
        ) from None
    except (ValueError, RecursionError) as exc:
        raise bad_request([Problem("body", f"malformed JSON: {exc}")]) from None
    problem = storable(value, "")
    if problem is not None:
        raise bad_request([problem])
    return value


def _drain(stream: Any) -> None:
    """Read (and drop) what a client is still sending, up to a bound, so that it gets to read
    the 413 instead of a connection reset; past the bound the connection is simply closed."""
    left = DRAIN_LIMIT
    while left > 0:
        chunk = stream.read(min(65536, left))
        if not chunk:
            return
        left -= len(chunk)


def storable(value: Any, where: str, depth: int = 0) -> Problem | None:
    """PostgreSQL's jsonb refuses NUL characters and lone surrogates: name the first one."""
    if depth > MAX_DEPTH:
        return Problem(where or "body", f"is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return _bad_text(value, where or "body")
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            bad = _bad_text(key, f"{where or 'body'} (a key)")
            if bad is not None:
                return bad
            bad = storable(item, path, depth + 1)
            if bad is not None:
                return bad
    elif isinstance(value, list):
        for i, item in enumerate(value):
            bad = storable(item, f"{where or 'body'}[{i}]", depth + 1)
            if bad is not None:
                return bad
    return None


def _bad_text(text: str, where: str) -> Problem | None:
    if "\x00" in text:
        return Problem(where, "contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return Problem(where, "contains an unpaired surrogate (not valid Unicode)")
    return None
