"""Access tokens kept fresh and shared between a client's threads.

A ``TokenCache`` holds one token. Given a fetch function it gets a new one before the current
one expires (and when the API refuses it), one request at a time however many threads ask;
without one the token is fixed (a private-app token, an API key). Each CRM's fetch function
sends its own token request, reads the answer, raises for refusals and says how long the token
lives.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from syncsvc.config import envref
from syncsvc.errors import CredentialsRefused

REFRESH_KEYS = ("refresh_token", "client_id", "client_secret")


@dataclass(frozen=True)
class Issued:
    """A token answer: the token, and the seconds it lives (None: until the API refuses it)."""

    token: str
    lifetime: float | None


Fetch = Callable[[], Issued]


REFERENCE_OPTIONS = ("token_url",)
"""The options in which a client resolves ``${VAR:-default}`` references. ``config apply``
resolves every option before storing it; these are resolved again in case a stored value still
carries one."""


def resolve_option(
    value: str, where: str = "options.token_url", env: Mapping[str, str] | None = None
) -> str:
    """``value`` with its ``${VAR:-default}`` references resolved from ``env``. A worker resolves
    its connections' options beforehand (``resolve_options``, with its settings' environment), so
    its clients find none left; a client built on its own (a test, a script) without ``env``
    resolves them from this process's environment."""
    if not envref.has_reference(value):
        return value
    return str(envref.resolve(value, os.environ if env is None else env, where))


def resolve_options(
    options: Mapping[str, Any], env: Mapping[str, str], where: str = "options"
) -> Mapping[str, Any]:
    """``options`` with the references in ``REFERENCE_OPTIONS`` resolved from ``env``, the
    caller's environment."""
    resolved = dict(options)
    for name in REFERENCE_OPTIONS:
        value = resolved.get(name)
        if isinstance(value, str) and envref.has_reference(value):
            resolved[name] = resolve_option(value, f"{where}.{name}", env)
    return resolved


def refresh_grant(credentials: Mapping[str, Any]) -> dict[str, str] | None:
    """``refresh_token`` + ``client_id`` + ``client_secret`` when all three are set, else None."""
    if all(credentials.get(k) for k in REFRESH_KEYS):
        return {k: str(credentials[k]) for k in REFRESH_KEYS}
    return None


class TokenCache:
    """One token, renewed ``min(max_margin, lifetime * margin_share)`` seconds before it ends."""

    def __init__(
        self,
        fetch: Fetch | None,
        token: str = "",
        clock: Callable[[], float] = time.monotonic,
        max_margin: float = 60.0,
        margin_share: float = 0.5,
    ) -> None:
        self._fetch = fetch
        self._token = token
        self._clock = clock
        self._lock = threading.Lock()
        self._expires_at = 0.0
        self._max_margin = max_margin
        self._margin_share = margin_share
        self._margin = max_margin

    @property
    def refreshable(self) -> bool:
        return self._fetch is not None

    def _fresh(self) -> bool:
        return bool(self._token) and self._clock() < self._expires_at - self._margin

    def token(self) -> str:
        if self._fetch is not None and not self._fresh():
            return self.refresh(stale=self._token)
        return self._token

    def refresh(self, stale: str) -> str:
        """A new token, unless another thread already replaced ``stale`` with a fresh one."""
        with self._lock:
            if self._fetch is None:
                return self._token
            if self._token != stale and self._fresh():
                return self._token
            asked_at = self._clock()  # the token's lifetime cannot have started before this
            issued = self._fetch()
            self._token = issued.token
            if issued.lifetime is None:
                self._expires_at = math.inf
            else:
                self._expires_at = asked_at + issued.lifetime
                self._margin = min(self._max_margin, issued.lifetime * self._margin_share)
            return self._token


def unauthorized(response: requests.Response) -> bool:
    """Any 401: for the CRMs whose 401 always means the token (expired, revoked or unknown)."""
    return response.status_code == 401


def call_with_refresh(
    tokens: TokenCache,
    send: Callable[[str], requests.Response],
    refused: Callable[[requests.Response], bool],
    describe: Callable[[requests.Response], str],
) -> requests.Response:
    """``send`` with the current token. When the API ``refused`` a token that can be renewed,
    renew it and send once more; refused again raises ``CredentialsRefused`` (the connection
    pauses: its records are not at fault)."""
    token = tokens.token()
    response = send(token)
    if tokens.refreshable and refused(response):
        response = send(tokens.refresh(stale=token))
        if refused(response):
            raise CredentialsRefused(describe(response), code=f"HTTP_{response.status_code}")
    return response


def raise_if_refused(
    response: requests.Response,
    describe: Callable[[requests.Response], str],
    statuses: tuple[int, ...] = (401, 403),
) -> None:
    """After ``call_with_refresh``: a whole call still answered 401/403 means the CRM refuses the
    connection's credentials (a fixed token it does not take, a token without the scope or
    permission): ``CredentialsRefused``, which pauses the connection instead of failing rows."""
    if response.status_code in statuses:
        raise CredentialsRefused(describe(response), code=f"HTTP_{response.status_code}")
