"""Bearer tokens for Salesforce: a fixed session id, or OAuth 2 access tokens kept fresh.

Salesforce's token answer has no ``expires_in`` (the org's session timeout applies), so a token
is refreshed when the API answers 401 ``INVALID_SESSION_ID``, or ahead of time when the
connection states its session timeout (``options["session_timeout"]`` seconds).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import requests

from providers.salesforce.defaults import TOKEN_URL
from providers.salesforce.responses import body_of, raise_for_call, top_errors
from syncsvc.config import envref
from syncsvc.errors import ConfigError, PermanentError, RetryableError

REFRESH_MARGIN = 60.0

PostForm = Callable[[str, dict[str, str]], requests.Response]


def _grant(credentials: Mapping[str, Any]) -> dict[str, str] | None:
    """The token request form for these credentials, or None for a fixed access token."""
    has = {k for k, v in credentials.items() if v not in (None, "")}
    client: dict[str, str] = {
        k: str(credentials[k]) for k in ("client_id", "client_secret") if k in has
    }
    if len(client) == 2 and "refresh_token" in has:
        refresh = str(credentials["refresh_token"])
        return {"grant_type": "refresh_token", **client, "refresh_token": refresh}
    if len(client) == 2:
        return {"grant_type": "client_credentials", **client}
    if "access_token" in has:
        return None
    raise ConfigError(
        "salesforce: credentials need client_id + client_secret (+ refresh_token for the "
        "refresh-token flow, without it the client-credentials flow), or an access_token"
    )


class TokenSource:
    """Hands out the bearer token; with OAuth credentials, fetches and refreshes it."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
        post_form: PostForm,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post_form = post_form
        self._clock = clock
        self._lock = threading.Lock()
        self._form = _grant(credentials)
        self._token = "" if self._form else str(credentials["access_token"])
        self.token_url = _token_url(options)
        """Absolute, or a path on the connection's base URL (My Domain serves the endpoint too)."""
        timeout = options.get("session_timeout")
        self._lifetime = float(timeout) if timeout else None
        self._fetched_at = 0.0
        self.instance_url: str | None = None
        """``instance_url`` of the last token answer (the org's My Domain URL)."""

    @property
    def refreshable(self) -> bool:
        return self._form is not None

    def _stale(self) -> bool:
        if not self._token:
            return True
        if self._lifetime is None:
            return False
        margin = min(REFRESH_MARGIN, self._lifetime / 2)
        return self._clock() >= self._fetched_at + self._lifetime - margin

    def token(self) -> str:
        if self._form is not None and self._stale():
            return self.refresh(stale=self._token)
        return self._token

    def refresh(self, stale: str) -> str:
        """A new access token, unless another thread already replaced ``stale``."""
        with self._lock:
            if self._form is None:
                return self._token
            if self._token and self._token != stale and not self._stale():
                return self._token
            response = self._post_form(self.token_url, dict(self._form))
            body = _json(response)
            if response.status_code >= 300:
                _raise_for_token(response, body)
            if not body.get("access_token"):
                raise PermanentError(_describe(response, body), code="BAD_TOKEN_RESPONSE")
            self._token = str(body["access_token"])
            self._fetched_at = self._clock()
            instance = str(body.get("instance_url") or "")
            if urlparse(instance).scheme in ("http", "https"):
                self.instance_url = instance.rstrip("/")
            if body.get("refresh_token") and self._form.get("grant_type") == "refresh_token":
                self._form["refresh_token"] = str(body["refresh_token"])  # rotation
            return self._token


def _token_url(options: Mapping[str, Any]) -> str:
    """``options["token_url"]``. The config loader resolves ``${VAR:-default}`` in ``base_url``
    and credentials but not yet in options, so references left in it are resolved here."""
    url = str(options.get("token_url") or TOKEN_URL)
    if envref.has_reference(url):
        url = str(envref.resolve(url, os.environ, "options.token_url"))
    return url


def _raise_for_token(response: requests.Response, body: dict[str, Any]) -> None:
    """An OAuth error (``{"error", "error_description"}`` with 400/401) is permanent: the grant
    or client was refused. A REST error array (e.g. ``REQUEST_LIMIT_EXCEEDED``) means what it
    means for any call; 408, 429 and 5xx may pass; anything else is permanent."""
    status = response.status_code
    if body.get("error") and status in (400, 401):
        raise PermanentError(_describe(response, body), code=str(body["error"]))
    if top_errors(body_of(response)) or status == 429:
        raise_for_call(response)
    if status == 408 or status >= 500:
        raise RetryableError(_describe(response, body))
    raise PermanentError(_describe(response, body), code=f"HTTP_{status}")


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(response: requests.Response, body: dict[str, Any]) -> str:
    error = body.get("error") or response.reason
    detail = body.get("error_description") or response.text[:200]
    return f"salesforce: token endpoint HTTP {response.status_code} {error}: {detail}"
