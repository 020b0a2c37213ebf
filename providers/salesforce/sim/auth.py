"""Who may call the simulated org, and how often: sessions, the OAuth token endpoint, limits.

Limits: the org's daily API allocation (``daily_limit``; ``Sforce-Limit-Info`` on every answer,
403 ``TotalRequests Limit exceeded.`` past it) and a short request window
(``rate_limit_requests`` per ``rate_limit_seconds``) standing in for Salesforce's concurrency
limit, refused with 403 ``ConcurrentPerOrgLongTxn Limit exceeded.``. Not thread-safe: the
simulator holds its lock.
"""

from __future__ import annotations

import secrets
import time
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

ORG_ID = "00D5g000004SIMXEAW"
USER_ID = "0055g00000SIMUSQAW"


@dataclass
class Refusal:
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code}]


@dataclass
class TokenError:
    """An OAuth error of the token endpoint: ``{"error", "error_description"}``."""

    status: int
    error: str
    description: str


class SimAuth:
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.tokens = TokenIssuer(
            float(options.get("token_ttl", 7200)), options.get("tokens", ["demo-token"])
        )
        self.clients = oauth_clients(options)
        self.limit = int(options.get("rate_limit_requests", 25))
        self.seconds = float(options.get("rate_limit_seconds", 1))
        self.daily_limit = int(options.get("daily_limit", 100_000))
        self.window = RollingWindow(self.limit, self.seconds)
        self.used = 0
        self.counts = dict.fromkeys(
            ("tokens_issued", "auth_expired", "auth_invalid", "login_host_refused"), 0
        )

    def configure(self, options: Mapping[str, Any]) -> None:
        self.tokens.configure(options)
        if REVOKE in options:
            revoke_refresh_tokens(self.clients, options[REVOKE])
        if "daily_limit" in options:
            self.daily_limit = int(options["daily_limit"])
        if "rate_limit_requests" in options or "rate_limit_seconds" in options:
            self.limit = int(options.get("rate_limit_requests", self.limit))
            self.seconds = float(options.get("rate_limit_seconds", self.seconds))
            self.window = RollingWindow(self.limit, self.seconds)  # a new measurement

    def reset_limits(self) -> None:
        self.window = RollingWindow(self.limit, self.seconds)
        self.used = 0
        self.counts = dict.fromkeys(self.counts, 0)

    # sessions ----------------------------------------------------------------------------
    def authenticate(self, token: str | None) -> Refusal | None:
        """``token``: the session id, None when the call sent no Bearer/OAuth credential."""
        if token is not None and token in self.tokens.fixed:
            return None
        issued = self.tokens.find(token) if token is not None else None
        if issued is not None and issued.overdue() < 0:
            return None
        self.counts["auth_expired" if issued is not None else "auth_invalid"] += 1
        refusal = Refusal(401, "INVALID_SESSION_ID", "Session expired or invalid")
        refusal.headers["WWW-Authenticate"] = 'Token realm="Salesforce"'
        return refusal

    def issue(
        self, form: Mapping[str, str], instance_url: str, at_login_host: bool = False
    ) -> dict[str, Any] | TokenError:
        """``POST /services/oauth2/token``: refresh_token and client_credentials grants; the
        latter only on the My Domain, not ``at_login_host``."""
        grant = form.get("grant_type")
        if grant not in ("refresh_token", "client_credentials"):
            return TokenError(400, "unsupported_grant_type", "grant type not supported")
        if grant == "client_credentials" and at_login_host:
            self.counts["login_host_refused"] += 1
            return TokenError(400, "invalid_grant", "request not supported on this domain")
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            return TokenError(400, "invalid_client_id", "client identifier invalid")
        if not secret_matches(client, form.get("client_secret", "")):
            return TokenError(400, "invalid_client", "invalid client credentials")
        if grant == "refresh_token" and form.get("refresh_token") != client.get("refresh_token"):
            return TokenError(400, "invalid_grant", "expired access/refresh token")
        token = f"{ORG_ID[:15]}!" + secrets.token_urlsafe(40)
        self.tokens.issue(token, form.get("client_id", ""))
        self.counts["tokens_issued"] += 1
        return {
            "access_token": token,
            "signature": secrets.token_urlsafe(32),
            "scope": "api refresh_token" if grant == "refresh_token" else "api",
            "instance_url": instance_url,
            "id": f"https://login.salesforce.com/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
        }

    # limits ------------------------------------------------------------------------------
    def limit_info(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.used}/{self.daily_limit}"}

    def admit(self) -> Refusal | None:
        """Count one API request, or refuse it (daily allocation first, then the window)."""
        if self.used >= self.daily_limit:
            return self.limited(daily=True)
        if not self.window.try_hit():
            return self.limited(daily=False)
        self.used += 1
        return None

    def limited(self, daily: bool) -> Refusal:
        which = "TotalRequests" if daily else "ConcurrentPerOrgLongTxn"
        refusal = Refusal(403, "REQUEST_LIMIT_EXCEEDED", f"{which} Limit exceeded.")
        refusal.headers.update(self.limit_info())
        return refusal
