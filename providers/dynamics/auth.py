"""Microsoft Entra ID client-credentials tokens for the Dataverse Web API, kept fresh.

``POST {token_url}`` with ``grant_type=client_credentials``, ``client_id``, ``client_secret`` and
``scope=https://{org host}/.default`` answers ``{"token_type": "Bearer", "expires_in": 3599,
"access_token": …}``. Client credentials carry no refresh token: a new token is minted ahead of
expiry, and once more when the API answers 401.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import requests

from providers.dynamics.defaults import TOKEN_URL
from providers.dynamics.responses import classify, seconds
from syncsvc.config import envref
from syncsvc.errors import ConfigError, PermanentError

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
    """``(token URL, scope)`` from the connection: options win over the defaults.

    The config loader resolves ``${VAR:-default}`` in base_url and credentials but not in
    options, so a reference left in ``token_url`` is resolved here from the environment.
    """
    tenant = str(credentials.get("tenant_id") or "")
    token_url = str(options.get("token_url") or "")
    if envref.has_reference(token_url):
        token_url = str(envref.resolve(token_url, os.environ, "dynamics: options.token_url"))
    if not token_url:
        if not tenant:
            raise ConfigError("dynamics: credentials need tenant_id (or options.token_url)")
        token_url = TOKEN_URL.format(tenant_id=tenant)
    parsed = urlparse(_http_url(base_url, "base_url"))
    scope = str(options.get("scope") or f"{parsed.scheme}://{parsed.netloc}/.default")
    return _http_url(token_url, "options.token_url"), scope


class TokenSource:
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
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0
        self._margin = REFRESH_MARGIN

    def token(self) -> str:
        with self._lock:
            if self._token and self._clock() < self._expires_at - self._margin:
                return self._token
        return self.refresh(stale=self._token)

    def refresh(self, stale: str) -> str:
        """A new token, unless another thread already replaced ``stale`` with a fresh one."""
        with self._lock:
            fresh = self._clock() < self._expires_at - self._margin
            if self._token and self._token != stale and fresh:
                return self._token
            response = self._post_form(self._token_url, self._form)
            body = _json(response)
            if response.status_code >= 300:
                raise _token_error(response, body)
            token = body.get("access_token")
            expires_in = seconds(str(body.get("expires_in", "")))
            if not isinstance(token, str) or not token or expires_in is None:
                raise PermanentError(
                    "dynamics: the token endpoint answered without access_token/expires_in",
                    code="BAD_TOKEN_RESPONSE",
                )
            self._token = token
            self._expires_at = self._clock() + expires_in
            self._margin = min(REFRESH_MARGIN, expires_in / 4)
            return token


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _token_error(response: requests.Response, body: dict[str, Any]) -> Exception:
    """Entra answers ``{"error": "invalid_client", "error_description": "AADSTS7000215: …"}``."""
    code = str(body.get("error") or "")
    message = str(body.get("error_description") or response.text[:300]).split("\r\n")[0]
    status = response.status_code
    if status == 429 or status >= 500:
        return classify(status, code, message, response.headers.get("Retry-After"))
    return PermanentError(
        f"dynamics: token endpoint HTTP {status} {code}: {message}", code=code or "TOKEN_REFUSED"
    )
