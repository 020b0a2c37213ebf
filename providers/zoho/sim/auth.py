"""Who may call the simulated org, and how much: OAuth tokens, credits, concurrency, windows.

Not thread-safe: the simulator holds its lock around every method.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.simulation import RollingWindow
from providers.simulation.tokens import (
    REVOKE,
    TokenIssuer,
    oauth_clients,
    revoke_refresh_tokens,
    secret_matches,
)

SCOPE = "ZohoCRM.modules.ALL ZohoCRM.settings.fields.READ ZohoCRM.coql.READ"
COUNTS = (
    "tokens_issued", "auth_expired", "auth_invalid", "auth_wrong_host", "throttled_credits",
    "throttled_concurrency", "throttled_window", "max_concurrent",
)  # fmt: skip
CREDIT_WINDOW = 86_400.0
TOKEN_ISSUE_WINDOW = 600.0
THROTTLED = "too many requests. please try again after some time"
NO_CREDITS = "You have exhausted the API credits for the last 24 hours. Please try again later."
INVALID_TOKEN = "invalid oauth token"  # noqa: S105 - Zoho's message
TOO_MANY_TOKENS = "You have made too many requests continuously. Please try again after some time."


@dataclass
class Refusal:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    kind: str = "auth"


def zoho_error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "details": {}, "message": message, "status": "error"}


class SimAuth:
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.tokens = TokenIssuer(float(options.get("token_ttl", 3600)), options.get("tokens", []))
        self.separate_api_host = bool(options.get("separate_api_host", True))
        self.clients = oauth_clients(options)
        self.token_issue_limit = int(options.get("token_issue_limit", 0))
        self.limit = int(options.get("rate_limit_requests", 100))
        self.seconds = float(options.get("rate_limit_seconds", 10))
        self.credit_limit = int(options.get("api_credits", 5_000_000))
        self.concurrency = int(options.get("concurrency", 20))
        self.issue_times: dict[str, deque[float]] = {}
        self.window = RollingWindow(self.limit, self.seconds)
        self.credits: deque[tuple[float, int]] = deque()
        self.credits_used = 0
        self.in_flight = 0
        self.counts = dict.fromkeys(COUNTS, 0)

    def configure(self, options: Mapping[str, Any]) -> None:
        self.tokens.configure(options)
        if REVOKE in options:
            revoke_refresh_tokens(self.clients, options[REVOKE])
        if "separate_api_host" in options:
            self.separate_api_host = bool(options["separate_api_host"])
        for key, attr, kind in (
            ("token_issue_limit", "token_issue_limit", int),
            ("api_credits", "credit_limit", int),
            ("concurrency", "concurrency", int),
        ):
            if key in options:
                setattr(self, attr, kind(options[key]))
        if "rate_limit_requests" in options or "rate_limit_seconds" in options:
            self.limit = int(options.get("rate_limit_requests", self.limit))
            self.seconds = float(options.get("rate_limit_seconds", self.seconds))
            self.window = RollingWindow(self.limit, self.seconds)  # a new measurement

    def reset_limits(self) -> None:
        self.window = RollingWindow(self.limit, self.seconds)
        self.credits.clear()
        self.credits_used = 0
        self.issue_times.clear()
        self.counts = dict.fromkeys(self.counts, 0)

    # tokens ------------------------------------------------------------------------------
    def issue(self, params: Mapping[str, str], api_domain: str) -> tuple[int, dict[str, Any]]:
        """``POST /oauth/v2/token?grant_type=refresh_token&...``: Zoho answers refusals with
        HTTP 200 and an ``error`` member, and a burst of token requests with 400."""
        if params.get("grant_type") != "refresh_token":
            return 200, {"error": "unsupported_grant_type"}
        client = self.clients.get(params.get("client_id", ""))
        if client is None or not secret_matches(client, params.get("client_secret", "")):
            return 200, {"error": "invalid_client"}
        refresh_token = params.get("refresh_token", "")
        if refresh_token != client.get("refresh_token"):
            return 200, {"error": "invalid_code"}
        now = time.monotonic()
        times = self.issue_times.setdefault(refresh_token, deque())
        while times and times[0] <= now - TOKEN_ISSUE_WINDOW:
            times.popleft()
        if self.token_issue_limit and len(times) >= self.token_issue_limit:
            body = {
                "error_description": TOO_MANY_TOKENS,
                "error": "Access Denied",
                "status": "failure",
            }
            return 400, body
        times.append(now)
        token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        ttl = self.tokens.issue(token, params["client_id"])
        self.counts["tokens_issued"] += 1
        return 200, {
            "access_token": token,
            "scope": SCOPE,
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": ttl,
        }

    def authenticate(self, token: str | None, on_api_host: bool = True) -> Refusal | None:
        """``token``: the access token, None when the call sent no ``Zoho-oauthtoken``.

        ``on_api_host``: the call came to the host the token answers name as ``api_domain``. An
        issued token sent anywhere else is refused as Zoho refuses a token of another data
        centre: 401 ``INVALID_TOKEN`` (https://help.zoho.com/portal/en/kb/accounts/
        faqs-troubleshooting/faqs/oauth/articles/invalid-oauthtoken-on-api-access-30-5-2021).
        Fixed tokens (``tokens``) stand for tokens of this data centre and work on every host."""
        if not token:
            self.counts["auth_invalid"] += 1
            body = zoho_error("AUTHENTICATION_FAILURE", "Authentication failed")
            return Refusal(401, body)
        if token in self.tokens.fixed:
            return None
        issued = self.tokens.find(token)
        if issued is None or issued.overdue() >= 0:
            self.counts["auth_expired" if issued else "auth_invalid"] += 1
            return Refusal(401, zoho_error("INVALID_TOKEN", INVALID_TOKEN))
        if self.separate_api_host and not on_api_host:
            self.counts["auth_wrong_host"] += 1
            return Refusal(401, zoho_error("INVALID_TOKEN", INVALID_TOKEN))
        return None

    # limits ------------------------------------------------------------------------------
    def _trim_credits(self) -> None:
        horizon = time.monotonic() - CREDIT_WINDOW
        while self.credits and self.credits[0][0] <= horizon:
            self.credits_used -= self.credits.popleft()[1]

    def charge(self, credits: int) -> None:
        if credits > 0:
            self.credits.append((time.monotonic(), credits))
            self.credits_used += credits

    def headers(self) -> dict[str, str]:
        """``X-API-CREDITS-REMAINING`` once half the credits of the 24 hours are used."""
        if self.credit_limit and self.credits_used * 2 >= self.credit_limit:
            remaining = max(0, self.credit_limit - self.credits_used)
            return {"X-API-CREDITS-REMAINING": str(remaining)}
        return {}

    def throttled(self, kind: str) -> Refusal:
        self.counts[f"throttled_{kind}"] += 1
        message = NO_CREDITS if kind == "credits" else THROTTLED
        return Refusal(429, zoho_error("TOO_MANY_REQUESTS", message), self.headers(), kind)

    def admit(self) -> Refusal | None:
        """Count one API call (1 credit); the 429 to send instead when over a limit."""
        self._trim_credits()
        if self.credit_limit and self.credits_used >= self.credit_limit:
            return self.throttled("credits")
        if self.concurrency and self.in_flight >= self.concurrency:
            return self.throttled("concurrency")
        if not self.window.try_hit():
            return self.throttled("window")
        self.charge(1)
        self.in_flight += 1
        self.counts["max_concurrent"] = max(self.counts["max_concurrent"], self.in_flight)
        return None

    def done(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
