"""One error hierarchy for the whole service."""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error syncsvc raises on purpose."""


class ConfigError(SyncError):
    """Bad configuration: settings, YAML config, or a missing server."""


class RetryableError(SyncError):
    """A failure that may go away: timeouts, connection errors, 5xx."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DatabaseUnavailable(RetryableError):
    """PostgreSQL cannot be reached (down, restarting, refusing connections): wait and retry."""


class RateLimited(RetryableError):
    """The CRM (or our own limiter) says wait ``retry_after`` seconds; not a failed attempt."""

    def __init__(self, message: str, retry_after: float, daily: bool = False) -> None:
        super().__init__(message, retry_after)
        self.daily = daily


class NotIndexedYet(RateLimited):
    """The CRM's search does not show a record an earlier push of this row may have created,
    and its index may still be behind: look again after ``retry_after`` instead of creating the
    record a second time (a wait, not a failed attempt)."""


class AuthExpired(RetryableError):
    """The access token expired or was refused; refresh it and try again once."""


class CredentialsRefused(SyncError):
    """The CRM refused the connection's credentials: the token endpoint refused the grant or the
    client (wrong secret, wrong host, revoked refresh token), or the API still answers 401/403
    after a fresh token. The connection's fault, not the records': the connection pauses and its
    rows wait in the outbox until the credentials are fixed (``config apply``) or it is resumed.
    Neither permanent (the records are fine) nor retryable (trying again changes nothing)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentError(SyncError):
    """A failure that repeats on every try: validation, 4xx other than 429."""

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class BatchRejected(PermanentError):
    """The CRM refused a whole batch because of (at least) one bad record in it."""
