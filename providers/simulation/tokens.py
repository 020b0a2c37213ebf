"""The access tokens a simulated CRM hands out: its OAuth clients, fixed tokens, and when each
issued token expires. How a CRM shapes its tokens and its refusals stays in its ``sim/auth.py``.

Not thread-safe: the simulator holds its lock.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEMO_OAUTH_CLIENTS = {
    "demo-client": {"secret": "demo-secret", "refresh_token": "demo-refresh-token"}
}


def oauth_clients(
    options: Mapping[str, Any],
    key: str = "oauth_clients",
    default: Mapping[str, Mapping[str, str]] = DEMO_OAUTH_CLIENTS,
) -> dict[str, dict[str, str]]:
    """``{client_id: {"secret", "refresh_token" | "tenant_id", …}}`` from ``options[key]``."""
    clients = options.get(key, default)
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in clients.items()}


REVOKE = "revoke_refresh_tokens"
MAX_REFRESH_TOKEN = 500


def revoke_refresh_tokens(clients: dict[str, dict[str, str]], replacement: Any) -> None:
    """The ``revoke_refresh_tokens`` action: every client's refresh token stops working (the
    app was uninstalled, an admin revoked its access). A string ``replacement`` is the refresh
    token the user's new consent gives (what the connection is then configured with); ``true``
    gives none that anybody knows. Access tokens already issued live on until they expire
    (``expire_tokens`` ends them now)."""
    if replacement is True:
        replacement = "revoked-" + secrets.token_urlsafe(16)
    if not isinstance(replacement, str) or not 0 < len(replacement) <= MAX_REFRESH_TOKEN:
        raise ValueError(
            f"{REVOKE}: true, or the new refresh token (1 to {MAX_REFRESH_TOKEN} characters)"
        )
    for client in clients.values():
        if "refresh_token" in client:
            client["refresh_token"] = replacement


def secret_matches(client: Mapping[str, str], secret: str) -> bool:
    """``secret`` is the client's (compared in constant time)."""
    return secrets.compare_digest(client.get("secret", ""), secret)


@dataclass
class Caller:
    """An authenticated caller: whose limits a request counts against, and whether it came
    with an OAuth access token (or a fixed token)."""

    principal: str
    oauth: bool


@dataclass
class Grant:
    """One issued access token: whose it is and when it stops working (monotonic seconds)."""

    client_id: str
    expires_at: float
    tenant: str = ""
    issued_at: float = 0.0

    def overdue(self) -> float:
        """Seconds since the token expired (negative while it is valid)."""
        return time.monotonic() - self.expires_at


class TokenIssuer:
    """Issued tokens and their lifetime (``token_ttl``), plus fixed tokens that never expire
    (``tokens``). ``{"expire_tokens": true}`` through ``configure`` expires every issued one;
    ``{"expire_tokens": SECONDS}`` those issued at least that long ago (a CRM does not end a
    token it has just issued, so a client that renewed a moment ago keeps its new one)."""

    def __init__(self, ttl: float, fixed: Iterable[Any] = ()) -> None:
        self.ttl = ttl
        self.fixed = {str(t) for t in fixed}
        self.grants: dict[str, Grant] = {}

    def configure(self, options: Mapping[str, Any]) -> None:
        if "tokens" in options:
            self.fixed = {str(t) for t in options["tokens"]}
        if "token_ttl" in options:
            self.ttl = float(options["token_ttl"])
        expire = options.get("expire_tokens")
        if expire is not None and expire is not False:
            now = time.monotonic()
            min_age = 0.0 if expire is True else float(expire)
            for grant in self.grants.values():
                if now - grant.issued_at >= min_age:
                    grant.expires_at = min(grant.expires_at, now)

    def issue(self, token: str, client_id: str, tenant: str = "") -> float:
        """Record ``token`` as issued now; its lifetime as a token answer's ``expires_in``
        (a whole number of seconds when it is one)."""
        now = time.monotonic()
        self.grants[token] = Grant(client_id, now + self.ttl, tenant, issued_at=now)
        return int(self.ttl) if self.ttl.is_integer() else self.ttl

    def find(self, token: str) -> Grant | None:
        return self.grants.get(token)
