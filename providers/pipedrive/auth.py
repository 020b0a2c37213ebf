"""Pipedrive credentials: a personal API token, or OAuth 2 access tokens kept fresh.

OAuth tokens come from ``options["token_url"]`` (default ``https://oauth.pipedrive.com/oauth/
token``), with the client id and secret in HTTP Basic auth and ``grant_type=refresh_token``.
Access tokens live ``expires_in`` seconds (3600); they are refreshed a minute ahead, and once
more when the API answers 401 (Pipedrive says "Invalid token" for expired and revoked alike).
Each token answer names the company domain the app is to call (``api_domain``); OAuth calls go
there once ``providers.hosts`` accepts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from providers.answers import body_of
from providers.hosts import accepted_api_host
from providers.oauth import Issued, TokenCache, refresh_grant
from providers.pipedrive.defaults import API_DOMAINS
from providers.pipedrive.responses import describe, raise_for_call
from syncsvc.errors import ConfigError, CredentialsRefused

REFRESH_MARGIN = 60.0

PostToken = Callable[[dict[str, str], tuple[str, str]], requests.Response]
"""Sends the token request: form fields and the (client id, secret) Basic-auth pair."""


class TokenSource(TokenCache):
    """An OAuth access token kept fresh, or a personal API token; thread-safe (the push worker
    runs threads)."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        post_token: PostToken,
        clock: Callable[[], float] = time.monotonic,
        configured: tuple[str, str] = ("", ""),
    ) -> None:
        """``configured``: the connection's base URL and token URL."""
        self._post_token = post_token
        self._configured = configured
        self.api_domain: str | None = None
        """The company domain of the last token answer, once accepted (``providers.hosts``)."""
        self._api_token: str | None = None
        grant = refresh_grant(credentials)
        if grant is not None:
            super().__init__(lambda: self._request(grant), clock=clock, max_margin=REFRESH_MARGIN)
        elif credentials.get("api_token"):
            self._api_token = str(credentials["api_token"])
            super().__init__(None, token=self._api_token, clock=clock)
        else:
            raise ConfigError(
                "pipedrive: credentials need api_token, or refresh_token + client_id + "
                "client_secret"
            )

    def headers(self, token: str) -> dict[str, str]:
        """The headers that carry ``token`` (from ``token()`` or ``refresh()``)."""
        if self._api_token is not None:
            return {"x-api-token": self._api_token}
        return {"Authorization": f"Bearer {token}"}

    def _request(self, grant: dict[str, str]) -> Issued:
        form = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
        response = self._post_token(form, (grant["client_id"], grant["client_secret"]))
        body = body_of(response)
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise CredentialsRefused(describe(response, body), code="OAUTH_REFRESH_REFUSED")
        raise_for_call(response)
        if not body.get("access_token"):
            raise CredentialsRefused(describe(response, body), code="BAD_TOKEN_RESPONSE")
        issued = Issued(str(body["access_token"]), float(body.get("expires_in") or 3600))
        named = body.get("api_domain")
        if isinstance(named, str) and named:
            self.api_domain = accepted_api_host(
                named,
                provider="pipedrive",
                field="api_domain",
                domains=API_DOMAINS,
                configured=self._configured,
                token_url=self._configured[1],
            )
        if body.get("refresh_token"):
            grant["refresh_token"] = str(body["refresh_token"])
        return issued
