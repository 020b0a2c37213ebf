"""Which host a token answer may send our API calls to.

Zoho (``api_domain``), Pipedrive (``api_domain``) and Salesforce (``instance_url``) name the
host of the account's API in their token answers. Whoever answers the token request could name
any host there, and every API call would then carry our access token and records to it. A named
host is used only when it is

1. ``https`` on one of the CRM's own domains (a name that is, or ends in ``.`` + one of the
   provider's ``domains``), on the default port, with no user info; or
2. the same origin (scheme, host, port) as a URL the connection's configuration names (its
   ``base_url``, its token URL): an operator chose it, e.g. a proxy or a simulator; or
3. a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``) while the token endpoint itself
   is one: a simulator or proxy on this machine handing out its own second host.

Anything else is refused (``CredentialsRefused``: the connection pauses with the host named, and
the token goes nowhere).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from syncsvc.errors import CredentialsRefused

MAX_URL_LENGTH = 2048


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL without user info; None otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def is_loopback(url: str) -> bool:
    origin = _origin(url)
    if origin is None:
        return False
    host = origin[1]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _on_domain(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def accepted_api_host(
    named: str,
    *,
    provider: str,
    field: str,
    domains: Iterable[str],
    configured: Iterable[str],
    token_url: str,
) -> str:
    """``named`` (from the token answer's ``field``) without a trailing slash, when the rule
    above allows it; else ``CredentialsRefused`` naming it."""
    shown = named[:200]
    origin = _origin(named) if len(named) <= MAX_URL_LENGTH else None
    if origin is not None and urlsplit(named.strip()).path.strip("/") == "":
        scheme, host, port = origin
        own = scheme == "https" and port == 443 and _on_domain(host, domains)
        chosen = any(origin == _origin(url) for url in configured if url)
        local = is_loopback(named) and is_loopback(token_url)
        if own or chosen or local:
            return named.strip().rstrip("/")
    raise CredentialsRefused(
        f"{provider}: the token answer's {field} {shown!r} is not a {provider} API host, nor "
        "one the connection configures: no API call is sent there",
        code="UNTRUSTED_API_HOST",
    )
