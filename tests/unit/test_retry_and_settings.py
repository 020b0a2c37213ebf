from __future__ import annotations

import pytest

from syncsvc.errors import (
    ConfigError,
    CredentialsRefused,
    PermanentError,
    RateLimited,
    RetryableError,
    SyncError,
)
from syncsvc.push.retry import MAX_DELAY, PAUSE_DELAY, backoff, decide
from syncsvc.settings import load_settings


def test_rate_limits_are_waits_not_attempts() -> None:
    d = decide(RateLimited("full", retry_after=7.5), attempts_so_far=9, max_attempts=10)
    assert (d.kind, d.delay) == ("wait", 7.5)


def test_permanent_errors_go_to_dead_letters_at_once() -> None:
    assert decide(PermanentError("bad email", field="email"), 0, 10).kind == "dead"


def test_refused_credentials_pause_the_connection_and_never_dead_letter() -> None:
    """Issue 11: the connection's fault is not the records' fault, however often it repeats."""
    refused = CredentialsRefused(
        "hubspot: HTTP 400 BAD_CLIENT_SECRET: client_secret=hunter2 is wrong", code="BAD"
    )
    for attempts_so_far in (0, 9, 10, 1000):
        d = decide(refused, attempts_so_far=attempts_so_far, max_attempts=10)
        assert (d.kind, d.delay) == ("pause", PAUSE_DELAY)
    assert "hunter2" not in d.reason and "BAD_CLIENT_SECRET" in d.reason
    assert not isinstance(refused, (PermanentError, RetryableError))


def test_retryable_errors_back_off_and_give_up_after_max_attempts() -> None:
    first = decide(RetryableError("503"), 0, 3)
    assert first.kind == "retry" and 0.5 <= first.delay <= 1.0
    assert decide(RetryableError("503"), 1, 3).kind == "retry"
    last = decide(RetryableError("503"), 2, 3)
    assert last.kind == "dead" and "gave up after 3 attempts" in last.reason
    assert decide(SyncError("unknown"), 0, 3).kind == "retry"


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    assert all(0.5 <= backoff(1) <= 1.0 for _ in range(50))
    assert all(8 <= backoff(5) <= 16 for _ in range(50))
    assert all(backoff(30) <= MAX_DELAY for _ in range(50))
    assert backoff(1, retry_after=42.0) == 42.0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be a postgresql://"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL must be"),
        ({"SYNCSVC_BRIDGE_BATCH_SIZE": "lots"}, "SYNCSVC_BRIDGE_BATCH_SIZE must be an integer"),
        ({"SYNCSVC_BRIDGE_BATCH_SIZE": "0"}, "must be >= 1"),
        ({"SYNCSVC_SWEEP_INTERVAL_SECONDS": "soon"}, "must be a number"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_postgres_scheme_is_accepted() -> None:
    assert (
        load_settings({"DATABASE_URL": "postgres://u@h/db"}).database_url == "postgresql://u@h/db"
    )
