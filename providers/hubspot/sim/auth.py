"""Who may call the simulated account, and how often: tokens, OAuth and rate limits."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.simulation import RollingWindow
from providers.simulation.tokens import (
    REVOKE,
    Caller,
    TokenIssuer,
    oauth_clients,
    revoke_refresh_tokens,
    secret_matches,
)

NO_CREDENTIALS = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def _app_id(caller: Caller | None) -> str:
    """A stable, token-free id for the caller (used in 429 group names)."""
    principal = caller.principal if caller else "sim"
    return str(int(hashlib.sha256(principal.encode()).hexdigest()[:8], 16))


@dataclass
class Refusal:
    status: int
    category: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class SimAuth:
    """Bearer tokens and per-caller limits. Not thread-safe: the simulator holds its lock."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.tokens = TokenIssuer(
            float(options.get("token_ttl", 1800)), options.get("tokens", ["demo-token"])
        )
        self.clients = oauth_clients(options)
        self.limit = int(options.get("rate_limit_requests", 100))
        self.seconds = float(options.get("rate_limit_seconds", 10))
        self.daily_limit = int(options.get("daily_limit", 250_000))
        self.send_retry_after = bool(options.get("send_retry_after", False))
        self.windows: dict[str, RollingWindow] = {}
        self.daily: dict[str, int] = {}
        self.counts = {"tokens_issued": 0, "auth_expired": 0, "auth_invalid": 0}

    def configure(self, options: Mapping[str, Any]) -> None:
        self.tokens.configure(options)
        if REVOKE in options:
            revoke_refresh_tokens(self.clients, options[REVOKE])
        if "rate_limit_requests" in options:
            self.limit = int(options["rate_limit_requests"])
        if "rate_limit_seconds" in options:
            self.seconds = float(options["rate_limit_seconds"])
        if "daily_limit" in options:
            self.daily_limit = int(options["daily_limit"])
        if "send_retry_after" in options:
            self.send_retry_after = bool(options["send_retry_after"])
        if "rate_limit_requests" in options or "rate_limit_seconds" in options:
            for window in self.windows.values():  # a new limit starts a new measurement
                window.limit, window.seconds, window.max_seen = self.limit, self.seconds, 0

    def reset_limits(self) -> None:
        self.windows.clear()
        self.daily.clear()
        self.counts = dict.fromkeys(self.counts, 0)

    # authentication ----------------------------------------------------------------------
    def authenticate(self, token: str | None) -> Caller | Refusal:
        """``token``: the Bearer token, None when the call sent no Bearer credential."""
        if not token:
            self.counts["auth_invalid"] += 1
            return Refusal(401, "INVALID_AUTHENTICATION", NO_CREDENTIALS)
        if token in self.tokens.fixed:
            return Caller("private-app:" + token, oauth=False)
        issued = self.tokens.find(token)
        if issued is None:
            self.counts["auth_invalid"] += 1
            return Refusal(
                401, "INVALID_AUTHENTICATION", "The OAuth token used to make this call is invalid."
            )
        overdue = issued.overdue()
        if overdue >= 0:
            self.counts["auth_expired"] += 1
            seconds = math.ceil(overdue)
            message = f"The OAuth token used to make this call expired {seconds} second(s) ago."
            return Refusal(401, "EXPIRED_AUTHENTICATION", message)
        return Caller("oauth:" + issued.client_id, oauth=True)

    def issue(self, form: Mapping[str, str]) -> dict[str, Any] | Refusal:
        """``POST /oauth/v1/token`` with ``grant_type=refresh_token``."""
        if form.get("grant_type") != "refresh_token":
            return Refusal(400, "BAD_GRANT_TYPE", "grant_type must be refresh_token")
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            return Refusal(400, "BAD_CLIENT_ID", "missing or invalid client_id")
        if not secret_matches(client, form.get("client_secret", "")):
            return Refusal(400, "BAD_CLIENT_SECRET", "missing or invalid client_secret")
        if form.get("refresh_token") != client.get("refresh_token"):
            return Refusal(400, "BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        token = "sim-" + secrets.token_urlsafe(24)
        expires_in = self.tokens.issue(token, form["client_id"])
        self.counts["tokens_issued"] += 1
        return {
            "token_type": "bearer",
            "refresh_token": client["refresh_token"],
            "access_token": token,
            "expires_in": expires_in,
        }

    # rate limits -------------------------------------------------------------------------
    def admit(self, caller: Caller) -> dict[str, str] | Refusal:
        """Count one request: its rate-limit headers, or the 429 to send instead."""
        window = self.windows.get(caller.principal)
        if window is None:
            window = self.windows[caller.principal] = RollingWindow(self.limit, self.seconds)
        used_today = self.daily.get(caller.principal, 0)
        if used_today >= self.daily_limit:
            return self.limited(daily=True, caller=caller)
        if not window.try_hit():
            return self.limited(daily=False, caller=caller, window=window)
        self.daily[caller.principal] = used_today + 1
        return self.headers(caller, window)

    def headers(self, caller: Caller | None, window: RollingWindow | None) -> dict[str, str]:
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.seconds * 1000)),
            "X-HubSpot-RateLimit-Max": str(self.limit),
            "X-HubSpot-RateLimit-Remaining": str(window.remaining() if window else 0),
        }
        if caller is not None and not caller.oauth:  # HubSpot omits the daily pair for OAuth
            used = self.daily.get(caller.principal, 0)
            headers["X-HubSpot-RateLimit-Daily"] = str(self.daily_limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(0, self.daily_limit - used))
        return headers

    def limited(
        self, daily: bool, caller: Caller | None = None, window: RollingWindow | None = None
    ) -> Refusal:
        policy = "DAILY" if daily else "TEN_SECONDLY_ROLLING"
        name = "daily" if daily else "ten_secondly_rolling"
        headers = self.headers(caller, window)
        if self.send_retry_after and window is not None:
            headers["Retry-After"] = str(max(1, math.ceil(window.reset_in())))
        kind = "api-calls-daily" if daily else "api-calls-ten-secondly"
        return Refusal(
            429,
            "RATE_LIMITS",
            f"You have reached your {name} limit.",
            extra={
                "errorType": "RATE_LIMIT",
                "policyName": policy,
                "groupName": f"publicapi:{kind}:{_app_id(caller)}",
            },
            headers=headers,
        )

    def max_in_window(self) -> int:
        return max((w.max_seen for w in self.windows.values()), default=0)
