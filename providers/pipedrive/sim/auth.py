"""Who may call the simulated account and how much: API tokens, OAuth, the 2-second burst
window per token, the search window and the daily token budget with per-endpoint costs."""

from __future__ import annotations

import base64
import binascii
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

DEFAULT_API_TOKENS = ("demo-api-token",)
SCOPE = "base,contacts:full,deals:full,search:read,admin"
UNAUTHORIZED = "unauthorized access"
INVALID_TOKEN = "Invalid token: access_token is invalid"  # noqa: S105 - a message
OVER_LIMIT = "Request over limit"
OVER_BUDGET = "Daily API token budget exceeded"
COUNTS = (
    "tokens_issued", "auth_invalid", "auth_expired", "auth_wrong_host", "search_throttled",
    "daily_refused",
)  # fmt: skip


@dataclass
class Refusal:
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    daily: bool = False


def _basic(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


class SimAuth:
    """Not thread-safe: the simulator holds its lock around every call."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.api_tokens = {str(t) for t in options.get("api_tokens", DEFAULT_API_TOKENS)}
        self.clients = oauth_clients(options)
        self.tokens = TokenIssuer(3600.0)
        self.limit, self.seconds = 80, 2.0
        self.search_limit, self.search_seconds = 10, 2.0
        self.daily_budget = 1_000_000
        self.send_retry_after = False
        self.company_domain_only = False
        self.send_daily_headers = True
        self.explain_daily_429 = True
        self.windows: dict[str, RollingWindow] = {}
        self.search_windows: dict[str, RollingWindow] = {}
        self.used_today = 0
        self.counts = dict.fromkeys(COUNTS, 0)
        self.configure(options)

    def configure(self, options: Mapping[str, Any]) -> None:
        if "api_tokens" in options:
            self.api_tokens = {str(t) for t in options["api_tokens"]}
        self.tokens.configure(options)
        if REVOKE in options:
            revoke_refresh_tokens(self.clients, options[REVOKE])
        self.limit = int(options.get("rate_limit_requests", self.limit))
        self.seconds = float(options.get("rate_limit_seconds", self.seconds))
        self.search_limit = int(options.get("search_rate_limit_requests", self.search_limit))
        self.search_seconds = float(options.get("search_rate_limit_seconds", self.search_seconds))
        self.daily_budget = int(options.get("daily_budget", self.daily_budget))
        self.send_retry_after = bool(options.get("send_retry_after", self.send_retry_after))
        self.company_domain_only = bool(
            options.get("company_domain_only", self.company_domain_only)
        )
        self.send_daily_headers = bool(options.get("send_daily_headers", self.send_daily_headers))
        self.explain_daily_429 = bool(options.get("explain_daily_429", self.explain_daily_429))
        if {"rate_limit_requests", "rate_limit_seconds"} & options.keys():
            for window in self.windows.values():  # a new limit starts a new measurement
                window.limit, window.seconds, window.max_seen = self.limit, self.seconds, 0
        if {"search_rate_limit_requests", "search_rate_limit_seconds"} & options.keys():
            for window in self.search_windows.values():
                window.limit, window.seconds = self.search_limit, self.search_seconds

    def reset_limits(self) -> None:
        self.windows.clear()
        self.search_windows.clear()
        self.used_today = 0
        self.counts = dict.fromkeys(self.counts, 0)

    # authentication ----------------------------------------------------------------------
    def authenticate(
        self, api_token: str | None, bearer: str | None, on_company_domain: bool = True
    ) -> Caller | Refusal:
        """``api_token`` from the ``x-api-token`` header (or the older ``api_token`` query
        parameter), else ``bearer``, an access token from ``/oauth/token`` (None when the call
        sent no Bearer credential). With ``company_domain_only`` an access token works only on
        the company domain its token answer named (``on_company_domain``)."""
        if api_token:
            if api_token in self.api_tokens:
                return Caller("api-token:" + api_token, oauth=False)
            self.counts["auth_invalid"] += 1
            return Refusal(401, UNAUTHORIZED)
        if bearer is None:
            self.counts["auth_invalid"] += 1
            return Refusal(401, UNAUTHORIZED)
        issued = self.tokens.find(bearer)
        if issued is None or issued.overdue() >= 0:
            self.counts["auth_expired" if issued else "auth_invalid"] += 1
            return Refusal(401, INVALID_TOKEN)
        if self.company_domain_only and not on_company_domain:
            self.counts["auth_wrong_host"] += 1
            return Refusal(401, UNAUTHORIZED)
        return Caller("oauth:" + issued.client_id, oauth=True)

    def issue(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any] | str:
        """``POST /oauth/token`` with ``grant_type=refresh_token``: the token body, or why not."""
        grant = form.get("grant_type")
        if not grant:
            return "Missing parameter: grant_type"
        if grant != "refresh_token":
            return "Unsupported grant type: grant_type is invalid"
        pair = _basic(authorization) or (form.get("client_id", ""), form.get("client_secret", ""))
        if not pair[0] or not pair[1]:
            return "Invalid client: cannot retrieve client credentials"
        client = self.clients.get(pair[0])
        if client is None or not secret_matches(client, pair[1]):
            return "Invalid client: client is invalid"
        if form.get("refresh_token") != client.get("refresh_token"):
            return "Invalid grant: refresh_token is invalid"
        token = f"{secrets.randbelow(10**8)}:{secrets.randbelow(10**8)}:" + secrets.token_hex(20)
        ttl = self.tokens.issue(token, pair[0])
        self.counts["tokens_issued"] += 1
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": client["refresh_token"],
            "scope": SCOPE,
        }

    # limits ------------------------------------------------------------------------------
    def _window(
        self, table: dict[str, RollingWindow], caller: Caller, search: bool
    ) -> RollingWindow:
        window = table.get(caller.principal)
        if window is None:
            limit, seconds = (
                (self.search_limit, self.search_seconds) if search else (self.limit, self.seconds)
            )
            window = table[caller.principal] = RollingWindow(limit, seconds)
        return window

    def admit(self, caller: Caller, cost: int, search: bool) -> dict[str, str] | Refusal:
        """Count one request: its rate-limit headers, or the 429 to answer instead."""
        window = self._window(self.windows, caller, False)
        shown = self._window(self.search_windows, caller, True) if search else window
        if self.used_today >= self.daily_budget:  # the last request may overdraw the budget
            self.counts["daily_refused"] += 1
            message = OVER_BUDGET if self.explain_daily_429 else OVER_LIMIT
            return Refusal(429, message, self.headers(shown), daily=True)
        if window.remaining() <= 0 or shown.remaining() <= 0:
            if search and shown.remaining() <= 0:
                self.counts["search_throttled"] += 1
            return self.limited(shown if shown.remaining() <= 0 else window)
        window.try_hit()
        if search:
            shown.try_hit()
        self.used_today += cost
        return self.headers(shown)

    def headers(self, window: RollingWindow | None) -> dict[str, str]:
        reset = math.ceil(window.reset_in()) if window is not None else 0
        headers = {
            "x-ratelimit-limit": str(window.limit if window else self.limit),
            "x-ratelimit-remaining": str(window.remaining() if window else 0),
            "x-ratelimit-reset": str(reset),
        }
        if self.send_daily_headers:
            headers["x-daily-ratelimit-token-limit"] = str(self.daily_budget)
            left = max(0, self.daily_budget - self.used_today)
            headers["x-daily-ratelimit-token-remaining"] = str(left)
        return headers

    def limited(self, window: RollingWindow | None = None) -> Refusal:
        headers = self.headers(window)
        headers["x-ratelimit-reset"] = str(max(1, int(headers["x-ratelimit-reset"])))
        if self.send_retry_after:
            headers["Retry-After"] = headers["x-ratelimit-reset"]
        return Refusal(429, OVER_LIMIT, headers)

    def max_in_window(self) -> int:
        return max((w.max_seen for w in self.windows.values()), default=0)
