"""Reading Zoho's answers: the ``{code, details, message, status}`` envelope, per-record
results, rate-limit signals and call-level failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from providers.answers import body_of, seconds
from syncsvc.errors import AuthExpired, PermanentError, RateLimited, RetryableError, SyncError

CREDITS_HEADER = "X-API-CREDITS-REMAINING"
CREDITS_RETRY_AFTER = 900.0
"""Credits come back as the rolling 24-hour window moves on: look again every 15 minutes."""
MIN_RETRY_AFTER = 1.0
MAX_SHORT_RETRY_AFTER = 60.0
RETRYABLE_ITEM_CODES = frozenset({"INTERNAL_ERROR", "RECORD_LOCKED", "TOO_MANY_REQUESTS"})
"""Per-record codes that may go away on their own; every other per-record error is permanent."""


def entries(body: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The per-record ``data`` list of a write answer, or None for a whole-call envelope."""
    data = body.get("data")
    if not isinstance(data, list):
        return None
    return [e if isinstance(e, dict) else {} for e in data]


def code_of(body: Mapping[str, Any]) -> str:
    return str(body.get("code") or "")


def field_of(entry: Mapping[str, Any]) -> str | None:
    """The field an error is about: ``details.api_name``, or the first of several errors."""
    details = entry.get("details")
    if not isinstance(details, dict):
        return None
    if details.get("api_name"):
        return str(details["api_name"])
    for inner in details.get("errors") or []:
        if isinstance(inner, dict):
            found = field_of(inner)
            if found:
                return found
    if details.get("param_name"):
        return str(details["param_name"])
    return None


def describe(response: requests.Response, body: Mapping[str, Any] | None = None) -> str:
    body = body_of(response) if body is None else body
    message = body.get("message") or response.text[:300] or response.reason
    label = " ".join(p for p in (f"HTTP {response.status_code}", code_of(body)) if p)
    return f"zoho: {label}: {message}"


def item_error(entry: Mapping[str, Any], context: str = "") -> SyncError:
    """The error one record of a write call got."""
    code = code_of(entry) or "UNKNOWN_ERROR"
    field = field_of(entry)
    where = f" ({field})" if field else ""
    message = f"zoho: {context}{code}{where}: {entry.get('message') or ''}".rstrip(": ")
    if code in RETRYABLE_ITEM_CODES:
        return RetryableError(message)
    return PermanentError(message, field=field, code=code)


def credits_exhausted(response: requests.Response, body: Mapping[str, Any]) -> bool:
    """A 429 for the 24-hour credit budget (not for concurrency): no credits left, or a message
    that says so."""
    remaining = seconds(response.headers.get(CREDITS_HEADER))
    if remaining is not None and remaining < 1:
        return True
    return "credit" in str(body.get("message") or "").lower()


def rate_limited(response: requests.Response, window_seconds: float) -> RateLimited:
    """Zoho's 429 carries no Retry-After: wait for credits, or one of our own windows (bounded)
    for a concurrency or short-window refusal."""
    body = body_of(response)
    daily = credits_exhausted(response, body)
    retry_after = seconds(response.headers.get("Retry-After"))
    if retry_after is None:
        short = min(MAX_SHORT_RETRY_AFTER, max(MIN_RETRY_AFTER, float(window_seconds)))
        retry_after = CREDITS_RETRY_AFTER if daily else short
    return RateLimited(describe(response, body), retry_after=retry_after, daily=daily)


def raise_for_call(response: requests.Response, window_seconds: float = 10.0) -> None:
    """Raise what a failed whole call means; return for 2xx."""
    status = response.status_code
    if status < 300:
        return
    if status == 429:
        raise rate_limited(response, window_seconds)
    if status >= 500:
        raise RetryableError(describe(response), seconds(response.headers.get("Retry-After")))
    body = body_of(response)
    if status == 401 and code_of(body) == "INVALID_TOKEN":
        raise AuthExpired(describe(response, body))
    raise PermanentError(
        describe(response, body), field=field_of(body), code=code_of(body) or f"HTTP_{status}"
    )
