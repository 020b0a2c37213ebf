"""Zoho OAuth 2: access tokens from a refresh token, kept fresh and shared between threads.

Zoho's Accounts server lives on another host than the API (``accounts.zoho.com``, ``.eu``,
``.in``, …), so the token URL is its own setting: ``options["token_url"]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import requests

from providers.answers import body_of
from providers.oauth import Issued, TokenCache, refresh_grant, resolve_option
from providers.zoho.defaults import TOKEN_URL
from providers.zoho.responses import describe
from syncsvc.errors import ConfigError, CredentialsRefused, RateLimited, RetryableError

REFRESH_MARGIN = 60.0
"""Refresh this long before expiry; an ``INVALID_TOKEN`` 401 still triggers one refresh."""
DEFAULT_TTL = 3600.0
TOKEN_LIMIT_RETRY_AFTER = 60.0
"""Zoho allows about 10 access tokens per refresh token per 10 minutes, then says Access Denied."""

PostParams = Callable[[str, dict[str, str]], requests.Response]


class TokenSource(TokenCache):
    """Hands out the access token; with OAuth credentials, refreshes it ahead of expiry."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
        post: PostParams,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post = post
        self.token_url = _url(options.get("token_url") or TOKEN_URL)
        grant = refresh_grant(credentials)
        if grant is not None:
            super().__init__(lambda: self._request(grant), clock=clock, max_margin=REFRESH_MARGIN)
        elif credentials.get("access_token"):
            super().__init__(None, token=str(credentials["access_token"]), clock=clock)
        else:
            raise ConfigError(
                "zoho: credentials need refresh_token + client_id + client_secret "
                "(or a short-lived access_token)"
            )

    def _request(self, grant: dict[str, str]) -> Issued:
        response = self._post(self.token_url, {"grant_type": "refresh_token", **grant})
        return _issued(response, body_of(response))


def _issued(response: requests.Response, body: dict[str, Any]) -> Issued:
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
        raise CredentialsRefused(f"zoho: token refresh refused: {detail}", code=code)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise CredentialsRefused(
            "zoho: token answer has no access_token", code="BAD_TOKEN_RESPONSE"
        )
    try:
        expires_in = float(body.get("expires_in") or DEFAULT_TTL)
    except (TypeError, ValueError):
        expires_in = DEFAULT_TTL
    return Issued(token, max(0.0, expires_in))


def _url(value: Any) -> str:
    text = resolve_option(str(value))
    if urlparse(text).scheme not in ("http", "https"):
        raise ConfigError(f"zoho: options.token_url must be an http(s) URL, got {text!r}")
    return text


def _text(body: dict[str, Any]) -> str:
    return str(body.get("error_description") or "").lower()
