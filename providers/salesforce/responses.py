"""Reading Salesforce's answers: error arrays, per-record errors, limits and call failures.

Top-level REST errors are ``[{"message", "errorCode", "fields"?}]``; the per-record errors of an
sObject Collections answer are ``{"statusCode", "message", "fields"}``.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from providers.answers import seconds
from syncsvc.errors import PermanentError, RateLimited, RetryableError, SyncError

DAILY_RETRY_AFTER = 3600.0
"""The daily allocation is a rolling 24 h: look again in an hour."""
SHORT_RETRY_AFTER = 5.0
"""Concurrency refusals clear as soon as running requests finish; no Retry-After is sent."""

RETRYABLE_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "UNKNOWN_EXCEPTION",
        "SERVER_UNAVAILABLE",
    }
    | {"REQUEST_LIMIT_EXCEEDED", "REQUEST_RUNNING_TOO_LONG", "QUERY_TIMEOUT"}
)
"""Per-record or top-level codes that may go away on their own."""
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND"})
"""What a delete of a record that is already gone answers."""

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
_NO_SUCH_COLUMN = re.compile(r"No such column '([^']+)'")
_DUPLICATE_FIELD = re.compile(r"duplicate value found: (\w+) duplicates")
_COLUMN = re.compile(r"\[line:(\d+), column:(\d+)\]")


def body_of(response: requests.Response) -> Any:
    """The decoded JSON (a list or an object), or None."""
    try:
        return response.json()
    except ValueError:
        return None


def top_errors(body: Any) -> list[dict[str, Any]]:
    """The error entries of a top-level answer (a JSON array, sometimes a bare object)."""
    entries = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    return [e for e in entries if isinstance(e, dict) and ("errorCode" in e or "message" in e)]


def error_code(body: Any) -> str | None:
    for entry in top_errors(body):
        code = entry.get("errorCode") or entry.get("statusCode")
        if code:
            return str(code)
    return None


def error_message(body: Any) -> str:
    return "; ".join(str(e.get("message") or "") for e in top_errors(body))


def describe(response: requests.Response, body: Any = None) -> str:
    body = body_of(response) if body is None else body
    message = error_message(body) or response.text[:300] or response.reason
    label = " ".join(p for p in (f"HTTP {response.status_code}", error_code(body) or "") if p)
    return f"salesforce: {label}: {message}"


def unknown_column(message: str) -> str | None:
    """The field named by ``No such column 'X' on sobject of type Y``."""
    match = _NO_SUCH_COLUMN.search(message)
    return match.group(1) if match else None


def parser_column(message: str) -> int | None:
    """The 1-based column of a ``JSON_PARSER_ERROR`` on line 1 (our bodies are one line)."""
    match = _COLUMN.search(message)
    if not match or match.group(1) != "1":
        return None
    return int(match.group(2))


def field_of(error: dict[str, Any], default: str | None = None) -> str | None:
    """The field an error is about: ``fields[0]``, else what its message names."""
    fields = error.get("fields")
    if isinstance(fields, list) and fields:
        return str(fields[0])
    message = str(error.get("message") or "")
    for pattern in (_NO_SUCH_COLUMN, _DUPLICATE_FIELD):
        match = pattern.search(message)
        if match:
            return match.group(1)
    return default


def record_error(errors: Any, default_field: str | None = None) -> SyncError:
    """The error of one failed record of a collection answer."""
    entries = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    if not entries:
        return RetryableError("salesforce: a record failed without an error entry")
    text = "; ".join(f"{e.get('statusCode')}: {e.get('message') or ''}" for e in entries)
    codes = [str(e.get("statusCode") or "") for e in entries]
    if all(code in RETRYABLE_CODES for code in codes):
        return RetryableError(f"salesforce: {text}")
    first = next(e for e, code in zip(entries, codes, strict=True) if code not in RETRYABLE_CODES)
    code = str(first.get("statusCode") or "UNKNOWN")
    key_error = code in ("DUPLICATE_VALUE", "DUPLICATE_EXTERNAL_ID", "MISSING_ARGUMENT")
    field = field_of(first, default_field if key_error else None)
    return PermanentError(f"salesforce: {text}", field=field, code=code)


def limit_info(response: requests.Response) -> tuple[int, int] | None:
    """``(used, allocation)`` from ``Sforce-Limit-Info: api-usage=n/limit`` (approximate)."""
    match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def rate_limited(response: requests.Response, short_wait: float) -> RateLimited:
    """``REQUEST_LIMIT_EXCEEDED``: the daily total (wait long) or concurrency (wait briefly)."""
    body = body_of(response)
    message = error_message(body)
    usage = limit_info(response)
    daily = "TotalRequests" in message or (usage is not None and usage[0] >= usage[1] > 0)
    retry_after = DAILY_RETRY_AFTER if daily else short_wait
    return RateLimited(describe(response, body), retry_after=retry_after, daily=daily)


def raise_for_call(response: requests.Response, short_wait: float = SHORT_RETRY_AFTER) -> None:
    """Raise what a failed whole call means; return for 2xx."""
    status = response.status_code
    if status < 300:
        return
    body = body_of(response)
    code = error_code(body)
    if code == "REQUEST_LIMIT_EXCEEDED":
        raise rate_limited(response, short_wait)
    if status == 429:  # never sent by Salesforce itself; a proxy in front of it may
        retry_after = seconds(response.headers.get("Retry-After")) or short_wait
        raise RateLimited(describe(response, body), retry_after=retry_after)
    if status >= 500 or code in RETRYABLE_CODES:
        raise RetryableError(describe(response, body))
    if status == 300:
        message = f"salesforce: HTTP 300: more than one record matches {response.url}"
        raise PermanentError(message, code="MULTIPLE_CHOICES")
    entries = top_errors(body)
    field = field_of(entries[0]) if entries else None
    raise PermanentError(describe(response, body), field=field, code=code or f"HTTP_{status}")
