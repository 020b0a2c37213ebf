"""The one place that decides what a push failure means: wait, retry later, or give up."""

from __future__ import annotations

import random
from dataclasses import dataclass

from syncsvc.errors import (
    CredentialsRefused,
    PermanentError,
    RateLimited,
    RetryableError,
    SyncError,
)
from syncsvc.kinds import DecisionKind
from syncsvc.scrub import error_text

BASE_DELAY = 1.0
MAX_DELAY = 300.0
PAUSE_DELAY = 3600.0
"""Rows of a paused connection are due again this late; a resume makes them due at once."""


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    """``wait`` (rate limit, not an attempt), ``retry`` (counts an attempt), ``dead``, or
    ``pause`` (the connection's credentials were refused: not an attempt, the connection
    pauses)."""
    delay: float
    reason: str


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; never shorter than the CRM's ``Retry-After``."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def decide(error: SyncError, attempts_so_far: int, max_attempts: int) -> Decision:
    """``attempts_so_far`` counts earlier failed attempts of this row (waits excluded)."""
    reason = error_text(error)
    if isinstance(error, RateLimited):
        return Decision("wait", max(0.05, error.retry_after or 1.0), reason)
    if isinstance(error, CredentialsRefused):
        return Decision("pause", PAUSE_DELAY, reason)
    if isinstance(error, PermanentError):
        return Decision("dead", 0.0, reason)
    if isinstance(error, RetryableError):
        attempt = attempts_so_far + 1
        if attempt >= max_attempts:
            return Decision("dead", 0.0, f"gave up after {attempt} attempts: {reason}")
        return Decision("retry", backoff(attempt, error.retry_after), reason)
    return Decision("retry", backoff(attempts_so_far + 1), reason)
