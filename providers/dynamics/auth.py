"""Microsoft Entra ID client-credentials tokens for the Dataverse Web API, kept fresh.

``POST {token_url}`` with ``grant_type=client_credentials``, ``client_id``, ``client_secret`` and
``scope=https://{org host}/.default`` answers ``{"token_type": "Bearer", "expires_in": 3599,
"access_token": …}``. Client credentials carry no refresh token: a new token is minted ahead of
expiry, and once more when the API answers 401.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import requests

from providers.answers import body_of, seconds
from providers.dynamics.defaults import TOKEN_URL
from providers.dynamics.responses import classify
from providers.oauth import Issued, TokenCache, resolve_option
from syncsvc.errors import ConfigError, CredentialsRefused

REFRESH_MARGIN = 120.0
"""Mint a new token this many seconds before the old one expires."""

PostForm = Callable[[str, dict[str, str]], requests.Response]


def _http_url(value: str, what: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"dynamics: {what} must be an http(s) URL, got {value!r}")
    return value


def token_settings(
    base_url: str, credentials: Mapping[str, Any], options: Mapping[str, Any]
) -> tuple[str, str]:
    """``(token URL, scope)`` from the connection: options win over the defaults."""
    tenant = str(credentials.get("tenant_id") or "")
    token_url = resolve_option(str(options.get("token_url") or ""), "dynamics: options.token_url")
    if not token_url:
        if not tenant:
            raise ConfigError("dynamics: credentials need tenant_id (or options.token_url)")
        token_url = TOKEN_URL.format(tenant_id=tenant)
    parsed = urlparse(_http_url(base_url, "base_url"))
    scope = str(options.get("scope") or f"{parsed.scheme}://{parsed.netloc}/.default")
    return _http_url(token_url, "options.token_url"), scope


class TokenSource(TokenCache):
    """Hands out a bearer token; thread-safe; one token request at a time."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        token_url: str,
        scope: str,
        post_form: PostForm,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        missing = [k for k in ("client_id", "client_secret") if not credentials.get(k)]
        if missing:
            raise ConfigError(f"dynamics: credentials need {' and '.join(missing)}")
        self._form = {
            "grant_type": "client_credentials",
            "client_id": str(credentials["client_id"]),
            "client_secret": str(credentials["client_secret"]),
            "scope": scope,
        }
        self._token_url = token_url
        self._post_form = post_form
        super().__init__(self._request, clock=clock, max_margin=REFRESH_MARGIN, margin_share=0.25)

    def _request(self) -> Issued:
        response = self._post_form(self._token_url, self._form)
        body = body_of(response)
        if response.status_code >= 300:
            raise _token_error(response, body)
        token = body.get("access_token")
        expires_in = seconds(str(body.get("expires_in", "")))
        if not isinstance(token, str) or not token or expires_in is None:
            raise CredentialsRefused(
                "dynamics: the token endpoint answered without access_token/expires_in",
                code="BAD_TOKEN_RESPONSE",
            )
        return Issued(token, expires_in)


def _token_error(response: requests.Response, body: dict[str, Any]) -> Exception:
    """Entra answers ``{"error": "invalid_client", "error_description": "AADSTS7000215: …"}``."""
    code = str(body.get("error") or "")
    message = str(body.get("error_description") or response.text[:300]).split("\r\n")[0]
    status = response.status_code
    if status == 429 or status >= 500:
        return classify(status, code, message, response.headers.get("Retry-After"))
    return CredentialsRefused(
        f"dynamics: token endpoint HTTP {status} {code}: {message}", code=code or "TOKEN_REFUSED"
    )
