"""Pipedrive credentials: a personal API token, or OAuth 2 access tokens kept fresh.

OAuth tokens come from ``options["token_url"]`` (default ``https://oauth.pipedrive.com/oauth/
token``), with the client id and secret in HTTP Basic auth and ``grant_type=refresh_token``.
Access tokens live ``expires_in`` seconds (3600); they are refreshed a minute ahead, and once
more when the API answers 401 (Pipedrive says "Invalid token" for expired and revoked alike).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from providers.pipedrive.responses import body_of, describe, raise_for_call
from syncsvc.errors import ConfigError, PermanentError

REFRESH_MARGIN = 60.0
OAUTH_KEYS = ("refresh_token", "client_id", "client_secret")

PostToken = Callable[[dict[str, str], tuple[str, str]], requests.Response]
"""Sends the token request: form fields and the (client id, secret) Basic-auth pair."""


class TokenSource:
    """The headers that authenticate a request; thread-safe (the push worker runs threads)."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        post_token: PostToken,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post_token = post_token
        self._clock = clock
        self._lock = threading.Lock()
        self._expires_at = 0.0
        self._margin = REFRESH_MARGIN
        self._token = ""
        self._oauth: dict[str, str] | None = None
        self._api_token: str | None = None
        if all(credentials.get(k) for k in OAUTH_KEYS):
            self._oauth = {k: str(credentials[k]) for k in OAUTH_KEYS}
        elif credentials.get("api_token"):
            self._api_token = str(credentials["api_token"])
        else:
            raise ConfigError(
                "pipedrive: credentials need api_token, or refresh_token + client_id + "
                "client_secret"
            )

    @property
    def refreshable(self) -> bool:
        return self._oauth is not None

    def headers(self) -> tuple[dict[str, str], str]:
        """Auth headers for one request, and the token they carry (for ``refresh(stale=)``)."""
        if self._api_token is not None:
            return {"x-api-token": self._api_token}, self._api_token
        token = self._token
        if self._clock() >= self._expires_at - self._margin:
            token = self.refresh(stale=token)
        return {"Authorization": f"Bearer {token}"}, token

    def refresh(self, stale: str) -> str:
        """A new access token, unless another thread already replaced ``stale``."""
        with self._lock:
            if self._oauth is None:
                return self._api_token or ""
            if (
                self._token
                and self._token != stale
                and self._clock() < self._expires_at - self._margin
            ):
                return self._token
            form = {"grant_type": "refresh_token", "refresh_token": self._oauth["refresh_token"]}
            response = self._post_token(
                form, (self._oauth["client_id"], self._oauth["client_secret"])
            )
            body = body_of(response)
            if 400 <= response.status_code < 500 and response.status_code != 429:
                raise PermanentError(describe(response, body), code="OAUTH_REFRESH_REFUSED")
            raise_for_call(response)
            if not body.get("access_token"):
                raise PermanentError(describe(response, body), code="BAD_TOKEN_RESPONSE")
            expires_in = float(body.get("expires_in") or 3600)
            self._token = str(body["access_token"])
            self._expires_at = self._clock() + expires_in
            self._margin = min(REFRESH_MARGIN, expires_in / 2)
            if body.get("refresh_token"):
                self._oauth["refresh_token"] = str(body["refresh_token"])
            return self._token
