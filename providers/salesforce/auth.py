"""Bearer tokens for Salesforce: a fixed session id, or OAuth 2 access tokens kept fresh.

Salesforce's token answer has no ``expires_in`` (the org's session timeout applies), so a token
is refreshed when the API answers 401 ``INVALID_SESSION_ID``, or ahead of time when the
connection states its session timeout (``options["session_timeout"]`` seconds).

Where the token comes from (``token_url``): ``options.token_url`` when given; else the org's My
Domain (``options.my_domain``); else, for the client-credentials flow, the connection's base
URL when it is not login.salesforce.com / test.salesforce.com; else, for the refresh-token flow,
login.salesforce.com. Salesforce refuses the client-credentials flow on the login hosts
(https://help.salesforce.com/s/articleView?id=000886201), so such a connection without a My
Domain is a configuration error. The token answer's ``instance_url`` is the org's host; it is
used when ``providers.hosts`` accepts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import requests

from providers import answers
from providers.hosts import accepted_api_host
from providers.oauth import Issued, TokenCache, resolve_option
from providers.salesforce.defaults import INSTANCE_DOMAINS, LOGIN_HOSTS, TOKEN_PATH, TOKEN_URL
from providers.salesforce.responses import body_of, raise_for_call, top_errors
from syncsvc.errors import ConfigError, CredentialsRefused, RetryableError

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


class TokenSource(TokenCache):
    """Hands out the bearer token; with OAuth credentials, fetches and refreshes it."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
        post_form: PostForm,
        clock: Callable[[], float] = time.monotonic,
        base_url: str = "",
    ) -> None:
        self._post_form = post_form
        form = _grant(credentials)
        if form is None:
            super().__init__(None, token=str(credentials["access_token"]), clock=clock)
        else:
            super().__init__(lambda: self._request(form), clock=clock, max_margin=REFRESH_MARGIN)
        grant_type = form["grant_type"] if form else "access_token"
        self.token_url = token_url(grant_type, base_url, options)
        """Absolute, or a path on the connection's base URL (My Domain serves the endpoint too)."""
        self._configured = (base_url, self.token_url, my_domain_url(options) or "")
        timeout = options.get("session_timeout")
        self._lifetime = float(timeout) if timeout else None
        self.instance_url: str | None = None
        """``instance_url`` of the last token answer (the org's My Domain URL)."""

    def _request(self, form: dict[str, str]) -> Issued:
        response = self._post_form(self.token_url, dict(form))
        body = answers.body_of(response)
        if response.status_code >= 300:
            _raise_for_token(response, body)
        if not body.get("access_token"):
            raise CredentialsRefused(_describe(response, body), code="BAD_TOKEN_RESPONSE")
        instance = str(body.get("instance_url") or "")
        if instance:
            absolute = self.token_url
            if absolute.startswith("/"):  # a path on the base URL
                absolute = self._configured[0].rstrip("/") + absolute
            self.instance_url = accepted_api_host(
                instance,
                provider="salesforce",
                field="instance_url",
                domains=INSTANCE_DOMAINS,
                configured=self._configured,
                token_url=absolute,
            )
        if body.get("refresh_token") and form.get("grant_type") == "refresh_token":
            form["refresh_token"] = str(body["refresh_token"])  # rotation
        return Issued(str(body["access_token"]), self._lifetime)


def grant_type_of(credentials: Mapping[str, Any]) -> str:
    """``refresh_token``, ``client_credentials`` or ``access_token`` (a fixed session id)."""
    form = _grant(credentials)
    return form["grant_type"] if form else "access_token"


def my_domain_url(options: Mapping[str, Any]) -> str | None:
    """``options.my_domain`` as an origin URL (``acme.my.salesforce.com`` or its https URL)."""
    raw = options.get("my_domain")
    if raw in (None, ""):
        return None
    text = resolve_option(str(raw), "options.my_domain").strip().rstrip("/")
    url = text if "://" in text else "https://" + text
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path:
        raise ConfigError(
            "salesforce: options.my_domain must be the org's My Domain host or URL, e.g. "
            f"https://MyDomainName.my.salesforce.com, got {text[:100]!r}"
        )
    if parsed.hostname.lower() in LOGIN_HOSTS:
        raise ConfigError(f"salesforce: options.my_domain cannot be {parsed.hostname}: {NEEDS}")
    return url


NEEDS = (
    "the client-credentials flow needs the org's My Domain URL (options.my_domain: "
    "https://MyDomainName.my.salesforce.com, or a sandbox's "
    "https://MyDomainName--SandboxName.sandbox.my.salesforce.com); Salesforce refuses it on "
    "login.salesforce.com and test.salesforce.com"
)


def token_url(grant_type: str, base_url: str, options: Mapping[str, Any]) -> str:
    """The token endpoint for ``grant_type`` (see the module's docstring); ``ConfigError``
    when the client-credentials flow would go to a login host."""
    explicit = options.get("token_url")
    domain = my_domain_url(options)
    if explicit:
        url = resolve_option(str(explicit))
    elif domain is not None:
        url = domain + TOKEN_PATH
    elif grant_type == "client_credentials" and not _on_login_host(base_url):
        url = base_url.rstrip("/") + TOKEN_PATH
    elif grant_type == "client_credentials":
        raise ConfigError(f"salesforce: {NEEDS}")
    else:
        url = TOKEN_URL
    absolute = base_url.rstrip("/") + url if url.startswith("/") else url
    if grant_type == "client_credentials" and _on_login_host(absolute):
        raise ConfigError(f"salesforce: options.token_url {url[:100]!r}: {NEEDS}")
    return url


def _on_login_host(url: str) -> bool:
    return (urlparse(url).hostname or "").lower() in LOGIN_HOSTS


def _raise_for_token(response: requests.Response, body: dict[str, Any]) -> None:
    """An OAuth error (``{"error", "error_description"}`` with 400/401): the grant or client was
    refused. A REST error array (e.g. ``REQUEST_LIMIT_EXCEEDED``) means what it means for any
    call; 408, 429 and 5xx may pass; anything else (a wrong host or path) is refused too."""
    status = response.status_code
    if body.get("error") and status in (400, 401):
        raise CredentialsRefused(_describe(response, body), code=str(body["error"]))
    if top_errors(body_of(response)) or status == 429:
        raise_for_call(response)
    if status == 408 or status >= 500:
        raise RetryableError(_describe(response, body))
    raise CredentialsRefused(_describe(response, body), code=f"HTTP_{status}")


def _describe(response: requests.Response, body: dict[str, Any]) -> str:
    error = body.get("error") or response.reason
    detail = body.get("error_description") or response.text[:200]
    return f"salesforce: token endpoint HTTP {response.status_code} {error}: {detail}"
