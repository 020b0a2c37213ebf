"""What the sync log keeps of an error: scrubbed, capped, with the HTTP status and code."""

from __future__ import annotations

import pytest

from syncsvc.errors import PermanentError, RateLimited, RetryableError
from syncsvc.outbox import synclog
from syncsvc.scrub import MASK
from syncsvc.trace import parse_key


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("hubspot: HTTP 401: Authorization: Bearer pat-na1-11112222-3333", "pat-na1-11112222"),
        ("token endpoint said refresh_token=1000.abcdef.ghijkl is invalid", "1000.abcdef"),
        ('{"client_secret": "s3cr3t-value", "x": 1}', "s3cr3t-value"),
        ("cannot connect to https://user:hunter2@crm.example.com/api", "hunter2"),
        ("GET /v1/persons?api_token=0123456789abcdef failed", "0123456789abcdef"),
    ],
)
def test_credentials_are_redacted(text: str, secret: str) -> None:
    clean = synclog.clip(text)
    assert clean is not None
    assert secret not in clean
    assert MASK in clean


def test_ordinary_messages_are_kept_and_long_ones_capped() -> None:
    text = "hubspot: HTTP 400 VALIDATION_ERROR: Rejectme was refused by a validation rule"
    assert synclog.clip(text) == text
    long = synclog.clip("x" * 5000)
    assert long is not None and len(long) == synclog.MAX_MESSAGE and long.endswith("…")
    assert synclog.clip("a\x00b") == "ab"
    assert synclog.clip(None) is None


def test_http_status_and_code_come_from_the_error() -> None:
    error = PermanentError("hubspot: HTTP 400 VALIDATION_ERROR: bad", field="email", code="X")
    assert (synclog.http_status_of(error), synclog.error_code_of(error)) == (400, "X")
    assert synclog.http_status_of(RetryableError("hubspot: timeout on POST /x")) is None
    assert synclog.http_status_of(RateLimited("zoho: HTTP 429: slow down", 1.0)) == 429
    assert synclog.error_code_of(RetryableError("dynamics: HTTP 503: busy")) is None


@pytest.mark.parametrize(
    ("text", "columns", "expected"),
    [
        ("42", ["id"], {"id": "42"}),
        ("id=42", ["id"], {"id": "42"}),
        ("b=x,a=1", ["a", "b"], {"a": "1", "b": "x"}),
        ("a=1,b=x=y", ["a", "b"], {"a": "1", "b": "x=y"}),
    ],
)
def test_trace_keys_parse(text: str, columns: list[str], expected: dict[str, str]) -> None:
    assert parse_key(text, columns, "s.t") == expected
