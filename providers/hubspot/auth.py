"""Bearer tokens for HubSpot: a private-app token, or OAuth access tokens kept fresh."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from providers.hubspot.responses import body_of, describe, raise_for_call
from syncsvc.errors import ConfigError, PermanentError

OAUTH_ENDPOINT = "/oauth/v1/token"
REFRESH_MARGIN = 60.0
"""Refresh this many seconds before expiry (HubSpot: a 401 is not the signal to refresh)."""

PostForm = Callable[[str, dict[str, str]], requests.Response]


class TokenSource:
    """Hands out the bearer token; with OAuth credentials, refreshes it ahead of expiry."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        post_form: PostForm,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post_form = post_form
        self._clock = clock
        self._lock = threading.Lock()
        self._expires_at = 0.0
        self._margin = REFRESH_MARGIN
        oauth_keys = ("refresh_token", "client_id", "client_secret")
        if all(credentials.get(k) for k in oauth_keys):
            self._oauth: dict[str, str] | None = {k: str(credentials[k]) for k in oauth_keys}
            self._token = ""
        elif credentials.get("access_token"):
            self._oauth = None
            self._token = str(credentials["access_token"])
        else:
            raise ConfigError(
                "hubspot: credentials need access_token, or refresh_token + client_id + "
                "client_secret"
            )

    @property
    def refreshable(self) -> bool:
        return self._oauth is not None

    def token(self) -> str:
        if self._oauth is not None and self._clock() >= self._expires_at - self._margin:
            return self.refresh(stale=self._token)
        return self._token

    def refresh(self, stale: str) -> str:
        """A new access token, unless another thread already replaced ``stale``."""
        with self._lock:
            if self._oauth is None:
                return self._token
            if self._token != stale and self._clock() < self._expires_at - self._margin:
                return self._token
            response = self._post_form(
                OAUTH_ENDPOINT, {"grant_type": "refresh_token", **self._oauth}
            )
            body = body_of(response)
            if 400 <= response.status_code < 500 and response.status_code != 429:
                raise PermanentError(
                    describe(response, body), code=str(body.get("status") or "BAD_TOKEN_REQUEST")
                )
            raise_for_call(response)
            if not body.get("access_token"):
                raise PermanentError(describe(response, body), code="BAD_TOKEN_RESPONSE")
            expires_in = float(body.get("expires_in") or 0)
            self._token = str(body["access_token"])
            self._expires_at = self._clock() + expires_in
            self._margin = min(REFRESH_MARGIN, expires_in / 2)
            if body.get("refresh_token"):
                self._oauth["refresh_token"] = str(body["refresh_token"])
            return self._token
