"""Reading HubSpot's answers: error envelopes, rate-limit signals and call-level failures."""

from __future__ import annotations

import json
from typing import Any

import requests

from providers.answers import body_of, seconds
from syncsvc.errors import PermanentError, RateLimited, RetryableError

DEFAULT_RETRY_AFTER = 10.0
DAILY_RETRY_AFTER = 3600.0
"""A DAILY 429 lasts until midnight in the account's time zone (unknown here): look hourly."""

_FIELD_CONTEXT_KEYS = ("propertyName", "propertyNames", "property", "name")


def category(body: dict[str, Any]) -> str:
    return str(body.get("category") or body.get("errorType") or "")


def _message_details(message: str) -> list[dict[str, Any]]:
    """The JSON list HubSpot embeds in "Property values were not valid: [...]"."""
    start = message.find("[")
    if start < 0:
        return []
    try:
        details = json.loads(message[start:])
    except ValueError:
        return []
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def error_field(body: dict[str, Any]) -> str | None:
    """The property an error is about, from ``errors[].in``, a context or the message."""
    for detail in body.get("errors") or []:
        if not isinstance(detail, dict):
            continue
        if detail.get("in"):
            return str(detail["in"])
        context = detail.get("context") or {}
        for key in _FIELD_CONTEXT_KEYS:
            values = context.get(key) if isinstance(context, dict) else None
            if values:
                return str(values[0]) if isinstance(values, list) else str(values)
    for detail in _message_details(str(body.get("message") or "")):
        if detail.get("name"):
            return str(detail["name"])
    return None


def error_code(body: dict[str, Any]) -> str | None:
    """The most specific code: ``errors[].code``, the embedded ``error``, else the category."""
    for detail in body.get("errors") or []:
        if isinstance(detail, dict) and detail.get("code"):
            return str(detail["code"])
    for detail in _message_details(str(body.get("message") or "")):
        if detail.get("error"):
            return str(detail["error"])
    return category(body) or None


def describe(response: requests.Response, body: dict[str, Any] | None = None) -> str:
    body = body_of(response) if body is None else body
    message = body.get("message") or response.text[:300] or response.reason
    label = " ".join(part for part in (f"HTTP {response.status_code}", category(body)) if part)
    return f"hubspot: {label}: {message}"


def rate_limited(response: requests.Response) -> RateLimited:
    """A ``RateLimited`` for a 429: Retry-After, else the window length, else 10 s."""
    body = body_of(response)
    daily = body.get("policyName") == "DAILY"
    retry_after = seconds(response.headers.get("Retry-After"))
    if retry_after is None and daily:
        retry_after = DAILY_RETRY_AFTER
    if retry_after is None:
        interval_ms = seconds(response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        retry_after = interval_ms / 1000 if interval_ms else DEFAULT_RETRY_AFTER
    return RateLimited(describe(response, body), retry_after=retry_after, daily=daily)


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
    raise PermanentError(describe(response, body), field=error_field(body), code=error_code(body))
