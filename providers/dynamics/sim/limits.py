"""Dataverse service-protection limits per user: requests and execution time in a 5-minute
sliding window, concurrent requests, plus an optional short window (the contract suite's knob).

Over a limit the answer is 429 with ``Retry-After`` (seconds) and the limit's code; the user stays
refused until that time has passed, and ``penalty_seconds`` lengthens the wait for every request
sent meanwhile ("keep sending and the wait gets longer"). Not thread-safe: the caller holds the
simulator's lock.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.simulation import RollingWindow

REQUESTS_CODE, TIME_CODE, CONCURRENCY_CODE = "0x80072322", "0x80072321", "0x80072326"


@dataclass
class Throttle:
    code: str
    message: str
    retry_after: float

    @property
    def header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


@dataclass
class _User:
    protection: RollingWindow
    short: RollingWindow | None
    in_flight: int = 0
    spent: deque[tuple[float, float]] = field(default_factory=deque)
    """(when, milliseconds) of finished requests inside the protection window."""
    blocked_until: float = 0.0
    blocked_by: Throttle | None = None


def requests_message(limit: int, seconds: float) -> str:
    return (
        f"Number of requests exceeded the limit of {limit} over time window of {seconds:g} seconds."
    )


class Limits:
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.protection_requests = int(options.get("protection_requests", 6000))
        self.protection_seconds = float(options.get("protection_seconds", 300))
        self.short_requests: int | None = None
        self.short_seconds = 1.0
        self.concurrent_limit = int(options.get("concurrent_limit", 52))
        self.execution_ms_limit = float(options.get("execution_ms_limit", 1_200_000))
        self.penalty_seconds = float(options.get("penalty_seconds", 0))
        self.users: dict[str, _User] = {}
        self.configure(options)

    def configure(self, options: Mapping[str, Any]) -> None:
        for name in ("protection_requests", "concurrent_limit"):
            if name in options:
                setattr(self, name, int(options[name]))
        for name in ("protection_seconds", "execution_ms_limit", "penalty_seconds"):
            if name in options:
                setattr(self, name, float(options[name]))
        if "rate_limit_requests" in options:
            value = options["rate_limit_requests"]
            self.short_requests = int(value) if value else None
        if "rate_limit_seconds" in options:
            self.short_seconds = float(options["rate_limit_seconds"])
        if not options.keys() & {
            "rate_limit_requests",
            "rate_limit_seconds",
            "protection_requests",
            "protection_seconds",
        }:
            return
        for user in self.users.values():  # a new limit starts a new measurement
            user.protection.limit = self.protection_requests
            user.protection.seconds = self.protection_seconds
            user.protection.max_seen = 0
            user.short = self._short()

    def _short(self) -> RollingWindow | None:
        if not self.short_requests:
            return None
        return RollingWindow(self.short_requests, self.short_seconds)

    def reset(self) -> None:
        self.users.clear()

    def _user(self, principal: str) -> _User:
        user = self.users.get(principal)
        if user is None:
            protection = RollingWindow(self.protection_requests, self.protection_seconds)
            user = self.users[principal] = _User(protection, self._short())
        return user

    def _spent_ms(self, user: _User, now: float) -> float:
        while user.spent and user.spent[0][0] <= now - self.protection_seconds:
            user.spent.popleft()
        return sum(ms for _, ms in user.spent)

    def _block(self, user: _User, throttle: Throttle, now: float) -> Throttle:
        user.blocked_until, user.blocked_by = now + throttle.retry_after, throttle
        return throttle

    def admit(self, principal: str) -> Throttle | None:
        """Count one request: None when it may run (call ``done`` after), else the refusal."""
        user, now = self._user(principal), time.monotonic()
        if now < user.blocked_until and user.blocked_by is not None:
            user.blocked_until += self.penalty_seconds
            wait = user.blocked_until - now
            return Throttle(user.blocked_by.code, user.blocked_by.message, wait)
        if user.in_flight >= self.concurrent_limit:
            message = (
                f"Number of concurrent requests exceeded the limit of {self.concurrent_limit}."
            )
            return Throttle(CONCURRENCY_CODE, message, 1.0)
        if self._spent_ms(user, now) >= self.execution_ms_limit:
            wait = max(0.0, user.spent[0][0] + self.protection_seconds - now) if user.spent else 1.0
            message = (
                "Combined execution time of incoming requests exceeded limit of "
                f"{self.execution_ms_limit:,.0f} milliseconds over time window of "
                f"{self.protection_seconds:g} seconds. Decrease number of concurrent requests "
                "or reduce the duration of requests and try again later."
            )
            return self._block(user, Throttle(TIME_CODE, message, wait), now)
        for window in (user.short, user.protection):
            if window is not None and window.remaining() == 0:
                message = requests_message(window.limit, window.seconds)
                return self._block(user, Throttle(REQUESTS_CODE, message, window.reset_in()), now)
        for window in (user.short, user.protection):
            if window is not None:
                window.try_hit()
        user.in_flight += 1
        return None

    def done(self, principal: str, milliseconds: float) -> None:
        user = self._user(principal)
        user.in_flight = max(0, user.in_flight - 1)
        user.spent.append((time.monotonic(), milliseconds))

    def headers(self, principal: str) -> dict[str, str]:
        """``x-ms-ratelimit-*`` as Dataverse sends them on every answer."""
        user, now = self._user(principal), time.monotonic()
        windows = [w for w in (user.short, user.protection) if w is not None]
        remaining_ms = max(0.0, self.execution_ms_limit - self._spent_ms(user, now))
        return {
            "x-ms-ratelimit-burst-remaining-xrm-requests": str(min(w.remaining() for w in windows)),
            "x-ms-ratelimit-time-remaining-xrm-requests": f"{remaining_ms:,.2f}",
        }

    def max_in_window(self) -> int:
        """Most requests accepted inside one window: the short one when set, else 5 minutes."""
        windows = [u.short or u.protection for u in self.users.values()]
        return max((w.max_seen for w in windows), default=0)

    @property
    def window(self) -> tuple[int, float]:
        if self.short_requests:
            return self.short_requests, self.short_seconds
        return self.protection_requests, self.protection_seconds
