"""Poll for an outcome with a deadline (never sleep-and-hope)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Timeout(AssertionError):
    pass


def wait_until(
    check: Callable[[], T | None],
    timeout: float = 60.0,
    interval: float = 0.2,
    message: str | Callable[[], str] = "condition not met",
) -> T:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    text = message() if callable(message) else message
    raise Timeout(f"after {timeout:.0f}s: {text} (last value: {last!r})")
