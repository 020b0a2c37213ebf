"""Bearer tokens for HubSpot: a private-app token, or OAuth access tokens kept fresh."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from providers.answers import body_of
from providers.hubspot.responses import describe, raise_for_call
from providers.oauth import Issued, TokenCache, refresh_grant
from syncsvc.errors import ConfigError, CredentialsRefused

OAUTH_ENDPOINT = "/oauth/v1/token"
DEFAULT_TTL = 1800.0
"""HubSpot access tokens live 30 minutes; used when an answer has no ``expires_in``."""
REFRESH_MARGIN = 60.0
"""Refresh this many seconds before expiry (HubSpot: a 401 is not the signal to refresh)."""

PostForm = Callable[[str, dict[str, str]], requests.Response]


class TokenSource(TokenCache):
    """Hands out the bearer token; with OAuth credentials, refreshes it ahead of expiry."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        post_form: PostForm,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post_form = post_form
        grant = refresh_grant(credentials)
        if grant is not None:
            super().__init__(lambda: self._request(grant), clock=clock, max_margin=REFRESH_MARGIN)
        elif credentials.get("access_token"):
            super().__init__(None, token=str(credentials["access_token"]), clock=clock)
        else:
            raise ConfigError(
                "hubspot: credentials need access_token, or refresh_token + client_id + "
                "client_secret"
            )

    def _request(self, grant: dict[str, str]) -> Issued:
        response = self._post_form(OAUTH_ENDPOINT, {"grant_type": "refresh_token", **grant})
        body = body_of(response)
        if 400 <= response.status_code < 500 and response.status_code != 429:
            code = str(body.get("status") or "BAD_TOKEN_REQUEST")[:100]
            message = body.get("message") or response.text[:300] or response.reason
            raise CredentialsRefused(
                f"hubspot: token refresh refused: HTTP {response.status_code} {code}: {message}",
                code=code,
            )
        raise_for_call(response)
        if not body.get("access_token"):
            raise CredentialsRefused(describe(response, body), code="BAD_TOKEN_RESPONSE")
        lifetime = float(body.get("expires_in") or DEFAULT_TTL)
        issued = Issued(str(body["access_token"]), lifetime)
        if body.get("refresh_token"):
            grant["refresh_token"] = str(body["refresh_token"])
        return issued
