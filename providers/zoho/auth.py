"""Zoho OAuth 2: access tokens from a refresh token, kept fresh and shared between threads.

Zoho's Accounts server lives on another host than the API (``accounts.zoho.com``, ``.eu``,
``.in``, …), so the token URL is its own setting: ``options["token_url"]``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import requests

from providers.zoho.defaults import TOKEN_URL
from providers.zoho.responses import body_of, describe
from syncsvc.config import envref
from syncsvc.errors import ConfigError, PermanentError, RateLimited, RetryableError

REFRESH_MARGIN = 60.0
"""Refresh this long before expiry; an ``INVALID_TOKEN`` 401 still triggers one refresh."""
DEFAULT_TTL = 3600.0
TOKEN_LIMIT_RETRY_AFTER = 60.0
"""Zoho allows about 10 access tokens per refresh token per 10 minutes, then says Access Denied."""

PostParams = Callable[[str, dict[str, str]], requests.Response]


class TokenSource:
    """Hands out the access token; with OAuth credentials, refreshes it ahead of expiry."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
        post: PostParams,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post = post
        self._clock = clock
        self._lock = threading.Lock()
        self._expires_at = 0.0
        self._margin = REFRESH_MARGIN
        self.token_url = _url(options.get("token_url") or TOKEN_URL)
        oauth_keys = ("refresh_token", "client_id", "client_secret")
        if all(credentials.get(k) for k in oauth_keys):
            self._oauth: dict[str, str] | None = {k: str(credentials[k]) for k in oauth_keys}
            self._token = ""
        elif credentials.get("access_token"):
            self._oauth = None
            self._token = str(credentials["access_token"])
        else:
            raise ConfigError(
                "zoho: credentials need refresh_token + client_id + client_secret "
                "(or a short-lived access_token)"
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
            params = {"grant_type": "refresh_token", **self._oauth}
            response = self._post(self.token_url, params)
            body = body_of(response)
            token, expires_in = _issued(response, body)
            self._token = token
            self._expires_at = self._clock() + expires_in
            self._margin = min(REFRESH_MARGIN, expires_in / 2)
            return self._token


def _issued(response: requests.Response, body: dict[str, Any]) -> tuple[str, float]:
    """The token and its lifetime from a token answer; raise for refusals.

    Zoho answers a bad client or refresh token with HTTP 200 and ``{"error": "invalid_code"}``,
    and too many token requests with 400 ``{"error": "Access Denied", ...}``.
    """
    status = response.status_code
    error = str(body.get("error") or "")
    if status == 429 or (error == "Access Denied" and "too many" in _text(body)):
        raise RateLimited(
            f"zoho: token endpoint: {body.get('error_description') or error or status}",
            retry_after=TOKEN_LIMIT_RETRY_AFTER,
        )
    if status >= 500:
        raise RetryableError(f"zoho: token endpoint: {describe(response, body)}")
    if error or status >= 400:
        code = error.upper().replace(" ", "_") or f"HTTP_{status}"
        detail = body.get("error_description") or error or response.text[:200]
        raise PermanentError(f"zoho: token refresh refused: {detail}", code=code)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise PermanentError("zoho: token answer has no access_token", code="BAD_TOKEN_RESPONSE")
    try:
        expires_in = float(body.get("expires_in") or DEFAULT_TTL)
    except (TypeError, ValueError):
        expires_in = DEFAULT_TTL
    return token, max(0.0, expires_in)


def _url(value: Any) -> str:
    """The token URL. ``${VAR:-default}`` references still in it are resolved here: the config
    loader resolves them in ``base_url`` and ``credentials`` but not (yet) in ``options``."""
    text = str(value)
    if envref.has_reference(text):
        text = str(envref.resolve(text, os.environ, "options.token_url"))
    if urlparse(text).scheme not in ("http", "https"):
        raise ConfigError(f"zoho: options.token_url must be an http(s) URL, got {text!r}")
    return text


def _text(body: dict[str, Any]) -> str:
    return str(body.get("error_description") or "").lower()
