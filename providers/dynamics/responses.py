"""Reading Dataverse answers: ``{"error": {"code", "message"}}``, throttling and call failures."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import requests

from providers.answers import seconds
from syncsvc.errors import PermanentError, RateLimited, RetryableError, SyncError

DEFAULT_RETRY_AFTER = 5.0
"""When a 429 carries no Retry-After (Dataverse always sends one)."""
SERVICE_PROTECTION = {
    "0x80072322": "requests",  # Number of requests exceeded the limit of 6000 over 300 s
    "0x80072321": "execution time",  # Combined execution time exceeded 1,200,000 ms over 300 s
    "0x80072326": "concurrency",  # Number of concurrent requests exceeded the limit of 52
}
NOT_FOUND_CODES = {"0x80060891", "0x80040217"}
"""No record for that alternate key / that id."""
_QUOTED = re.compile(r"'([A-Za-z_][A-Za-z0-9_@.]*)'")


def error_of(payload: Any) -> tuple[str, str]:
    """``(code, message)`` from a Dataverse error body (either may be empty)."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload) if payload.strip() else {}
        except ValueError:
            return "", payload[:300]
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if not isinstance(error, Mapping):
        return "", ""
    return str(error.get("code") or "").lower(), str(error.get("message") or "")


def field_in(message: str, names: Iterable[str]) -> str | None:
    """The first quoted name in ``message`` that is one of ``names`` (a record's attributes).

    Dataverse names the attribute in quotes, e.g. "The length of the 'lastname' attribute…",
    "The property 'foo' does not exist on type 'Microsoft.Dynamics.CRM.contact'".
    """
    wanted = {n.lower(): n for n in names}
    for candidate in _QUOTED.findall(message):
        if candidate.lower() in wanted:
            return wanted[candidate.lower()]
    return None


def describe(status: int, code: str, message: str) -> str:
    label = " ".join(p for p in (f"HTTP {status}", code) if p)
    return f"dynamics: {label}: {message or '(no message)'}"


def classify(
    status: int,
    code: str,
    message: str,
    retry_after: str | None = None,
    fields: Iterable[str] = (),
) -> SyncError:
    """What one failed answer means, for a whole call or for one request of a batch."""
    text = describe(status, code, message)
    if status == 429 or code in SERVICE_PROTECTION:
        wait = seconds(retry_after)
        return RateLimited(text, retry_after=DEFAULT_RETRY_AFTER if wait is None else wait)
    if status >= 500 or status in (0, 408):
        return RetryableError(text, seconds(retry_after))
    if status == 401:
        return RetryableError(text)
    return PermanentError(text, field=field_in(message, fields), code=code or f"HTTP_{status}")


def failure(response: requests.Response) -> SyncError:
    """The error a failed whole call means (``response`` is not 2xx)."""
    code, message = error_of(response.content)
    if not message:
        message = response.text[:300] or response.reason or ""
    return classify(response.status_code, code, message, response.headers.get("Retry-After"))


def raise_for_call(response: requests.Response) -> None:
    if response.status_code >= 300:
        raise failure(response)
