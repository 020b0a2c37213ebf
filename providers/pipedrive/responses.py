"""Reading Pipedrive's answers: the ``success``/``error`` envelope, rate-limit signals and
call-level failures."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import requests

from providers.answers import body_of, seconds
from syncsvc.errors import PermanentError, RateLimited, RetryableError

BURST_WINDOW = 2.0
"""Pipedrive's burst limit is a rolling 2-second window: the wait when no header says more."""
DAILY_RETRY_CAP = 3600.0
"""The daily budget resets at midnight server time (zone unknown): look again at least hourly."""
BLOCKED_RETRY_AFTER = 60.0
"""A non-JSON 403 is Cloudflare blocking a client that kept sending after 429s: back off."""

_VALIDATION_RE = re.compile(r"^\s*(?:Validation failed:\s*)?([A-Za-z_][\w.\[\]]*)\s*:")
_CUSTOM_KEY_IN_RE = re.compile(r"'([0-9a-f]{40})'")


def _code(body: dict[str, Any]) -> str:
    return str(body.get("code") or body.get("errorCode") or "")


def describe(response: requests.Response, body: dict[str, Any] | None = None) -> str:
    body = body_of(response) if body is None else body
    message = body.get("error") or body.get("message") or response.text[:300] or response.reason
    label = " ".join(p for p in (f"HTTP {response.status_code}", _code(body)) if p)
    info = body.get("error_info")
    return f"pipedrive: {label}: {message}" + (f" ({info})" if info else "")


def error_path(body: dict[str, Any]) -> str | None:
    """Where a validation error points: the path that starts the message (``emails[0].value:
    ...``), for ``custom_fields: ... custom field '<key>'`` that field's key; ``field_code``
    when an answer carries one."""
    if body.get("field_code"):
        return "custom_fields." + str(body["field_code"])
    for key in ("field", "field_name"):
        if body.get(key):
            return str(body[key])
    message = str(body.get("error") or "")
    match = _VALIDATION_RE.match(message)
    if match and match.group(1) == "custom_fields":
        named = _CUSTOM_KEY_IN_RE.search(message)  # "… custom field '<key>'"
        return f"custom_fields.{named.group(1)}" if named else "custom_fields"
    return match.group(1) if match else None


def _until_midnight_utc() -> float:
    now = dt.datetime.now(dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


def daily_exhausted(response: requests.Response, body: dict[str, Any]) -> bool:
    """A 429 from the daily token budget (or the old daily POST/PUT allowance): a remaining
    count of 0 in the headers, or an error that says so."""
    for header in ("x-daily-ratelimit-token-remaining", "x-daily-requests-left"):
        left = seconds(response.headers.get(header))
        if left is not None and left <= 0:
            return True
    message = str(body.get("error") or "").lower()
    return "daily" in message or "budget" in message


def rate_limited(response: requests.Response) -> RateLimited:
    """A ``RateLimited`` for a 429: Retry-After, else ``x-ratelimit-reset``, else 2 s."""
    body = body_of(response)
    if daily_exhausted(response, body):
        wait = min(DAILY_RETRY_CAP, max(1.0, _until_midnight_utc()))
        return RateLimited(describe(response, body) + " [daily budget]", wait, daily=True)
    retry_after = seconds(response.headers.get("Retry-After"))
    if retry_after is None:
        retry_after = seconds(response.headers.get("x-ratelimit-reset"))
    if not retry_after:
        retry_after = BURST_WINDOW
    return RateLimited(describe(response, body), retry_after=retry_after)


def raise_for_call(response: requests.Response) -> None:
    """Raise the error a failed whole call means; return for 2xx."""
    status = response.status_code
    if status < 300:
        return
    if status == 429:
        raise rate_limited(response)
    if status >= 500:
        raise RetryableError(describe(response), seconds(response.headers.get("Retry-After")))
    body = body_of(response)
    if status == 403 and not body:
        raise RetryableError(describe(response, body), BLOCKED_RETRY_AFTER)
    code = _code(body) or f"HTTP_{status}"
    raise PermanentError(describe(response, body), field=error_path(body), code=code)
