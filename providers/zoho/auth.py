"""Zoho OAuth 2: access tokens from a refresh token, kept fresh and shared between threads.

Zoho's Accounts server lives on another host than the API (``accounts.zoho.com``, ``.eu``,
``.in``, …): ``options["data_center"]`` names it (``us``, ``eu``, …), or ``options["token_url"]``
gives its token URL. Each token answer names the API host of the account's data centre
(``api_domain``); API calls go there (``providers.hosts`` decides whether it may be trusted),
since a token is refused as ``INVALID_TOKEN`` at another data centre's API host.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import requests

from providers.answers import body_of
from providers.hosts import accepted_api_host
from providers.oauth import Issued, TokenCache, refresh_grant, resolve_option
from providers.zoho.defaults import API_DOMAINS, DATA_CENTERS, TOKEN_PATH, TOKEN_URL
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
        base_url: str = "",
    ) -> None:
        self._post = post
        self.token_url = token_url(options)
        self.base_url = base_url
        self.api_domain: str | None = None
        """The API host of the last token answer, once accepted (``providers.hosts``)."""
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
        body = body_of(response)
        issued = _issued(response, body)
        named = body.get("api_domain")
        if isinstance(named, str) and named:
            self.api_domain = accepted_api_host(
                named,
                provider="zoho",
                field="api_domain",
                domains=API_DOMAINS,
                configured=(self.base_url, self.token_url),
                token_url=self.token_url,
            )
        return issued


def token_url(options: Mapping[str, Any]) -> str:
    """``options.token_url``, else the token URL of ``options.data_center`` (default ``us``)."""
    explicit = options.get("token_url")
    centre = options.get("data_center")
    if explicit and centre:
        raise ConfigError("zoho: give options.data_center or options.token_url, not both")
    if explicit:
        return _url(explicit)
    if centre is None:
        return TOKEN_URL
    host = DATA_CENTERS.get(str(centre).lower())
    if host is None:
        known = ", ".join(DATA_CENTERS)
        raise ConfigError(f"zoho: options.data_center {str(centre)[:20]!r} unknown ({known})")
    return f"https://{host}{TOKEN_PATH}"


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
